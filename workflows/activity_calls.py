"""How workflows call activities: by name (so no workflow imports msgraph), with retry policies.

Graph throttling (429) and outages (5xx) are retried for as long as they last, at the pace Graph
asks for (the activity sets `next_retry_delay` from Retry-After); permanent errors are raised
non-retryable by the activity and come back here as failures to record.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as CallTimedOut

with workflow.unsafe.imports_passed_through():
    from entitlements.access_changes import AccessChange, ChangeResult, GrantCall
    from entitlements.approvers import ResolveApprovers
    from entitlements.notifications import Notification
    from entitlements.people import Person
    from entitlements.policy import SubjectSet
    from entitlements.requests import AccessRequestInput, ScopeCheck

# Activity names (the activity classes register these names).
GRANT_RESOURCE_ROLE = "grant_resource_role"
REVOKE_RESOURCE_ROLE = "revoke_resource_role"
INVITE_GUEST = "invite_guest"
RESOLVE_APPROVERS = "resolve_approvers"
SUBMIT_ACCESS_CHANGE = "submit_access_change"
APPLY_ACCESS_CHANGE = "apply_access_change"
REPORT_CHANGE_APPLIED = "report_change_applied"
ENSURE_USER_WORKFLOW = "ensure_user_workflow"
SEND_NOTIFICATION = "send_notification"
SET_SIGN_IN_BLOCKED = "set_sign_in_blocked"
DELETE_USER = "delete_user"
FIND_USER = "find_user"
CURRENT_EXTERNAL_USER_SETTINGS = "current_external_user_settings"  # the settings as now
SCOPE_REFUSAL = "policy_scope_refusal"

# Directory writes: retried until Graph answers for good.
DIRECTORY_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)
# Mail is worth a few tries, never worth holding a request up.
MAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=5,
)
CALL_TIMEOUT = timedelta(seconds=30)
# How a failed call surfaces: an activity's failure wrapped in ActivityError, a local activity's
# as the activity's own error (Graph's, mapped to ApplicationError) or a timeout.
CALL_FAILURES = (ActivityError, ApplicationError, CallTimedOut)


async def call(name: str, argument: Any, result_type: type | None = None, **options: Any) -> Any:
    options.setdefault("start_to_close_timeout", CALL_TIMEOUT)
    options.setdefault("retry_policy", DIRECTORY_RETRY)
    return await workflow.execute_activity(name, argument, result_type=result_type, **options)


async def local(name: str, *args: Any, result_type: type | None = None) -> Any:
    """A directory call as a local activity: it runs inside the workflow task that asked for it,
    so it costs no activity task through the server and no further workflow task for its
    answer (delivery latency and revocation lag are the product's promise). Each is one
    idempotent Graph call, so one that runs again after a worker died is harmless."""
    return await workflow.execute_local_activity(
        name,
        args=args,
        result_type=result_type,
        start_to_close_timeout=CALL_TIMEOUT,
        retry_policy=DIRECTORY_RETRY,
    )


async def grant(call_input: GrantCall) -> None:
    await local(GRANT_RESOURCE_ROLE, call_input)


async def revoke(call_input: GrantCall) -> None:
    await local(REVOKE_RESOURCE_ROLE, call_input)


async def ensure_user_workflow(user: Person) -> None:
    """Start the user's workflow while approvers decide, so delivery finds it loaded."""
    await local(ENSURE_USER_WORKFLOW, user)


async def submit_change(change: AccessChange) -> None:
    """Hand a grant or revoke to the user's workflow (signal-with-start, from this worker)."""
    await local(SUBMIT_ACCESS_CHANGE, change)


async def apply_change(change: AccessChange) -> ChangeResult:
    """Have the user's workflow apply a change and wait for its result, in this workflow
    task (an update: no reply signal, no further workflow task)."""
    return await local(APPLY_ACCESS_CHANGE, change, result_type=ChangeResult)


async def report_change_applied(workflow_id: str, result: ChangeResult) -> None:
    """Tell the assignment's workflow how its change went (nothing if it has ended)."""
    await local(REPORT_CHANGE_APPLIED, workflow_id, result)


async def resolve_approvers(
    request: AccessRequestInput, subjects: list[SubjectSet]
) -> list[Person]:
    return await call(
        RESOLVE_APPROVERS,
        ResolveApprovers(
            subjects=subjects,
            requestor=request.requestor,
            connected_organization=request.connected_organization,
        ),
        result_type=list[Person],
    )


async def notify(notification: Notification) -> None:
    """Send a mail; a mail that cannot be sent is logged, never a reason to stop."""
    if not notification.recipients:
        return
    try:
        await call(SEND_NOTIFICATION, notification, retry_policy=MAIL_RETRY)
    except ActivityError:
        workflow.logger.warning("notification not sent", extra={"kind": notification.kind.value})


def scope_check(request: AccessRequestInput, target: Person) -> ScopeCheck:
    return ScopeCheck(package_id=request.package.id, policy=request.policy, target=target)
