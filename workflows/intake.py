"""RequestIntakeWorkflow: checks an ask on the worker (which holds the catalog and the Graph
credentials) and answers with the request's snapshot or the refusal. It starts nothing.

`evaluate_ask` and `check_direct_assignment` are the same checks for other workflows (a bulk
direct assignment checks its administrator once, then each row's ask)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from entitlements.refusals import REFUSAL_ERROR_TYPE
    from entitlements.requests import AccessAsk, AccessRequestInput
    from workflows.activity_calls import CALL_FAILURES, DIRECTORY_RETRY

EVALUATE_ACCESS_ASK = "evaluate_access_ask"
CHECK_DIRECT_ASSIGNMENT = "check_direct_assignment"
INTAKE_DEADLINE = timedelta(minutes=2)  # someone is waiting on the command line


class IntakeOutcome(BaseModel):
    request: AccessRequestInput | None = None
    refusal_rule: str | None = None
    refusal: str | None = None


class DirectAssignmentCheck(BaseModel):
    """May this administrator assign this package directly (under this policy)?"""

    package_id: str
    admin: str
    policy_id: str | None = None


async def evaluate_ask(ask: AccessAsk, deadline: timedelta = INTAKE_DEADLINE) -> IntakeOutcome:
    """The request snapshot or the refusal; a directory that cannot answer by `deadline`
    raises one of CALL_FAILURES."""
    answer = await _checked(EVALUATE_ACCESS_ASK, ask, AccessRequestInput, deadline)
    return answer if isinstance(answer, IntakeOutcome) else IntakeOutcome(request=answer)


async def check_direct_assignment(check: DirectAssignmentCheck) -> IntakeOutcome:
    """No refusal when the administrator may assign the package directly."""
    answer = await _checked(CHECK_DIRECT_ASSIGNMENT, check, str, INTAKE_DEADLINE)
    return answer if isinstance(answer, IntakeOutcome) else IntakeOutcome()


async def _checked(name: str, argument: BaseModel, result_type: type, deadline: timedelta):
    """The activity's answer, or the refusal it raised as an IntakeOutcome. A local activity:
    someone waits for this answer, and it needs no activity task through the server."""
    try:
        return await workflow.execute_local_activity(
            name,
            argument,
            result_type=result_type,
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=deadline,
            retry_policy=DIRECTORY_RETRY,
        )
    except CALL_FAILURES as error:
        cause = error.cause if isinstance(error, ActivityError) else error
        if isinstance(cause, ApplicationError) and cause.type == REFUSAL_ERROR_TYPE:
            rule = cause.details[0] if cause.details else None
            return IntakeOutcome(refusal_rule=rule, refusal=cause.message)
        raise


@workflow.defn
class RequestIntakeWorkflow:
    @workflow.run
    async def run(self, ask: AccessAsk) -> IntakeOutcome:
        return await evaluate_ask(ask)
