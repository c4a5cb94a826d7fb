"""UserAccessWorkflow: every grant and revoke of one user, in order, counted per resource role.

One per directory user (id `user:{objectId}`), started by signal-with-start. A role shared by
two assignments is granted once and revoked when its last holder ends, and because changes are
applied one at a time in arrival order, a grant and a revoke racing each other can never leave
the directory wrong.
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from entitlements.access_changes import (
        AccessChange,
        ChangeKind,
        ChangeResult,
        GrantCall,
        ResourceOutcome,
    )
    from entitlements.people import Person
    from entitlements.requests import ResourceGrant
    from entitlements.status import ResourceState
    from workflows import activity_calls

RECENT_CHANGES_KEPT = 500  # enough to drop a change re-sent after a retry
CONTINUE_AS_NEW_AFTER_EVENTS = 5_000


class UserAccessState(BaseModel):
    user: Person
    managed_guest: bool = False
    holders: dict[str, list[str]] = {}  # role key -> assignment ids that hold it
    grants: dict[str, ResourceGrant] = {}  # role key -> how to revoke it
    queue: list[AccessChange] = []
    recent_change_ids: list[str] = []


class UserAccessView(BaseModel):
    user: Person
    managed_guest: bool
    roles: dict[str, list[str]]  # role label -> assignment ids holding it
    queued_changes: int


def failure_details(error: BaseException) -> tuple[str, str]:
    """Graph's code and message from a failed activity (set by the activity's error mapping)."""
    cause = error.cause if isinstance(error, ActivityError) else error
    if isinstance(cause, ApplicationError):
        details = cause.details[0] if cause.details else {}
        if isinstance(details, dict) and details.get("code"):
            return details["code"], details.get("message", cause.message)
        return cause.type or "Error", cause.message
    return type(cause).__name__, str(cause)


@workflow.defn
class UserAccessWorkflow:
    @workflow.init
    def __init__(self, state: UserAccessState) -> None:
        self.state = state

    @workflow.run
    async def run(self, state: UserAccessState) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self.state.queue))
            while self.state.queue:
                change = self.state.queue[0]
                result = await self._apply(change)
                self.state.queue.pop(0)
                self._remember(change.change_id)
                if change.reply_to:
                    await self._reply(change.reply_to, result)
            if self._history_is_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self.state.queue:
                    workflow.continue_as_new(self.state)

    @workflow.signal
    def change(self, change: AccessChange) -> None:
        seen = change.change_id in self.state.recent_change_ids or any(
            queued.change_id == change.change_id for queued in self.state.queue
        )
        if not seen:
            if change.managed_guest:
                self.state.managed_guest = True
            self.state.queue.append(change)

    @workflow.query
    def view(self) -> UserAccessView:
        roles = {
            self.state.grants[key].label(): holders
            for key, holders in self.state.holders.items()
            if holders
        }
        return UserAccessView(
            user=self.state.user,
            managed_guest=self.state.managed_guest,
            roles=roles,
            queued_changes=len(self.state.queue),
        )

    async def _apply(self, change: AccessChange) -> ChangeResult:
        unique = list({grant.key: grant for grant in change.grants}.values())
        apply = self._grant if change.kind == ChangeKind.GRANT else self._revoke
        outcomes = await asyncio.gather(*(apply(change.assignment_id, g) for g in unique))
        return ChangeResult(change_id=change.change_id, outcomes=list(outcomes))

    async def _grant(self, assignment_id: str, grant: ResourceGrant) -> ResourceOutcome:
        holders = self.state.holders.get(grant.key, [])
        if holders:  # already granted by this or another assignment: no directory call
            if assignment_id not in holders:
                holders.append(assignment_id)
            return self._outcome(grant, ResourceState.DELIVERED)
        try:
            await activity_calls.grant(
                GrantCall(grant=grant, principal_id=self._user_id(), assignment_id=assignment_id)
            )
        except ActivityError as error:
            code, message = failure_details(error)
            return self._outcome(grant, ResourceState.FAILED, code, message, called=True)
        self.state.holders[grant.key] = [*self.state.holders.get(grant.key, []), assignment_id]
        self.state.grants[grant.key] = grant
        return self._outcome(grant, ResourceState.DELIVERED, called=True)

    async def _revoke(self, assignment_id: str, grant: ResourceGrant) -> ResourceOutcome:
        holders = self.state.holders.get(grant.key, [])
        if assignment_id in holders:
            holders.remove(assignment_id)
        if holders:
            return self._outcome(grant, ResourceState.KEPT)
        self.state.holders.pop(grant.key, None)
        self.state.grants.pop(grant.key, None)
        try:
            # Revoked even when this assignment's grant had failed: removal is idempotent, and
            # a role must never outlive its last assignment.
            await activity_calls.revoke(
                GrantCall(grant=grant, principal_id=self._user_id(), assignment_id=assignment_id)
            )
        except ActivityError as error:
            code, message = failure_details(error)
            return self._outcome(grant, ResourceState.FAILED, code, message, called=True)
        return self._outcome(grant, ResourceState.REVOKED, called=True)

    def _outcome(self, grant, state, code=None, message=None, called=False) -> ResourceOutcome:
        return ResourceOutcome(
            resource_id=grant.resource_id,
            role=grant.role,
            state=state,
            error_code=code,
            error_message=message,
            graph_called=called,
        )

    def _user_id(self) -> str:
        assert self.state.user.id is not None
        return self.state.user.id

    async def _reply(self, workflow_id: str, result: ChangeResult) -> None:
        try:
            await workflow.get_external_workflow_handle(workflow_id).signal(
                "change_applied", result
            )
        except Exception:  # noqa: BLE001 - the requester has gone (ended); nothing to tell
            workflow.logger.info("requester gone", extra={"workflow_id": workflow_id})

    def _remember(self, change_id: str) -> None:
        self.state.recent_change_ids.append(change_id)
        del self.state.recent_change_ids[:-RECENT_CHANGES_KEPT]

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > CONTINUE_AS_NEW_AFTER_EVENTS
        )
