"""A client that skips AccessClient's checks (another SDK, a script on the raw Temporal API)
meets the same refusals in the worker: the intake and the request's update validators check
what people typed, and a refused update leaves no trace."""

from __future__ import annotations

import uuid

import pytest
import pytest_asyncio
from hypothesis import given
from hypothesis import strategies as st
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from entitlements.decisions import DecisionInput, ExtendInput, RemoveInput
from entitlements.refusals import REFUSAL_ERROR_TYPE, Rule
from entitlements.requests import AccessAsk, RequestType
from tests.factories import ADMIN, BOB, CAROL, ERIN, FRANK
from tests.hostile import hostile_text
from tests.workflows.bad_input_world import CORPUS, GOOD_ANSWERS, bad_input_world
from workflows.access_request import AccessRequestWorkflow
from workflows.intake import RequestIntakeWorkflow

# Small enough to travel in one Temporal payload: what is refused here is the content.
typed_by_hand = hostile_text.filter(lambda text: len(text) <= 20_000)


@pytest_asyncio.fixture
async def world(time_env, graph, task_queue):
    async with bad_input_world(time_env, graph, task_queue) as built:
        yield built


async def intake_refusal(world, ask: AccessAsk) -> tuple[str | None, str | None]:
    outcome = await world.client.execute_workflow(
        RequestIntakeWorkflow.run, ask, id=f"intake:{uuid.uuid4()}", task_queue=world.task_queue
    )
    return outcome.refusal_rule, outcome.refusal


async def update_refusal(world, request_id: str, update, argument) -> ApplicationError:
    before = await world.snapshot()
    handle = world.client.get_workflow_handle(request_id)
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(update, argument)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == REFUSAL_ERROR_TYPE
    assert await world.snapshot() == before
    return cause


@CORPUS
@given(typed_by_hand, st.sampled_from(["justification", "answer", "admin justification"]))
async def test_the_intake_refuses_hostile_text_whoever_sends_it(world, text, where):
    asks = {
        "justification": AccessAsk(
            package_id="finance-reports", target=BOB, justification=text, answers=GOOD_ANSWERS
        ),
        "answer": AccessAsk(
            package_id="finance-reports", target=BOB, answers={"cost-center": text}
        ),
        "admin justification": AccessAsk(
            package_id="finance-write",
            target=FRANK,
            requestor=ADMIN,
            justification=text,
            request_type=RequestType.ADMIN_ADD,
        ),
    }
    before = await world.snapshot()
    rule, message = await intake_refusal(world, asks[where])
    assert rule == Rule.TEXT_INVALID.value
    field = "the answer to 'cost-center'" if where == "answer" else "the justification"
    assert message.startswith(f"{field} ")
    assert await world.snapshot() == before


@CORPUS
@given(typed_by_hand, st.sampled_from(["decide", "extend"]))
async def test_the_request_refuses_hostile_text_in_a_raw_update(world, text, update):
    if update == "decide":
        refusal = await update_refusal(
            world,
            world.pending,
            AccessRequestWorkflow.decide,
            DecisionInput(approver=CAROL, decision="approve", justification=text),
        )
    else:
        refusal = await update_refusal(
            world,
            world.delivered,
            AccessRequestWorkflow.extend,
            ExtendInput(by=ERIN, justification=text),
        )
    assert refusal.details[0] == Rule.TEXT_INVALID.value
    assert refusal.message.startswith("the justification ")


async def test_the_request_refuses_a_hostile_removal_reason_in_a_raw_update(world):
    await update_refusal(
        world,
        world.delivered,
        AccessRequestWorkflow.remove,
        RemoveInput(by=ADMIN, reason="gone\x1b[2J" + "x" * 5000),
    )
