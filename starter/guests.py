"""Guests, from the client side: the lifecycle state of a user's account, and marking an
existing guest as governed by accessctl.

A user's access workflow is `user:{objectId}`; it upserts TargetUser (the user's address), so
a user is found by address with one visibility query:
`WorkflowType = 'UserAccessWorkflow' AND TargetUser = 'ann@fabrikam-partners.example'`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.temporal_client import user_task_queue
from entitlements.base import normalise_email
from entitlements.guests import GovernInput, GuestLifecycle
from entitlements.people import Person
from entitlements.refusals import REFUSAL_ERROR_TYPE, RequestRefused, Rule
from entitlements.requests import user_workflow_id
from workflows import search_attributes
from workflows.user_access import UserAccessState, UserAccessView, UserAccessWorkflow

USER_WORKFLOW_PREFIX = user_workflow_id("")
NEVER = datetime.min.replace(tzinfo=UTC)


def user_workflow_query(address: str) -> str:
    """The visibility query for a user's access workflows, by the user's address."""
    address = normalise_email(address)
    if "'" in address or "\\" in address:
        raise RequestRefused(Rule.INVALID_EMAIL, f"not an address: {address!r}")
    return (
        f"WorkflowType = '{UserAccessWorkflow.__name__}' AND "
        f"{search_attributes.TARGET_USER.name} = '{address}'"
    )


async def find_user_workflow(client: Client, user: str) -> str | None:
    """The id of the user's access workflow, by object id or by address; None when accessctl
    has no workflow for them. By address: the running one, else the latest (a deleted guest's
    workflow has ended; the address invited again has a new object id and a new workflow)."""
    user = user.strip()
    if "@" not in user:
        workflow_id = user_workflow_id(user)
        try:
            await client.get_workflow_handle(workflow_id).describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return None
            raise
        return workflow_id
    found = [execution async for execution in client.list_workflows(user_workflow_query(user))]
    if not found:
        return None
    return max(
        found,
        key=lambda e: (e.status == WorkflowExecutionStatus.RUNNING, e.start_time or NEVER),
    ).id


def object_id_of(workflow_id: str) -> str:
    return workflow_id.removeprefix(USER_WORKFLOW_PREFIX)


async def guest_status(client: Client, user: str) -> UserAccessView:
    """The lifecycle of a user's account as accessctl manages it (active, blocked, deleted or
    not managed), with the assignments still live, when the account was blocked and when it
    is due for deletion. `user`: an object id or an address."""
    workflow_id = await find_user_workflow(client, user)
    if workflow_id is None:
        raise RequestRefused(
            Rule.UNKNOWN_USER, f"accessctl has never granted or governed anything for {user}"
        )
    return await _handle(client, workflow_id).query(UserAccessWorkflow.view)


async def mark_governed(client: Client, task_queue: str, user: str, admin: str) -> UserAccessView:
    """An administrator marks an existing guest as governed: when their last assignment ends,
    the external user lifecycle settings apply to them as to guests accessctl invited.

    `user`: the guest's object id (or an address accessctl already knows). Refused with
    `RequestRefused` when `admin` is not an administrator, the user is not a guest, or unknown.
    """
    workflow_id = await find_user_workflow(client, user)
    if workflow_id is None and "@" in user:
        raise RequestRefused(
            Rule.UNKNOWN_USER,
            f"accessctl has no record of {user}: give the guest's object id instead",
        )
    object_id = object_id_of(workflow_id) if workflow_id else user.strip()
    workflow_id = user_workflow_id(object_id)
    await _refuse_if_deleted(client, workflow_id)
    start = WithStartWorkflowOperation(
        UserAccessWorkflow.run,
        # Who the user is gets read from the directory by the update.
        UserAccessState(user=Person(email=object_id, id=object_id)),
        id=workflow_id,
        task_queue=user_task_queue(task_queue),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary=f"Access of {object_id}",
    )
    try:
        return await client.execute_update_with_start_workflow(
            UserAccessWorkflow.mark_governed, GovernInput(by=admin), start_workflow_operation=start
        )
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        if isinstance(cause, ApplicationError) and cause.type == REFUSAL_ERROR_TYPE:
            rule = cause.details[0] if cause.details else None
            raise RequestRefused(_rule(rule), cause.message) from None
        raise


async def _refuse_if_deleted(client: Client, workflow_id: str) -> None:
    """A deleted guest's workflow has ended; update-with-start would start a new one."""
    handle = _handle(client, workflow_id)
    try:
        described = await handle.describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return
        raise
    if described.status == WorkflowExecutionStatus.RUNNING:
        return
    view = await handle.query(UserAccessWorkflow.view)
    if view.lifecycle == GuestLifecycle.DELETED:
        raise RequestRefused(
            Rule.UNKNOWN_USER,
            f"{view.user.label()} was deleted at {view.deleted_at:%Y-%m-%d %H:%M} UTC",
        )


def _handle(client: Client, workflow_id: str) -> WorkflowHandle:
    return client.get_workflow_handle_for(UserAccessWorkflow.run, workflow_id)


def _rule(value: object) -> Rule:
    try:
        return Rule(value)
    except ValueError:
        return Rule.NOT_PENDING


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


def status_lines(view: UserAccessView) -> list[str]:
    """`accessctl guest status USER`, as it reads in a terminal."""
    lines = [
        f"{view.user.label()}  ({view.user.id})",
        f"  lifecycle        {view.lifecycle.value}",
    ]
    if view.governed_by:
        lines.append(f"  governed by      {view.governed_by}")
    lines.append(f"  live assignments {', '.join(view.live_assignments) or '-'}")
    if view.last_assignment_ended_at:
        action = view.applied_action.value if view.applied_action else "pending"
        lines.append(f"  last ended       {_when(view.last_assignment_ended_at)} ({action})")
    if view.blocked_since:
        lines.append(f"  blocked since    {_when(view.blocked_since)}")
    if view.deletion_due_at:
        lines.append(f"  deletion due at  {_when(view.deletion_due_at)}")
    if view.deleted_at:
        lines.append(f"  deleted at       {_when(view.deleted_at)}")
    if view.lifecycle_error:
        lines.append(f"  error            {view.lifecycle_error}")
    return lines
