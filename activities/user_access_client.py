"""Handing a grant to the user's access workflow (signal-with-start) and its answer back to the
assignment's workflow; a revoke as an update that answers when it is applied."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from entitlements.access_changes import AccessChange, ChangeKind, ChangeResult, ResourceOutcome
from entitlements.people import Person
from entitlements.refusals import REFUSAL_ERROR_TYPE
from entitlements.requests import user_workflow_id
from entitlements.status import ResourceState
from workflows import search_attributes
from workflows.activity_calls import (
    APPLY_ACCESS_CHANGE,
    ENSURE_USER_WORKFLOW,
    REPORT_CHANGE_APPLIED,
    SUBMIT_ACCESS_CHANGE,
)
from workflows.user_access import UserAccessState, UserAccessWorkflow


class UserAccessActivities:
    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue

    def all(self) -> list:
        return [
            self.submit_access_change,
            self.apply_access_change,
            self.ensure_user_workflow,
            self.report_change_applied,
        ]

    @activity.defn(name=ENSURE_USER_WORKFLOW)
    async def ensure_user_workflow(self, user: Person) -> None:
        """Start the user's workflow ahead of delivery (it may already run), so that delivery
        is one signal from the request's workflow to a warm one."""
        assert user.id, "only a directory user has an access workflow"
        await self.client.start_workflow(
            UserAccessWorkflow.run,
            UserAccessState(user=user),
            id=user_workflow_id(user.id),
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"Access of {user.label()}",
            search_attributes=_searchable(user),
        )

    @activity.defn(name=SUBMIT_ACCESS_CHANGE)
    async def submit_access_change(self, change: AccessChange) -> None:
        """Idempotent: the user workflow drops a change id it has seen, so a retry is safe."""
        assert change.user.id, "only a directory user has an access workflow"
        await self.client.start_workflow(
            UserAccessWorkflow.run,
            UserAccessState(user=change.user, managed_guest=change.managed_guest),
            id=user_workflow_id(change.user.id),
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal="change",
            start_signal_args=[change],
            static_summary=f"Access of {change.user.label()}",
            search_attributes=_searchable(change.user),
        )

    @activity.defn(name=APPLY_ACCESS_CHANGE)
    async def apply_access_change(self, change: AccessChange) -> ChangeResult:
        """The change applied by the user's workflow, and its result. Idempotent: the update id
        is the change id, so a retry joins the same update or gets its kept answer."""
        assert change.user.id, "only a directory user has an access workflow"
        handle = self.client.get_workflow_handle(user_workflow_id(change.user.id))
        try:
            return await self._apply(handle, change)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
        if change.kind == ChangeKind.REVOKE and await _completed(handle):
            # The user's workflow completes only once the guest is deleted (or its id named
            # nobody): no account, so no role left to remove.
            return ChangeResult(
                change_id=change.change_id,
                outcomes=[
                    ResourceOutcome(
                        resource_id=g.resource_id, role=g.role, state=ResourceState.REVOKED
                    )
                    for g in {grant.key: grant for grant in change.grants}.values()
                ],
            )
        # Never started, or stopped by hand (terminated, failed): a new run takes the change,
        # and Graph's "not found" on removal makes a revoke of nothing a success.
        await self.client.start_workflow(
            UserAccessWorkflow.run,
            UserAccessState(user=change.user, managed_guest=change.managed_guest),
            id=handle.id,
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"Access of {change.user.label()}",
            search_attributes=_searchable(change.user),
        )
        return await self._apply(handle, change)

    async def _apply(self, handle, change: AccessChange) -> ChangeResult:
        try:
            return await handle.execute_update(
                UserAccessWorkflow.apply_change, change, id=change.change_id
            )
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.type == REFUSAL_ERROR_TYPE:
                # refused by the validator: for good
                raise ApplicationError(
                    cause.message, type="ChangeRefused", non_retryable=True
                ) from error
            raise  # the run closed before answering: retried, and a new run answers

    @activity.defn(name=REPORT_CHANGE_APPLIED)
    async def report_change_applied(self, workflow_id: str, result: ChangeResult) -> None:
        """A result sent twice (a retry) is harmless: the requester keeps it by change id."""
        try:
            await self.client.get_workflow_handle(workflow_id).signal("change_applied", result)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            activity.logger.info("requester gone", extra={"workflow_id": workflow_id})


async def _completed(handle) -> bool:
    try:
        return (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise


def _searchable(user: Person) -> TypedSearchAttributes:
    """Set at the start, so the workflow need not upsert it (`WorkflowType = 'UserAccessWorkflow'
    AND TargetUser = '...'` finds it from its first moment)."""
    return TypedSearchAttributes([SearchAttributePair(search_attributes.TARGET_USER, user.key)])
