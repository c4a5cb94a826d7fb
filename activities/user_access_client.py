"""Handing a grant or revoke to the user's access workflow (signal-with-start), and its
answer back to the assignment's workflow."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from entitlements.access_changes import AccessChange, ChangeResult
from entitlements.people import Person
from entitlements.requests import user_workflow_id
from workflows import search_attributes
from workflows.activity_calls import (
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
        return [self.submit_access_change, self.ensure_user_workflow, self.report_change_applied]

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

    @activity.defn(name=REPORT_CHANGE_APPLIED)
    async def report_change_applied(self, workflow_id: str, result: ChangeResult) -> None:
        """A result sent twice (a retry) is harmless: the requester keeps it by change id."""
        try:
            await self.client.get_workflow_handle(workflow_id).signal("change_applied", result)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            activity.logger.info("requester gone", extra={"workflow_id": workflow_id})


def _searchable(user: Person) -> TypedSearchAttributes:
    """Set at the start, so the workflow need not upsert it (`WorkflowType = 'UserAccessWorkflow'
    AND TargetUser = '...'` finds it from its first moment)."""
    return TypedSearchAttributes([SearchAttributePair(search_attributes.TARGET_USER, user.key)])
