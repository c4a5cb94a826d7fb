"""Directory activities: every Microsoft Graph write and read entitlement management needs.

One class holding the injected GraphServiceClient; one method per operation, each taking
one pydantic model and returning one (or None). Writes are idempotent as SEMANTICS.md
says: adding what is already there and removing what is not there both succeed (with
`changed=False`). Failures become Temporal errors through activities.graph_errors:
throttling and outages are retried by Temporal (the client has no SDK retry handler),
permanent 4xx fail the activity with Graph's code and message.

Register with a worker: `Worker(..., activities=DirectoryActivities(client).all())`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

import structlog
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.groups.item.members.members_request_builder import MembersRequestBuilder
from msgraph.generated.models.app_role_assignment import AppRoleAssignment
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.invitation import Invitation
from msgraph.generated.models.invited_user_message_info import InvitedUserMessageInfo
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.message import Message
from msgraph.generated.models.recipient import Recipient
from msgraph.generated.models.reference_create import ReferenceCreate
from msgraph.generated.models.user import User
from msgraph.generated.users.item.check_member_groups.check_member_groups_post_request_body import (  # noqa: E501
    CheckMemberGroupsPostRequestBody,
)
from msgraph.generated.users.item.manager.manager_request_builder import ManagerRequestBuilder
from msgraph.generated.users.item.send_mail.send_mail_post_request_body import (
    SendMailPostRequestBody,
)
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from temporalio import activity
from temporalio.exceptions import ApplicationError

from .directory_models import (
    AppRoleAssignmentResult,
    AppRoleInput,
    ChangeResult,
    CheckMemberGroupsInput,
    CheckMemberGroupsResult,
    DirectoryActivityNames,
    DirectoryUser,
    FindTenantInput,
    FindUserInput,
    GetManagerInput,
    GroupMemberInput,
    GroupMembers,
    GroupRef,
    InvitedGuest,
    InviteGuestInput,
    LastSignIn,
    SendMailInput,
    SetSignInBlockedInput,
    SiteAccessInput,
    TenantInfo,
    UserRef,
)
from .graph_errors import graph_failure, is_already_exists, is_not_found, to_application_error

log = structlog.get_logger("accessctl.directory")

T = TypeVar("T")

# Properties a DirectoryUser needs; Graph's default user properties lack most of them.
USER_SELECT = [
    "id", "displayName", "userPrincipalName", "mail", "otherMails", "userType",
    "accountEnabled", "creationType", "externalUserState",
]  # fmt: skip
CHECK_MEMBER_GROUPS_LIMIT = 20


def _user(u: Any) -> DirectoryUser:
    upn = getattr(u, "user_principal_name", None)
    user_type = getattr(u, "user_type", None)
    return DirectoryUser(
        id=str(u.id),
        display_name=getattr(u, "display_name", None),
        user_principal_name=upn,
        mail=getattr(u, "mail", None),
        other_mails=list(getattr(u, "other_mails", None) or []),
        user_type=user_type,
        account_enabled=getattr(u, "account_enabled", None),
        creation_type=getattr(u, "creation_type", None),
        external_user_state=getattr(u, "external_user_state", None),
        is_external=user_type == "Guest" or "#EXT#" in (upn or "").upper(),
    )


def _quote(value: str) -> str:
    """An OData string literal's content (single quotes doubled)."""
    return value.replace("'", "''")


def _uuid(value: str, field: str) -> UUID:
    try:
        return UUID(value)
    except ValueError as exc:
        raise ApplicationError(
            f"{field} '{value}' is not an object id", type="InvalidInput", non_retryable=True
        ) from exc


class DirectoryActivities:
    def __init__(self, client: GraphServiceClient) -> None:
        self.client = client

    def all(self) -> list[Callable[..., Awaitable[Any]]]:
        """The bound activity methods, for Worker(activities=...)."""
        return [
            self.invite_guest,
            self.find_user,
            self.add_group_member,
            self.remove_group_member,
            self.add_group_owner,
            self.remove_group_owner,
            self.assign_app_role,
            self.unassign_app_role,
            self.grant_site_access,
            self.revoke_site_access,
            self.set_sign_in_blocked,
            self.delete_user,
            self.get_manager,
            self.list_group_members,
            self.check_member_groups,
            self.send_mail,
            self.find_tenant_by_domain,
            self.get_last_sign_in,
        ]

    # --------------------------------------------------------------------- plumbing
    async def _call(
        self, operation: str, work: Callable[[], Awaitable[tuple[T, str]]], **fields: Any
    ) -> T:
        """Run one operation: one log line, Graph failures turned into Temporal errors.

        `work` returns (result, outcome); outcome is a word for the log ("added", "none").
        """
        started = time.monotonic()
        # Workflow id, activity type and attempt are bound by activities.log's interceptor.
        context: dict[str, Any] = {"operation": operation, **fields}
        try:
            result, outcome = await work()
        except ApplicationError as exc:
            log.warning(
                "graph call failed",
                **context,
                error_type=exc.type,
                error=exc.message,
                duration_ms=round((time.monotonic() - started) * 1000),
            )
            raise
        except Exception as exc:
            error = to_application_error(exc, operation)
            failure = graph_failure(exc)
            log.warning(
                "graph call failed",
                **context,
                status=failure.status if failure else None,
                code=failure.code if failure else type(exc).__name__,
                error=failure.message if failure else str(exc),
                retryable=not (error and error.non_retryable),
                duration_ms=round((time.monotonic() - started) * 1000),
            )
            if error is None:
                raise
            raise error from exc
        log.info(
            "graph call",
            **context,
            outcome=outcome,
            duration_ms=round((time.monotonic() - started) * 1000),
        )
        return result

    def _directory_object_url(self, object_id: str) -> str:
        return f"{self.client.request_adapter.base_url.rstrip('/')}/directoryObjects/{object_id}"

    async def _get_user(self, ref: str, select: list[str]) -> Any | None:
        config = RequestConfiguration(
            query_parameters=UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
                select=select
            )
        )
        try:
            return await self.client.users.by_user_id(ref).get(request_configuration=config)
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise

    async def _add_ref(self, group_id: str, prop: str, user_id: str) -> tuple[ChangeResult, str]:
        group = self.client.groups.by_group_id(group_id)
        refs = group.members if prop == "members" else group.owners
        try:
            await refs.ref.post(ReferenceCreate(odata_id=self._directory_object_url(user_id)))
        except Exception as exc:
            if is_already_exists(exc):
                return ChangeResult(changed=False), "already present"
            raise
        return ChangeResult(changed=True), "added"

    async def _remove_ref(self, group_id: str, prop: str, user_id: str) -> tuple[ChangeResult, str]:
        group = self.client.groups.by_group_id(group_id)
        refs = group.members if prop == "members" else group.owners
        try:
            await refs.by_directory_object_id(user_id).ref.delete()
        except Exception as exc:
            if is_not_found(exc):
                return ChangeResult(changed=False), "not present"
            raise
        return ChangeResult(changed=True), "removed"

    async def _assignments(self, sp_id: str) -> list[AppRoleAssignment]:
        builder = self.client.service_principals.by_service_principal_id(sp_id)
        page = await builder.app_role_assigned_to.get()
        found: list[AppRoleAssignment] = []
        while page is not None:
            found.extend(page.value or [])
            if not page.odata_next_link:
                break
            page = await builder.app_role_assigned_to.with_url(page.odata_next_link).get()
        return found

    # ------------------------------------------------------------------- activities
    @activity.defn(name=DirectoryActivityNames.INVITE_GUEST)
    async def invite_guest(self, inp: InviteGuestInput) -> InvitedGuest:
        """POST /invitations, one Graph call. An address that already has a user gives that
        user back (Graph does so itself). The answer names the user's id and type but not
        their user principal name, which stays unknown: nothing here needs it, and reading
        the user back would cost a second call per guest (and, throttled, fail an invitation
        that went through)."""

        async def work() -> tuple[InvitedGuest, str]:
            body = Invitation(
                invited_user_email_address=inp.email,
                invited_user_display_name=inp.display_name,
                invite_redirect_url=inp.redirect_url,
                send_invitation_message=inp.send_invitation_message,
                invited_user_message_info=(
                    InvitedUserMessageInfo(customized_message_body=inp.message)
                    if inp.message
                    else None
                ),
            )
            result = await self.client.invitations.post(body)
            if result is None or result.invited_user is None or not result.invited_user.id:
                raise ApplicationError("POST /invitations answered without invitedUser.id")
            guest = InvitedGuest(
                id=str(result.invited_user.id),
                email=inp.email,
                display_name=result.invited_user_display_name or inp.display_name or "",
                is_guest=result.invited_user_type != "Member",
                invite_redeem_url=result.invite_redeem_url,
                status=result.status,
            )
            return guest, f"invited {guest.id} ({guest.status})"

        return await self._call(
            "invite_guest", work, email=inp.email, send_mail=inp.send_invitation_message
        )

    @activity.defn(name=DirectoryActivityNames.FIND_USER)
    async def find_user(self, inp: FindUserInput) -> DirectoryUser | None:
        """A user by object id, userPrincipalName, or any of their addresses; None if none."""

        async def work() -> tuple[DirectoryUser | None, str]:
            if inp.user_id or inp.user_principal_name:
                found = await self._get_user(inp.user_id or inp.user_principal_name, USER_SELECT)
                user = _user(found) if found is not None else None
                return user, "found" if user else "not found"
            address = _quote(inp.email or "")
            query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
                filter=(
                    f"mail eq '{address}' or userPrincipalName eq '{address}' "
                    f"or otherMails/any(m:m eq '{address}')"
                ),
                select=USER_SELECT,
            )
            page = await self.client.users.get(RequestConfiguration(query_parameters=query))
            users = [_user(u) for u in (page.value if page else None) or []]
            wanted = (inp.email or "").casefold()

            def rank(u: DirectoryUser) -> int:
                if (u.mail or "").casefold() == wanted:
                    return 0
                return 1 if (u.user_principal_name or "").casefold() == wanted else 2

            users.sort(key=rank)
            return (users[0] if users else None), f"{len(users)} match(es)"

        return await self._call(
            "find_user",
            work,
            email=inp.email,
            user_principal_name=inp.user_principal_name,
            user_id=inp.user_id,
        )

    @activity.defn(name=DirectoryActivityNames.ADD_GROUP_MEMBER)
    async def add_group_member(self, inp: GroupMemberInput) -> ChangeResult:
        return await self._call(
            "add_group_member",
            lambda: self._add_ref(inp.group_id, "members", inp.user_id),
            group_id=inp.group_id,
            user_id=inp.user_id,
        )

    @activity.defn(name=DirectoryActivityNames.REMOVE_GROUP_MEMBER)
    async def remove_group_member(self, inp: GroupMemberInput) -> ChangeResult:
        return await self._call(
            "remove_group_member",
            lambda: self._remove_ref(inp.group_id, "members", inp.user_id),
            group_id=inp.group_id,
            user_id=inp.user_id,
        )

    @activity.defn(name=DirectoryActivityNames.ADD_GROUP_OWNER)
    async def add_group_owner(self, inp: GroupMemberInput) -> ChangeResult:
        return await self._call(
            "add_group_owner",
            lambda: self._add_ref(inp.group_id, "owners", inp.user_id),
            group_id=inp.group_id,
            user_id=inp.user_id,
        )

    @activity.defn(name=DirectoryActivityNames.REMOVE_GROUP_OWNER)
    async def remove_group_owner(self, inp: GroupMemberInput) -> ChangeResult:
        return await self._call(
            "remove_group_owner",
            lambda: self._remove_ref(inp.group_id, "owners", inp.user_id),
            group_id=inp.group_id,
            user_id=inp.user_id,
        )

    @activity.defn(name=DirectoryActivityNames.ASSIGN_APP_ROLE)
    async def assign_app_role(self, inp: AppRoleInput) -> AppRoleAssignmentResult:
        """POST appRoleAssignedTo; "already exists" gives back the existing assignment."""

        async def work() -> tuple[AppRoleAssignmentResult, str]:
            body = AppRoleAssignment(
                principal_id=_uuid(inp.principal_id, "principal_id"),
                resource_id=_uuid(inp.service_principal_id, "service_principal_id"),
                app_role_id=_uuid(inp.app_role_id, "app_role_id"),
            )
            sp = self.client.service_principals.by_service_principal_id(inp.service_principal_id)
            try:
                created = await sp.app_role_assigned_to.post(body)
            except Exception as exc:
                if not is_already_exists(exc):
                    raise
                for a in await self._assignments(inp.service_principal_id):
                    if (
                        str(a.principal_id) == inp.principal_id.lower()
                        and str(a.app_role_id) == inp.app_role_id.lower()
                    ):
                        return (
                            AppRoleAssignmentResult(assignment_id=str(a.id), changed=False),
                            "already assigned",
                        )
                # "already exists" but not listed yet (replication): let Temporal try again
                raise ApplicationError(
                    "Graph reports the app role assignment as existing but does not list it",
                    type="GraphInconsistent",
                ) from exc
            if created is None or not created.id:
                raise ApplicationError("POST appRoleAssignedTo answered without an id")
            return AppRoleAssignmentResult(assignment_id=created.id, changed=True), "assigned"

        return await self._call(
            "assign_app_role",
            work,
            service_principal_id=inp.service_principal_id,
            app_role_id=inp.app_role_id,
            principal_id=inp.principal_id,
        )

    @activity.defn(name=DirectoryActivityNames.UNASSIGN_APP_ROLE)
    async def unassign_app_role(self, inp: AppRoleInput) -> ChangeResult:
        """Remove every assignment of this app role to this principal; none is success."""

        async def work() -> tuple[ChangeResult, str]:
            sp = self.client.service_principals.by_service_principal_id(inp.service_principal_id)
            removed = 0
            for a in await self._assignments(inp.service_principal_id):
                if str(a.principal_id) != inp.principal_id.lower():
                    continue
                if str(a.app_role_id) != inp.app_role_id.lower():
                    continue
                try:
                    await sp.app_role_assigned_to.by_app_role_assignment_id(a.id).delete()
                    removed += 1
                except Exception as exc:
                    if not is_not_found(exc):
                        raise
            return ChangeResult(changed=removed > 0), f"removed {removed}"

        return await self._call(
            "unassign_app_role",
            work,
            service_principal_id=inp.service_principal_id,
            app_role_id=inp.app_role_id,
            principal_id=inp.principal_id,
        )

    @activity.defn(name=DirectoryActivityNames.GRANT_SITE_ACCESS)
    async def grant_site_access(self, inp: SiteAccessInput) -> ChangeResult:
        """Site role through the site's Microsoft 365 group: Member or Owner."""
        prop = "owners" if inp.role == "Owner" else "members"
        return await self._call(
            "grant_site_access",
            lambda: self._add_ref(inp.group_id, prop, inp.user_id),
            site_id=inp.site_id,
            group_id=inp.group_id,
            user_id=inp.user_id,
            role=inp.role,
        )

    @activity.defn(name=DirectoryActivityNames.REVOKE_SITE_ACCESS)
    async def revoke_site_access(self, inp: SiteAccessInput) -> ChangeResult:
        prop = "owners" if inp.role == "Owner" else "members"
        return await self._call(
            "revoke_site_access",
            lambda: self._remove_ref(inp.group_id, prop, inp.user_id),
            site_id=inp.site_id,
            group_id=inp.group_id,
            user_id=inp.user_id,
            role=inp.role,
        )

    @activity.defn(name=DirectoryActivityNames.SET_SIGN_IN_BLOCKED)
    async def set_sign_in_blocked(self, inp: SetSignInBlockedInput) -> None:
        """PATCH accountEnabled (blocked = not enabled)."""

        async def work() -> tuple[None, str]:
            body = User(account_enabled=not inp.blocked)
            await self.client.users.by_user_id(inp.user_id).patch(body)
            return None, "blocked" if inp.blocked else "unblocked"

        await self._call("set_sign_in_blocked", work, user_id=inp.user_id, blocked=inp.blocked)

    @activity.defn(name=DirectoryActivityNames.DELETE_USER)
    async def delete_user(self, inp: UserRef) -> ChangeResult:
        """Soft delete; a user already gone is success (changed=False)."""

        async def work() -> tuple[ChangeResult, str]:
            try:
                await self.client.users.by_user_id(inp.user_id).delete()
            except Exception as exc:
                if is_not_found(exc):
                    return ChangeResult(changed=False), "already gone"
                raise
            return ChangeResult(changed=True), "deleted"

        return await self._call("delete_user", work, user_id=inp.user_id)

    @activity.defn(name=DirectoryActivityNames.GET_MANAGER)
    async def get_manager(self, inp: GetManagerInput) -> DirectoryUser | None:
        """The manager (level 1) or the manager's manager (level 2); None when there is none."""

        async def work() -> tuple[DirectoryUser | None, str]:
            current = inp.user_id
            manager: DirectoryUser | None = None
            config = RequestConfiguration(
                query_parameters=ManagerRequestBuilder.ManagerRequestBuilderGetQueryParameters(
                    select=USER_SELECT
                )
            )
            for _ in range(inp.level):
                try:
                    found = await self.client.users.by_user_id(current).manager.get(
                        request_configuration=config
                    )
                except Exception as exc:
                    if is_not_found(exc):
                        return None, "no manager"
                    raise
                if found is None or not found.id:
                    return None, "no manager"
                manager = _user(found)
                current = manager.id
            return manager, f"manager {manager.id if manager else None}"

        return await self._call("get_manager", work, user_id=inp.user_id, level=inp.level)

    @activity.defn(name=DirectoryActivityNames.LIST_GROUP_MEMBERS)
    async def list_group_members(self, inp: GroupRef) -> GroupMembers:
        """The group's direct members that are users (all pages)."""

        async def work() -> tuple[GroupMembers, str]:
            members = self.client.groups.by_group_id(inp.group_id).members
            query = MembersRequestBuilder.MembersRequestBuilderGetQueryParameters(
                select=USER_SELECT
            )
            page = await members.get(RequestConfiguration(query_parameters=query))
            users: list[DirectoryUser] = []
            while page is not None:
                users.extend(_user(o) for o in page.value or [] if isinstance(o, User))
                if not page.odata_next_link:
                    break
                page = await members.with_url(page.odata_next_link).get()
            return GroupMembers(members=users), f"{len(users)} member(s)"

        return await self._call("list_group_members", work, group_id=inp.group_id)

    @activity.defn(name=DirectoryActivityNames.CHECK_MEMBER_GROUPS)
    async def check_member_groups(self, inp: CheckMemberGroupsInput) -> CheckMemberGroupsResult:
        """Which of these groups the user is a member of (20 ids per Graph call)."""

        async def work() -> tuple[CheckMemberGroupsResult, str]:
            found: set[str] = set()
            user = self.client.users.by_user_id(inp.user_id)
            ids = list(dict.fromkeys(inp.group_ids))
            for start in range(0, len(ids), CHECK_MEMBER_GROUPS_LIMIT):
                chunk = ids[start : start + CHECK_MEMBER_GROUPS_LIMIT]
                body = CheckMemberGroupsPostRequestBody(group_ids=chunk)
                answer = await user.check_member_groups.post(body)
                found.update(str(g) for g in (answer.value if answer else None) or [])
            result = [g for g in ids if g in found]
            return CheckMemberGroupsResult(group_ids=result), f"{len(result)} of {len(ids)}"

        return await self._call(
            "check_member_groups", work, user_id=inp.user_id, groups=len(inp.group_ids)
        )

    @activity.defn(name=DirectoryActivityNames.SEND_MAIL)
    async def send_mail(self, inp: SendMailInput) -> None:
        """POST /users/{sender}/sendMail. The body is not logged."""

        def recipients(addresses: list[str]) -> list[Recipient]:
            return [Recipient(email_address=EmailAddress(address=a)) for a in addresses]

        async def work() -> tuple[None, str]:
            message = Message(
                subject=inp.subject,
                body=ItemBody(
                    content_type=BodyType.Html if inp.content_type == "html" else BodyType.Text,
                    content=inp.body,
                ),
                to_recipients=recipients(inp.to),
                cc_recipients=recipients(inp.cc) or None,
            )
            body = SendMailPostRequestBody(
                message=message, save_to_sent_items=inp.save_to_sent_items
            )
            await self.client.users.by_user_id(inp.sender).send_mail.post(body)
            return None, "sent"

        await self._call(
            "send_mail",
            work,
            sender=inp.sender,
            recipients=len(inp.to) + len(inp.cc),
            subject=inp.subject,
        )

    @activity.defn(name=DirectoryActivityNames.FIND_TENANT_BY_DOMAIN)
    async def find_tenant_by_domain(self, inp: FindTenantInput) -> TenantInfo | None:
        """The Entra tenant that verified this domain; None when no tenant has."""

        async def work() -> tuple[TenantInfo | None, str]:
            relationships = self.client.tenant_relationships
            builder = relationships.find_tenant_information_by_domain_name_with_domain_name(
                inp.domain
            )
            try:
                info = await builder.get()
            except Exception as exc:
                if is_not_found(exc):
                    return None, "no tenant"
                raise
            if info is None or not info.tenant_id:
                return None, "no tenant"
            tenant = TenantInfo(
                tenant_id=str(info.tenant_id),
                display_name=info.display_name,
                default_domain_name=info.default_domain_name,
            )
            return tenant, f"tenant {tenant.tenant_id}"

        return await self._call("find_tenant_by_domain", work, domain=inp.domain)

    @activity.defn(name=DirectoryActivityNames.GET_LAST_SIGN_IN)
    async def get_last_sign_in(self, inp: UserRef) -> LastSignIn:
        """signInActivity.lastSignInDateTime (None: never signed in, or not reported)."""

        async def work() -> tuple[LastSignIn, str]:
            config = RequestConfiguration(
                query_parameters=UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
                    select=["id", "signInActivity"]
                )
            )
            user = await self.client.users.by_user_id(inp.user_id).get(request_configuration=config)
            activity_ = user.sign_in_activity if user else None
            when = activity_.last_sign_in_date_time if activity_ else None
            return LastSignIn(user_id=inp.user_id, last_sign_in=when), f"last sign-in {when}"

        return await self._call("get_last_sign_in", work, user_id=inp.user_id)
