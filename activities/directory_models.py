"""Inputs and outputs of the directory activities, and their names.

Pure pydantic, no msgraph import: workflows import this module (inside
`workflow.unsafe.imports_passed_through()`) and call the activities by name:

    await workflow.execute_activity(
        DirectoryActivityNames.ADD_GROUP_MEMBER,
        GroupMemberInput(group_id=gid, user_id=uid),
        result_type=ChangeResult,
        start_to_close_timeout=timedelta(seconds=30),
    )
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from entitlements.people import Person


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)  # tolerate newer callers


class DirectoryActivityNames:
    """Registered activity names (activity.defn(name=...)): the method names."""

    INVITE_GUEST = "invite_guest"
    FIND_USER = "find_user"
    ADD_GROUP_MEMBER = "add_group_member"
    REMOVE_GROUP_MEMBER = "remove_group_member"
    ADD_GROUP_OWNER = "add_group_owner"
    REMOVE_GROUP_OWNER = "remove_group_owner"
    ASSIGN_APP_ROLE = "assign_app_role"
    UNASSIGN_APP_ROLE = "unassign_app_role"
    GRANT_SITE_ACCESS = "grant_site_access"
    REVOKE_SITE_ACCESS = "revoke_site_access"
    SET_SIGN_IN_BLOCKED = "set_sign_in_blocked"
    DELETE_USER = "delete_user"
    GET_MANAGER = "get_manager"
    LIST_GROUP_MEMBERS = "list_group_members"
    CHECK_MEMBER_GROUPS = "check_member_groups"
    SEND_MAIL = "send_mail"
    FIND_TENANT_BY_DOMAIN = "find_tenant_by_domain"
    GET_LAST_SIGN_IN = "get_last_sign_in"


# ----------------------------------------------------------------------------- results
class ChangeResult(_Model):
    """Outcome of an idempotent write: changed is False when the directory already was so
    (member already there, nothing to remove, user already deleted)."""

    changed: bool


class DirectoryUser(_Model):
    id: str
    display_name: str | None = None
    user_principal_name: str | None = None
    mail: str | None = None
    other_mails: list[str] = []
    user_type: str | None = None  # "Member" or "Guest"
    account_enabled: bool | None = None
    creation_type: str | None = None  # "Invitation" for invited guests
    external_user_state: str | None = None  # PendingAcceptance / Accepted
    is_external: bool = False  # userType Guest, or a B2B account (#EXT# in the UPN)


# ------------------------------------------------------------------------------ inputs
class UserRef(_Model):
    user_id: str = Field(min_length=1)  # object id (or userPrincipalName)


class InviteGuestInput(_Model):
    email: str = Field(min_length=3)
    display_name: str | None = None
    redirect_url: str = Field(min_length=1)
    send_invitation_message: bool = False
    message: str | None = None  # invitedUserMessageInfo.customizedMessageBody


class InvitedGuest(_Model):
    """The invited (or already existing) user. Its first six fields read as
    entitlements.people.Person, so a workflow may take the result as a Person."""

    id: str  # the guest's object id
    email: str
    display_name: str = ""
    user_principal_name: str | None = None
    is_guest: bool = True
    account_enabled: bool = True
    invite_redeem_url: str | None = None
    status: str | None = None  # PendingAcceptance, Accepted, Completed, ...


class FindUserInput(_Model):
    """Exactly one way to name the user."""

    email: str | None = None  # mail, otherMails or userPrincipalName
    user_principal_name: str | None = None
    user_id: str | None = None

    @model_validator(mode="after")
    def _one_key(self) -> FindUserInput:
        given = [v for v in (self.email, self.user_principal_name, self.user_id) if v]
        if len(given) != 1:
            raise ValueError("give exactly one of email, user_principal_name, user_id")
        return self


class GroupMemberInput(_Model):
    """Used for members and owners alike."""

    group_id: str = Field(min_length=1)
    user_id: str = Field(min_length=1)


class AppRoleInput(_Model):
    service_principal_id: str = Field(min_length=1)
    app_role_id: str = Field(
        min_length=1
    )  # "00000000-0000-0000-0000-000000000000" = Default Access
    principal_id: str = Field(min_length=1)  # user (or group) object id


class AppRoleAssignmentResult(_Model):
    assignment_id: str
    changed: bool  # False when the assignment already existed


class SiteAccessInput(_Model):
    """Site access goes through the site's Microsoft 365 group: Member -> members,
    Owner -> owners."""

    site_id: str = Field(min_length=1)
    group_id: str = Field(min_length=1)
    user_id: str = Field(min_length=1)
    role: Literal["Member", "Owner"] = "Member"


class SetSignInBlockedInput(_Model):
    user_id: str = Field(min_length=1)
    blocked: bool


class GetManagerInput(_Model):
    user_id: str = Field(min_length=1)
    level: Literal[1, 2] = 1  # 2 = the manager's manager


class GroupRef(_Model):
    group_id: str = Field(min_length=1)


class GroupMembers(_Model):
    members: list[DirectoryUser]


class CheckMemberGroupsInput(_Model):
    user_id: str = Field(min_length=1)
    group_ids: list[str]


class CheckMemberGroupsResult(_Model):
    group_ids: list[str]  # the subset of the asked groups the user is a member of


class SendMailInput(_Model):
    sender: str = Field(min_length=1)  # mailbox (UPN or object id) the mail is sent as
    to: list[str] = Field(min_length=1)
    cc: list[str] = []
    subject: str
    body: str
    content_type: Literal["html", "text"] = "html"
    save_to_sent_items: bool = False


class FindTenantInput(_Model):
    domain: str = Field(min_length=1)


class TenantInfo(_Model):
    tenant_id: str
    display_name: str | None = None
    default_domain_name: str | None = None


class LastSignIn(_Model):
    user_id: str
    last_sign_in: datetime | None = None


def person_of(user: DirectoryUser) -> Person:
    """A directory user as the domain's Person (pure: workflows may call it)."""
    return Person(
        email=(user.mail or (user.other_mails or [None])[0] or user.user_principal_name or user.id),
        id=user.id,
        user_principal_name=user.user_principal_name,
        display_name=user.display_name or "",
        is_guest=user.is_external,
        account_enabled=user.account_enabled is not False,
    )
