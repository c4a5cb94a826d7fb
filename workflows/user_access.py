"""UserAccessWorkflow: every grant and revoke of one user, in order, counted per resource role,
and the lifecycle of a managed guest's account.

One per directory user (id `user:{objectId}`), started by signal-with-start. A role shared by
two assignments is granted once and revoked when its last holder ends, and because changes are
applied one at a time in arrival order, a grant and a revoke racing each other can never leave
the directory wrong.

A guest accessctl invited (or an administrator marked as governed) is managed: when their last
assignment ends, the settings of that moment apply (none, block sign-in, or block and delete
after a while, on a durable timer). Beyond Entra, a new assignment for a blocked guest unblocks
the account first and cancels the pending deletion. Once deleted the workflow ends; a later
request for the same address invites a new guest, with a new object id and a new workflow.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.directory_models import ChangeResult as DirectoryChange
    from activities.directory_models import (
        DirectoryUser,
        FindUserInput,
        SetSignInBlockedInput,
        UserRef,
        person_of,
    )
    from entitlements.access_changes import (
        AccessChange,
        ChangeKind,
        ChangeResult,
        GrantCall,
        ResourceOutcome,
    )
    from entitlements.base import normalise_email
    from entitlements.catalog import ExternalUserLifecycleAction
    from entitlements.guests import ExternalUserSettings, GovernInput, GuestLifecycle
    from entitlements.people import Person
    from entitlements.refusals import REFUSAL_ERROR_TYPE, Rule
    from entitlements.requests import ResourceGrant
    from entitlements.status import ResourceState
    from workflows import activity_calls, search_attributes

RECENT_CHANGES_KEPT = 500  # enough to drop a change re-sent after a retry
RECENT_ANSWERS_KEPT = 50  # answers to `apply_change`, for an update retried after continue-as-new
CONTINUE_AS_NEW_AFTER_EVENTS = 5_000
USER_DELETED = "UserDeleted"  # the error code of a grant that came after the guest's deletion


class UserAccessState(BaseModel):
    user: Person
    managed_guest: bool = False  # invited by accessctl, or marked governed
    governed_by: str | None = None  # the administrator who marked this guest as governed
    holders: dict[str, list[str]] = {}  # role key -> assignment ids that hold it
    grants: dict[str, ResourceGrant] = {}  # role key -> how to revoke it
    queue: list[AccessChange] = []
    recent_change_ids: list[str] = []
    answers: dict[str, ChangeResult] = {}  # change id -> result, for changes sent by update
    live_assignments: list[str] = []  # granted and not yet revoked
    # The guest lifecycle. Times are the workflow's; the deletion timer is re-armed from
    # deletion_due_at after continue-as-new.
    last_assignment_ended: bool = False  # the lifecycle action is due
    last_assignment_ended_at: datetime | None = None
    applied_action: ExternalUserLifecycleAction | None = None
    blocked_since: datetime | None = None
    deletion_due_at: datetime | None = None
    deleted_at: datetime | None = None
    lifecycle_error: str | None = None
    gone: bool = False  # no such user in the directory (marked by a wrong id): the run ends


class UserAccessView(BaseModel):
    user: Person
    managed_guest: bool
    governed_by: str | None = None
    lifecycle: GuestLifecycle
    live_assignments: list[str]
    last_assignment_ended_at: datetime | None = None
    applied_action: ExternalUserLifecycleAction | None = None
    blocked_since: datetime | None = None
    deletion_due_at: datetime | None = None
    deleted_at: datetime | None = None
    lifecycle_error: str | None = None
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


def refused(rule: Rule, message: str) -> ApplicationError:
    return ApplicationError(message, rule.value, type=REFUSAL_ERROR_TYPE, non_retryable=True)


@workflow.defn
class UserAccessWorkflow:
    @workflow.init
    def __init__(self, state: UserAccessState) -> None:
        self.state = state
        self.awaited: set[str] = set()  # changes an `apply_change` handler waits to answer

    @workflow.run
    async def run(self, state: UserAccessState) -> None:
        self._show()
        while True:
            await self._wait_for_work()
            if not self.state.queue and self._deletion_is_due():
                await self._delete()
            while self.state.queue:
                await self._take(self.state.queue[0])
            if self.state.last_assignment_ended and not self.state.queue:
                await self._apply_lifecycle_settings()
            if self._finished() or self._history_is_long():
                # An `apply_change` handler waits for its change: one that arrives meanwhile
                # is taken first, then the handlers finish.
                await workflow.wait_condition(
                    lambda: workflow.all_handlers_finished() or bool(self.state.queue)
                )
                if self.state.queue:
                    continue
                if self._finished():
                    return
                workflow.continue_as_new(self.state)

    async def _wait_for_work(self) -> None:
        """Until a change arrives, or the pending deletion is due (a durable timer)."""
        if self.state.queue or self._deletion_is_due() or self._finished():
            return
        due = self.state.deletion_due_at if self.state.deleted_at is None else None
        try:
            await workflow.wait_condition(
                lambda: bool(self.state.queue) or self.state.gone,
                timeout=max(due - workflow.now(), timedelta(0)) if due else None,
            )
        except TimeoutError:
            pass

    async def _take(self, change: AccessChange) -> None:
        """Apply the first queued change, then tell the requester."""
        state = self.state
        if change.kind == ChangeKind.GRANT and state.deleted_at is None:
            state.last_assignment_ended = False
            state.last_assignment_ended_at = None
            state.applied_action = None
            if change.assignment_id not in state.live_assignments:
                state.live_assignments.append(change.assignment_id)
            if state.blocked_since is not None or state.deletion_due_at is not None:
                await self._unblock()
        result = await self._apply(change)
        if change.kind == ChangeKind.REVOKE:
            if change.assignment_id in state.live_assignments:
                state.live_assignments.remove(change.assignment_id)
            if self._lifecycle() == GuestLifecycle.ACTIVE and self._holds_nothing():
                state.last_assignment_ended = True
                state.last_assignment_ended_at = workflow.now()
        state.queue.pop(0)
        self._remember(change.change_id)
        self._show()
        if change.reply_to:
            await self._reply(change.reply_to, result)
        else:
            state.answers[change.change_id] = result
            for old in list(state.answers)[:-RECENT_ANSWERS_KEPT]:
                if old not in self.awaited:  # its handler has yet to read it
                    del state.answers[old]

    # ---- messages -----------------------------------------------------------------------

    @workflow.signal
    def change(self, change: AccessChange) -> None:
        seen = change.change_id in self.state.recent_change_ids or any(
            queued.change_id == change.change_id for queued in self.state.queue
        )
        if not seen:
            if change.managed_guest:
                self.state.managed_guest = True
            self.state.queue.append(change)

    @workflow.update
    async def apply_change(self, change: AccessChange) -> ChangeResult:
        """Apply a change in its turn and answer with the result: how a request revokes, in
        one step from its own workflow task (a signal and a reply would take two more)."""
        answers = self.state.answers
        if change.change_id in self.state.recent_change_ids and change.change_id not in answers:
            return self._answer_from_holders(change)  # applied long ago: its answer is gone
        if change.change_id not in answers:
            self.awaited.add(change.change_id)
            try:
                self.change(change.model_copy(update={"reply_to": None}))  # answered here
                await workflow.wait_condition(lambda: change.change_id in answers)
            finally:
                self.awaited.discard(change.change_id)
        return answers[change.change_id]

    @apply_change.validator
    def _validate_apply_change(self, change: AccessChange) -> None:
        if change.user.id != self.state.user.id:
            raise refused(
                Rule.UNKNOWN_USER,
                f"a change for user '{change.user.id}' sent to the workflow of '{self._user_id()}'",
            )

    def _answer_from_holders(self, change: AccessChange) -> ChangeResult:
        """A retried revoke whose answer is no longer kept: each role is kept if another
        assignment holds it now, revoked otherwise (its Graph outcome is in the first answer)."""
        outcomes = [
            self._outcome(
                g, ResourceState.KEPT if self.state.holders.get(g.key) else ResourceState.REVOKED
            )
            for g in {grant.key: grant for grant in change.grants}.values()
        ]
        return ChangeResult(change_id=change.change_id, outcomes=outcomes)

    @workflow.update
    async def mark_governed(self, request: GovernInput) -> UserAccessView:
        """An administrator puts an existing guest under accessctl's lifecycle: when their last
        assignment ends (from now on), the external user settings apply to them."""
        found = await activity_calls.call(
            activity_calls.FIND_USER,
            FindUserInput(user_id=self._user_id()),
            result_type=DirectoryUser | None,
        )
        if found is None:
            if self._holds_nothing() and not self.state.queue:
                self.state.gone = True  # started for a wrong id: nothing to keep running for
            raise refused(Rule.UNKNOWN_USER, f"no user '{self._user_id()}' in the directory")
        self.state.user = person_of(found)
        self._show()
        if not found.is_external:
            raise refused(
                Rule.NOT_A_GUEST,
                f"{self.state.user.label()} is a member, not a guest: only external users are "
                "governed by the external user lifecycle",
            )
        settings = await self._current_settings()
        if normalise_email(request.by) not in settings.administrators:
            raise refused(
                Rule.NOT_ADMINISTRATOR,
                f"{request.by} is not an administrator of entitlement management",
            )
        if not self.state.managed_guest:
            self.state.managed_guest = True
            self.state.governed_by = normalise_email(request.by)
            self._show()
        return self.view()

    @mark_governed.validator
    def _validate_mark_governed(self, request: GovernInput) -> None:
        if not request.by.strip():
            raise refused(Rule.NOT_ADMINISTRATOR, "name the administrator who marks the guest")
        if self.state.deleted_at is not None or self.state.gone:
            raise refused(Rule.UNKNOWN_USER, f"the user '{self._user_id()}' is deleted")

    @workflow.query
    def view(self) -> UserAccessView:
        state = self.state
        roles = {
            state.grants[key].label(): holders for key, holders in state.holders.items() if holders
        }
        return UserAccessView(
            user=state.user,
            managed_guest=state.managed_guest,
            governed_by=state.governed_by,
            lifecycle=self._lifecycle(),
            live_assignments=list(state.live_assignments),
            last_assignment_ended_at=state.last_assignment_ended_at,
            applied_action=state.applied_action,
            blocked_since=state.blocked_since,
            deletion_due_at=state.deletion_due_at,
            deleted_at=state.deleted_at,
            lifecycle_error=state.lifecycle_error,
            roles=roles,
            queued_changes=len(state.queue),
        )

    # ---- the guest lifecycle ------------------------------------------------------------

    def _lifecycle(self) -> GuestLifecycle:
        if self.state.deleted_at is not None:
            return GuestLifecycle.DELETED
        if not self.state.managed_guest:
            return GuestLifecycle.NOT_MANAGED
        if self.state.blocked_since is not None:
            return GuestLifecycle.BLOCKED
        return GuestLifecycle.ACTIVE

    def _holds_nothing(self) -> bool:
        return not self.state.live_assignments and not any(self.state.holders.values())

    def _deletion_is_due(self) -> bool:
        due = self.state.deletion_due_at
        return due is not None and self.state.deleted_at is None and workflow.now() >= due

    def _finished(self) -> bool:
        return (self.state.deleted_at is not None or self.state.gone) and not self.state.queue

    async def _current_settings(self) -> ExternalUserSettings:
        # The settings as the worker holds them now, never a request's snapshot.
        return await workflow.execute_activity(
            activity_calls.CURRENT_EXTERNAL_USER_SETTINGS,
            result_type=ExternalUserSettings,
            start_to_close_timeout=activity_calls.CALL_TIMEOUT,
            retry_policy=activity_calls.DIRECTORY_RETRY,
        )

    async def _apply_lifecycle_settings(self) -> None:
        """The managed guest's last assignment has ended: apply the settings of this moment."""
        settings = await self._current_settings()
        if self.state.queue:  # a change arrived meanwhile: it decides whether access ended
            return
        state = self.state
        state.last_assignment_ended = False
        action = settings.external_user_lifecycle_action
        state.applied_action = action
        if action != ExternalUserLifecycleAction.NONE:
            if await self._set_blocked(True):
                state.blocked_since = workflow.now()
                if action == ExternalUserLifecycleAction.BLOCK_SIGN_IN_AND_DELETE:
                    after = settings.duration_until_external_user_deleted_after_blocked
                    state.deletion_due_at = state.blocked_since + after
        workflow.logger.info(
            "last assignment ended", extra={"action": action.value, "user": self._user_id()}
        )
        self._show()

    async def _unblock(self) -> None:
        """A new assignment for a blocked guest: the account comes back, the deletion is off."""
        self.state.deletion_due_at = None
        if self.state.blocked_since is None or await self._set_blocked(False):
            self.state.blocked_since = None
        self._show()

    async def _set_blocked(self, blocked: bool) -> bool:
        try:
            await activity_calls.call(
                activity_calls.SET_SIGN_IN_BLOCKED,
                SetSignInBlockedInput(user_id=self._user_id(), blocked=blocked),
            )
        except ActivityError as error:
            self._lifecycle_failed("blocking" if blocked else "unblocking", error)
            return False
        self.state.lifecycle_error = None
        return True

    async def _delete(self) -> None:
        self.state.deletion_due_at = None
        try:
            await activity_calls.call(
                activity_calls.DELETE_USER,
                UserRef(user_id=self._user_id()),
                result_type=DirectoryChange,
            )
        except ActivityError as error:
            self._lifecycle_failed("deleting", error)
            return
        self.state.lifecycle_error = None
        self.state.deleted_at = workflow.now()
        workflow.logger.info("guest deleted", extra={"user": self._user_id()})
        self._show()

    def _lifecycle_failed(self, doing: str, error: ActivityError) -> None:
        code, message = failure_details(error)
        self.state.lifecycle_error = f"{doing} the account failed: {code}: {message}"
        workflow.logger.warning("guest lifecycle failed", extra={"error": message, "code": code})
        self._show()

    # ---- grants and revocations ---------------------------------------------------------

    async def _apply(self, change: AccessChange) -> ChangeResult:
        unique = list({grant.key: grant for grant in change.grants}.values())
        if self.state.deleted_at is not None:
            return self._after_deletion(change, unique)
        apply = self._grant if change.kind == ChangeKind.GRANT else self._revoke
        outcomes = await asyncio.gather(*(apply(change.assignment_id, g) for g in unique))
        return ChangeResult(change_id=change.change_id, outcomes=list(outcomes))

    def _after_deletion(self, change: AccessChange, grants: list[ResourceGrant]) -> ChangeResult:
        """The guest is deleted: nothing can be granted, and nothing is held to revoke."""
        if change.kind == ChangeKind.REVOKE:
            outcomes = [self._outcome(g, ResourceState.REVOKED) for g in grants]
        else:
            message = "the guest account was deleted after its last assignment ended"
            outcomes = [
                self._outcome(g, ResourceState.FAILED, USER_DELETED, message) for g in grants
            ]
        return ChangeResult(change_id=change.change_id, outcomes=outcomes)

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
        except activity_calls.CALL_FAILURES as error:
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
        except activity_calls.CALL_FAILURES as error:
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
        await activity_calls.report_change_applied(workflow_id, result)

    def _remember(self, change_id: str) -> None:
        self.state.recent_change_ids.append(change_id)
        del self.state.recent_change_ids[:-RECENT_CHANGES_KEPT]

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > CONTINUE_AS_NEW_AFTER_EVENTS
        )

    # ---- what operators see -------------------------------------------------------------

    def _show(self) -> None:
        """TargetUser (the user's address) for `WorkflowType = 'UserAccessWorkflow' AND
        TargetUser = '…'`, and a line for the Temporal UI."""
        target = self.state.user.key
        search_attributes.upsert_changed([search_attributes.TARGET_USER.value_set(target)])
        workflow.set_current_details(self._details())

    def _details(self) -> str:
        state, lifecycle = self.state, self._lifecycle()
        line = f"{lifecycle.value}: {len(state.live_assignments)} live assignment(s)"
        if lifecycle == GuestLifecycle.BLOCKED and state.blocked_since:
            line += f", blocked since {state.blocked_since.isoformat()}"
        if state.deletion_due_at:
            line += f", deletion due at {state.deletion_due_at.isoformat()}"
        if state.deleted_at:
            line += f", deleted at {state.deleted_at.isoformat()}"
        if state.lifecycle_error:
            line += f"; {state.lifecycle_error}"
        return line
