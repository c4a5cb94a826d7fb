"""The emulated tenant: users, groups, service principals, sites, and the operations on them.

Objects are kept as Graph-shaped dicts (camelCase properties, as Graph returns them);
fields only the emulator needs start with an underscore and never leave it. A deleted
user or group keeps its place with `deletedDateTime` set (Entra's soft delete) until it is
restored. Every operation raises `GraphError` with Graph's status, code and message.

The whole state is a JSON-able dict (`to_dict` / `from_dict`), which is what the state file
holds and what `GET /_emulator/state` shows.
"""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from .errors import GraphError, bad_request, not_found
from .seed import TenantSeed

USER_DEFAULT_PROPERTIES = (
    "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
    "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id",
)  # fmt: skip
USER_FILTER_PROPERTIES = (
    "id", "mail", "userPrincipalName", "displayName", "userType", "accountEnabled",
    "otherMails", "givenName", "surname", "creationType", "externalUserState",
)  # fmt: skip
USER_WRITABLE_PROPERTIES = {
    "accountEnabled", "displayName", "givenName", "surname", "jobTitle", "mail", "otherMails",
    "mobilePhone", "officeLocation", "preferredLanguage", "businessPhones", "userType",
}  # fmt: skip

DEFAULT_ACCESS_ROLE = "00000000-0000-0000-0000-000000000000"
INVITATION_SENDER = "invites@microsoft.com"
_EMAIL = re.compile(r"^[A-Za-z0-9_'][A-Za-z0-9._'-]*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fold(value: str | None) -> str:
    return (value or "").casefold()


def action_parameter(body: dict, name: str, default: Any = None) -> Any:
    """An action parameter; Graph matches their names case-insensitively (msgraph-sdk sends
    sendMail's as "Message" and "SaveToSentItems")."""
    for key, value in body.items():
        if key.casefold() == name.casefold():
            return value
    return default


def _assignment_id() -> str:
    """App role assignment ids are base64url strings in Graph, not GUIDs."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


class Directory:
    """The in-memory directory of one tenant."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.tenant: dict = state["tenant"]
        self.users: dict[str, dict] = {u["id"]: u for u in state.get("users", [])}
        self.groups: dict[str, dict] = {g["id"]: g for g in state.get("groups", [])}
        self.service_principals: dict[str, dict] = {
            s["id"]: s for s in state.get("servicePrincipals", [])
        }
        self.assignments: dict[str, dict] = {
            a["id"]: a for a in state.get("appRoleAssignments", [])
        }
        self.sites: dict[str, dict] = {s["id"]: s for s in state.get("sites", [])}
        self.other_tenants: list[dict] = list(state.get("otherTenants", []))
        self.outbox: list[dict] = list(state.get("outbox", []))
        policy = state.get("b2bPolicy") or {}
        self.b2b_policy: dict[str, list[str]] = {
            "blockedDomains": list(policy.get("blockedDomains", [])),
            "allowedDomains": list(policy.get("allowedDomains", [])),
        }
        self.version = 0  # bumped by every change, so the owner knows when to save

    # ----------------------------------------------------------------- building and dumping
    @classmethod
    def from_seed(cls, seed: TenantSeed) -> Directory:
        created = now_iso()
        tenant = seed.tenant.model_dump()
        users: list[dict] = []
        for su in seed.users:
            guest = su.userType == "Guest"
            users.append(
                {
                    "id": su.id,
                    "displayName": su.displayName,
                    "userPrincipalName": su.userPrincipalName,
                    "mail": su.mail,
                    "otherMails": list(su.otherMails),
                    "userType": su.userType,
                    "accountEnabled": su.accountEnabled,
                    "givenName": None,
                    "surname": None,
                    "jobTitle": None,
                    "businessPhones": [],
                    "mobilePhone": None,
                    "officeLocation": None,
                    "preferredLanguage": None,
                    "createdDateTime": created,
                    "creationType": "Invitation" if guest else None,
                    "externalUserState": "Accepted" if guest else None,
                    "deletedDateTime": None,
                    "signInActivity": (
                        {"lastSignInDateTime": _iso(su.lastSignInDateTime)}
                        if su.lastSignInDateTime
                        else None
                    ),
                    "_managerRef": su.manager,
                }
            )

        def resolve(ref: str, where: str) -> str:
            for u in users:
                if ref == u["id"] or _fold(ref) in (
                    _fold(u["userPrincipalName"]),
                    _fold(u["mail"]),
                ):
                    return u["id"]
            raise ValueError(f"tenant seed: {where} refers to unknown user '{ref}'")

        for u in users:
            ref = u.pop("_managerRef")
            u["_managerId"] = resolve(ref, f"manager of {u['userPrincipalName']}") if ref else None

        groups = []
        domain = tenant["verifiedDomains"][0]
        for sg in seed.groups:
            unified = "Unified" in sg.groupTypes
            nick = re.sub(r"[^A-Za-z0-9]", "", sg.displayName) or sg.id
            groups.append(
                {
                    "id": sg.id,
                    "displayName": sg.displayName,
                    "description": None,
                    "groupTypes": list(sg.groupTypes),
                    "mailEnabled": unified,
                    "securityEnabled": not unified,
                    "mailNickname": nick,
                    "mail": f"{nick}@{domain}" if unified else None,
                    "visibility": "Private" if unified else None,
                    "createdDateTime": created,
                    "deletedDateTime": None,
                    "_members": [resolve(r, f"group {sg.displayName}") for r in sg.members],
                    "_owners": [resolve(r, f"group {sg.displayName}") for r in sg.owners],
                }
            )
        sps = [
            {
                "id": sp.id,
                "appId": sp.appId,
                "displayName": sp.displayName,
                "servicePrincipalType": "Application",
                "accountEnabled": True,
                "appRoles": [
                    {
                        "id": r.id,
                        "value": r.value,
                        "displayName": r.displayName,
                        "description": r.displayName,
                        "allowedMemberTypes": ["User"],
                        "isEnabled": True,
                        "origin": "Application",
                    }
                    for r in sp.appRoles
                ],
                "deletedDateTime": None,
            }
            for sp in seed.servicePrincipals
        ]
        group_ids = {g["id"] for g in groups}
        sites = []
        for s in seed.sites:
            if s.groupId not in group_ids:
                raise ValueError(f"tenant seed: site {s.displayName} names unknown group")
            sites.append(
                {
                    "id": s.id,
                    "displayName": s.displayName,
                    "name": s.webUrl.rstrip("/").rsplit("/", 1)[-1],
                    "webUrl": s.webUrl,
                    "createdDateTime": created,
                    "_groupId": s.groupId,
                }
            )
        return cls(
            {
                "tenant": tenant,
                "users": users,
                "groups": groups,
                "servicePrincipals": sps,
                "sites": sites,
                "otherTenants": [t.model_dump() for t in seed.otherTenants],
            }
        )

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Directory:
        return cls(state)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "users": list(self.users.values()),
            "groups": list(self.groups.values()),
            "servicePrincipals": list(self.service_principals.values()),
            "appRoleAssignments": list(self.assignments.values()),
            "sites": list(self.sites.values()),
            "otherTenants": self.other_tenants,
            "outbox": self.outbox,
            "b2bPolicy": self.b2b_policy,
        }

    def changed(self) -> None:
        self.version += 1

    # ------------------------------------------------------------------------------- users
    def find_user(self, ref: str) -> dict | None:
        """An active user by object id or userPrincipalName (as Graph's /users/{id|upn})."""
        user = self.users.get(ref)
        if user is None:
            folded = _fold(ref)
            user = next(
                (u for u in self.users.values() if _fold(u["userPrincipalName"]) == folded), None
            )
        if user is None or user["deletedDateTime"]:
            return None
        return user

    def user(self, ref: str) -> dict:
        user = self.find_user(ref)
        if user is None:
            raise not_found(ref)
        return user

    def active_users(self) -> list[dict]:
        return [u for u in self.users.values() if not u["deletedDateTime"]]

    def user_by_address(self, address: str) -> dict | None:
        """The active user whose mail, otherMails or UPN is this address."""
        folded = _fold(address)
        for u in self.active_users():
            addresses = [u["mail"], u["userPrincipalName"], *u["otherMails"]]
            if folded in (_fold(a) for a in addresses):
                return u
        return None

    def update_user(self, ref: str, changes: dict) -> None:
        user = self.user(ref)
        for key, value in changes.items():
            if key.startswith("@odata"):
                continue
            if key not in USER_WRITABLE_PROPERTIES:
                raise bad_request(
                    f"Property '{key}' does not exist as a declared property or extension "
                    "property.",
                    code="BadRequest",
                )
            if key == "accountEnabled" and not isinstance(value, bool):
                raise bad_request("Invalid value specified for property 'accountEnabled'.")
            user[key] = value
        self.changed()

    def manager_of(self, ref: str) -> dict:
        user = self.user(ref)
        manager = self.users.get(user["_managerId"] or "")
        if manager is None or manager["deletedDateTime"]:
            raise not_found("manager")
        return manager

    def member_groups(self, user_id: str) -> list[dict]:
        return [g for g in self.active_groups() if user_id in g["_members"]]

    # ------------------------------------------------------------------------------ groups
    def active_groups(self) -> list[dict]:
        return [g for g in self.groups.values() if not g["deletedDateTime"]]

    def group(self, group_id: str) -> dict:
        group = self.groups.get(group_id)
        if group is None or group["deletedDateTime"]:
            raise not_found(group_id)
        return group

    def group_refs(self, group_id: str, prop: str) -> list[dict]:
        """Active members or owners of a group (prop is 'members' or 'owners')."""
        group = self.group(group_id)
        found = (self.users.get(uid) for uid in group[f"_{prop}"])
        return [u for u in found if u is not None and not u["deletedDateTime"]]

    def add_ref(self, group_id: str, prop: str, object_id: str) -> None:
        group = self.group(group_id)
        user = self.users.get(object_id)
        if user is None or user["deletedDateTime"]:
            raise not_found(object_id)
        refs: list[str] = group[f"_{prop}"]
        if object_id in refs:
            raise bad_request(
                "One or more added object references already exist for the following "
                f"modified properties: '{prop}'."
            )
        refs.append(object_id)
        self.changed()

    def remove_ref(self, group_id: str, prop: str, object_id: str) -> None:
        """Not a member (or owner) answers 404 Request_ResourceNotFound naming the object."""
        group = self.group(group_id)
        refs: list[str] = group[f"_{prop}"]
        user = self.users.get(object_id)
        if object_id not in refs or user is None or user["deletedDateTime"]:
            raise not_found(object_id)
        refs.remove(object_id)
        self.changed()

    def check_member_groups(self, user_ref: str, group_ids: list[str]) -> list[str]:
        user = self.user(user_ref)
        if len(group_ids) > 20:
            raise bad_request("The maximum number of group ids is 20.")
        mine = {g["id"] for g in self.member_groups(user["id"])}
        return [gid for gid in group_ids if gid in mine]

    # ------------------------------------------------------------- delete and restore
    def delete_user(self, ref: str) -> None:
        user = self.user(ref)
        user["deletedDateTime"] = now_iso()
        # Entra frees the name of a deleted user: its UPN gets the object id as a prefix.
        user["_userPrincipalNameBeforeDelete"] = user["userPrincipalName"]
        user["userPrincipalName"] = user["id"].replace("-", "") + user["userPrincipalName"]
        self.changed()

    def delete_group(self, group_id: str) -> None:
        self.group(group_id)["deletedDateTime"] = now_iso()
        self.changed()

    def deleted_item(self, object_id: str) -> tuple[str, dict]:
        for kind, store in (("user", self.users), ("group", self.groups)):
            obj = store.get(object_id)
            if obj is not None and obj["deletedDateTime"]:
                return kind, obj
        raise not_found(object_id)

    def restore(self, object_id: str) -> tuple[str, dict]:
        kind, obj = self.deleted_item(object_id)
        if kind == "user":
            upn = obj["_userPrincipalNameBeforeDelete"]
            if self.find_user(upn) is not None:
                raise bad_request(
                    "Another object with the same value for property userPrincipalName "
                    "already exists."
                )
            obj["userPrincipalName"] = upn
            del obj["_userPrincipalNameBeforeDelete"]
        obj["deletedDateTime"] = None
        self.changed()
        return kind, obj

    def purge(self, object_id: str) -> None:
        """Permanent delete of a soft-deleted object."""
        kind, _ = self.deleted_item(object_id)
        if kind == "user":
            del self.users[object_id]
            for group in self.groups.values():
                for prop in ("_members", "_owners"):
                    if object_id in group[prop]:
                        group[prop].remove(object_id)
            held = [a["id"] for a in self.assignments.values() if a["principalId"] == object_id]
            for aid in held:
                del self.assignments[aid]
        else:
            del self.groups[object_id]
        self.changed()

    # -------------------------------------------------------------- service principals
    def service_principal(self, sp_id: str) -> dict:
        sp = self.service_principals.get(sp_id)
        if sp is None or sp["deletedDateTime"]:
            raise not_found(sp_id)
        return sp

    def _principal(self, principal_id: str) -> dict | None:
        obj = self.users.get(principal_id) or self.groups.get(principal_id)
        return obj if obj is not None and not obj["deletedDateTime"] else None

    def assignments_to(self, sp_id: str) -> list[dict]:
        self.service_principal(sp_id)
        return [
            a
            for a in self.assignments.values()
            if a["resourceId"] == sp_id and self._principal(a["principalId"]) is not None
        ]

    def assign(self, sp_id: str, principal_id: str, resource_id: str, app_role_id: str) -> dict:
        sp = self.service_principal(sp_id)
        if resource_id != sp_id:
            raise bad_request(
                "Invalid value specified for property 'resourceId' of resource 'AppRoleAssignment'."
            )
        principal = self._principal(principal_id or "")
        if principal is None:
            raise bad_request(
                "Invalid value specified for property 'principalId' of resource "
                "'AppRoleAssignment'."
            )
        known = {r["id"] for r in sp["appRoles"]} | {DEFAULT_ACCESS_ROLE}
        if app_role_id not in known:
            raise bad_request(
                f"Permission being assigned was not found on application '{sp['appId']}'."
            )
        for a in self.assignments_to(sp_id):
            if a["principalId"] == principal_id and a["appRoleId"] == app_role_id:
                raise bad_request("Permission being assigned already exists on the object.")
        assignment = {
            "id": _assignment_id(),
            "appRoleId": app_role_id,
            "createdDateTime": now_iso(),
            "deletedDateTime": None,
            "principalDisplayName": principal["displayName"],
            "principalId": principal_id,
            "principalType": "User" if principal_id in self.users else "Group",
            "resourceDisplayName": sp["displayName"],
            "resourceId": sp_id,
        }
        self.assignments[assignment["id"]] = assignment
        self.changed()
        return assignment

    def unassign(self, sp_id: str, assignment_id: str) -> None:
        self.service_principal(sp_id)
        assignment = self.assignments.get(assignment_id)
        if assignment is None or assignment["resourceId"] != sp_id:
            raise not_found(assignment_id)
        del self.assignments[assignment_id]
        self.changed()

    # ------------------------------------------------------------------ sites, tenants
    def site(self, site_id: str) -> dict:
        site = self.sites.get(site_id)
        if site is None:
            raise GraphError(404, "itemNotFound", "Requested site could not be found")
        return site

    def tenant_by_domain(self, domain: str) -> dict:
        folded = _fold(domain)
        home = self.tenant
        candidates = [
            (home["id"], home["displayName"], [*home["verifiedDomains"], home["initialDomain"]])
        ] + [(t["id"], t["displayName"], t["verifiedDomains"]) for t in self.other_tenants]
        for tenant_id, name, domains in candidates:
            if folded in (_fold(d) for d in domains):
                return {
                    "tenantId": tenant_id,
                    "displayName": name,
                    "defaultDomainName": domains[0],
                    "federationBrandName": None,
                }
        raise GraphError(
            404,
            "Request_ResourceNotFound",
            f"Tenant information for the domain '{domain}' was not found.",
        )

    # ---------------------------------------------------------------------- invitations
    def invite(self, body: dict) -> dict:
        """POST /invitations: a new Guest user, or the existing user with that address."""
        address = (body.get("invitedUserEmailAddress") or "").strip()
        redirect = body.get("inviteRedirectUrl")
        if not _EMAIL.match(address):
            raise bad_request(
                f"The invited user email address '{address}' is not valid.", code="BadRequest"
            )
        if not redirect:
            raise bad_request("The inviteRedirectUrl property is required.", code="BadRequest")
        domain = address.rsplit("@", 1)[1].casefold()
        existing = self.user_by_address(address)
        if existing is None:
            self._check_invitable(address, domain)
            user = self._new_guest(address, body.get("invitedUserDisplayName"))
        else:
            user = existing
        invitation = {
            "id": str(uuid.uuid4()),
            "inviteRedeemUrl": (
                "https://invitations.microsoft.com/redeem/?tenant="
                f"{self.tenant['id']}&user={user['id']}&ticket={secrets.token_urlsafe(24)}&ver=2.0"
            ),
            "invitedUserDisplayName": body.get("invitedUserDisplayName") or user["displayName"],
            "invitedUserEmailAddress": address,
            "invitedUserType": user["userType"],
            "inviteRedirectUrl": redirect,
            "resetRedemption": bool(body.get("resetRedemption", False)),
            "sendInvitationMessage": bool(body.get("sendInvitationMessage", False)),
            "invitedUserMessageInfo": {
                "messageLanguage": None,
                "ccRecipients": [],
                "customizedMessageBody": (body.get("invitedUserMessageInfo") or {}).get(
                    "customizedMessageBody"
                ),
            },
            "status": user.get("externalUserState") or "Completed",
            "invitedUser": {"id": user["id"]},
        }
        if invitation["sendInvitationMessage"]:
            custom = invitation["invitedUserMessageInfo"]["customizedMessageBody"] or ""
            self.record_mail(
                kind="invitation",
                sender=INVITATION_SENDER,
                to=[address],
                subject=f"You're invited to the {self.tenant['displayName']} organization",
                content_type="text",
                body=f"{custom}\n\nAccept invitation: {invitation['inviteRedeemUrl']}".strip(),
            )
        self.changed()
        return invitation

    def _check_invitable(self, address: str, domain: str) -> None:
        home_domains = {_fold(d) for d in self.tenant["verifiedDomains"]}
        home_domains.add(_fold(self.tenant["initialDomain"]))
        if domain in home_domains:
            raise bad_request(
                f"The invited user '{address}' belongs to a domain verified in this "
                "organization; invite external users only.",
                code="BadRequest",
            )
        blocked = {_fold(d) for d in self.b2b_policy["blockedDomains"]}
        allowed = {_fold(d) for d in self.b2b_policy["allowedDomains"]}
        if domain in blocked or (allowed and domain not in allowed):
            raise bad_request(
                f"The invitation to '{address}' was blocked: the domain '{domain}' is not "
                "allowed by the B2B collaboration policy of this organization.",
                code="BadRequest",
            )

    def _new_guest(self, address: str, display_name: str | None) -> dict:
        local, domain = address.rsplit("@", 1)
        upn = f"{local}_{domain}#EXT#@{self.tenant['initialDomain']}"
        if self.find_user(upn) is not None:
            raise bad_request(
                "Another object with the same value for property userPrincipalName already exists."
            )
        now = now_iso()
        user = {
            "id": str(uuid.uuid4()),
            "displayName": display_name or local,
            "userPrincipalName": upn,
            "mail": address,
            "otherMails": [address],
            "userType": "Guest",
            "accountEnabled": True,
            "givenName": None,
            "surname": None,
            "jobTitle": None,
            "businessPhones": [],
            "mobilePhone": None,
            "officeLocation": None,
            "preferredLanguage": None,
            "createdDateTime": now,
            "creationType": "Invitation",
            "externalUserState": "PendingAcceptance",
            "externalUserStateChangeDateTime": now,
            "deletedDateTime": None,
            "signInActivity": None,
            "_managerId": None,
        }
        self.users[user["id"]] = user
        return user

    # ---------------------------------------------------------------------------- mail
    def send_mail(self, sender_ref: str, body: dict) -> dict:
        """POST /users/{id}/sendMail: the message goes to the outbox."""
        sender = self.find_user(sender_ref)
        if sender is None:
            raise GraphError(
                404, "ErrorInvalidUser", f"The requested user '{sender_ref}' is invalid."
            )
        if not sender["mail"] or sender["userType"] == "Guest":
            raise GraphError(
                404,
                "MailboxNotEnabledForRESTAPI",
                "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
            )
        message = action_parameter(body, "message")
        if not isinstance(message, dict):
            raise bad_request("The message property is required.", code="ErrorInvalidParameter")

        def addresses(key: str) -> list[str]:
            return [
                (r.get("emailAddress") or {}).get("address", "") for r in message.get(key) or []
            ]

        to, cc = addresses("toRecipients"), addresses("ccRecipients")
        bcc = addresses("bccRecipients")
        if not (to or cc or bcc) or not all(_EMAIL.match(a) for a in to + cc + bcc):
            raise bad_request(
                "At least one recipient isn't valid., A message can't be sent because it "
                "contains no recipients.",
                code="ErrorInvalidRecipients",
            )
        item_body = message.get("body") or {}
        entry = self.record_mail(
            kind="mail",
            sender=sender["mail"],
            to=to,
            cc=cc,
            bcc=bcc,
            subject=message.get("subject") or "",
            content_type=str(item_body.get("contentType") or "text").lower(),
            body=item_body.get("content") or "",
        )
        entry["senderId"] = sender["id"]
        entry["saveToSentItems"] = bool(action_parameter(body, "saveToSentItems", True))
        self.changed()
        return entry

    def record_mail(
        self,
        *,
        kind: str,
        sender: str,
        to: list[str],
        subject: str,
        content_type: str,
        body: str,
        cc: list[str] | None = None,
        bcc: list[str] | None = None,
    ) -> dict:
        entry = {
            "id": str(uuid.uuid4()),
            "kind": kind,
            "from": sender,
            "toRecipients": to,
            "ccRecipients": cc or [],
            "bccRecipients": bcc or [],
            "subject": subject,
            "contentType": content_type,
            "body": body,
            "sentDateTime": now_iso(),
            "time": datetime.now(UTC).timestamp(),
        }
        self.outbox.append(entry)
        return entry
