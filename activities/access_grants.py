"""Granting and revoking one resource role: the directory call each kind of resource needs."""

from __future__ import annotations

import structlog
from temporalio import activity

from activities.directory import DirectoryActivities
from activities.directory_models import AppRoleInput, GroupMemberInput, SiteAccessInput
from activities.log import context_of_workflow_id
from entitlements.access_changes import GrantCall
from entitlements.catalog import ResourceType
from workflows.activity_calls import GRANT_RESOURCE_ROLE, REVOKE_RESOURCE_ROLE


class AccessGrantActivities:
    def __init__(self, directory: DirectoryActivities) -> None:
        self.directory = directory

    def all(self) -> list:
        return [self.grant_resource_role, self.revoke_resource_role]

    @activity.defn(name=GRANT_RESOURCE_ROLE)
    async def grant_resource_role(self, call: GrantCall) -> None:
        bind_request(call)
        grant, user = call.grant, call.principal_id
        if grant.type == ResourceType.APPLICATION:
            await self.directory.assign_app_role(_app_role(call))
        elif grant.type == ResourceType.SITE:
            await self.directory.grant_site_access(_site(call))
        elif grant.role == "Owner":
            await self.directory.add_group_owner(
                GroupMemberInput(group_id=grant.origin_id, user_id=user)
            )
        else:
            await self.directory.add_group_member(
                GroupMemberInput(group_id=grant.origin_id, user_id=user)
            )

    @activity.defn(name=REVOKE_RESOURCE_ROLE)
    async def revoke_resource_role(self, call: GrantCall) -> None:
        bind_request(call)
        grant, user = call.grant, call.principal_id
        if grant.type == ResourceType.APPLICATION:
            await self.directory.unassign_app_role(_app_role(call))
        elif grant.type == ResourceType.SITE:
            await self.directory.revoke_site_access(_site(call))
        elif grant.role == "Owner":
            await self.directory.remove_group_owner(
                GroupMemberInput(group_id=grant.origin_id, user_id=user)
            )
        else:
            await self.directory.remove_group_member(
                GroupMemberInput(group_id=grant.origin_id, user_id=user)
            )


def bind_request(call: GrantCall) -> None:
    """Run in the user's workflow, the call still logs the request it serves."""
    if call.assignment_id:
        structlog.contextvars.bind_contextvars(
            **context_of_workflow_id(call.assignment_id), resource=call.grant.resource_id
        )


def _app_role(call: GrantCall) -> AppRoleInput:
    return AppRoleInput(
        service_principal_id=call.grant.origin_id,
        app_role_id=call.grant.app_role_id or "00000000-0000-0000-0000-000000000000",
        principal_id=call.principal_id,
    )


def _site(call: GrantCall) -> SiteAccessInput:
    assert call.grant.group_id, "a site grant carries its Microsoft 365 group"
    return SiteAccessInput(
        site_id=call.grant.origin_id,
        group_id=call.grant.group_id,
        user_id=call.principal_id,
        role="Owner" if call.grant.role == "Owner" else "Member",
    )
