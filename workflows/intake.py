"""RequestIntakeWorkflow: checks an ask on the worker (which holds the catalog and the Graph
credentials) and answers with the request's snapshot or the refusal. It starts nothing."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from entitlements.refusals import REFUSAL_ERROR_TYPE
    from entitlements.requests import AccessAsk, AccessRequestInput
    from workflows.activity_calls import DIRECTORY_RETRY

EVALUATE_ACCESS_ASK = "evaluate_access_ask"


class IntakeOutcome(BaseModel):
    request: AccessRequestInput | None = None
    refusal_rule: str | None = None
    refusal: str | None = None


@workflow.defn
class RequestIntakeWorkflow:
    @workflow.run
    async def run(self, ask: AccessAsk) -> IntakeOutcome:
        try:
            request = await workflow.execute_activity(
                EVALUATE_ACCESS_ASK,
                ask,
                result_type=AccessRequestInput,
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(minutes=2),
                retry_policy=DIRECTORY_RETRY,
            )
        except ActivityError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.type == REFUSAL_ERROR_TYPE:
                rule = cause.details[0] if cause.details else None
                return IntakeOutcome(refusal_rule=rule, refusal=cause.message)
            raise
        return IntakeOutcome(request=request)
