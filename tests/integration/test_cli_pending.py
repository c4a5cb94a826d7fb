"""`accessctl pending --approver USER`: exactly the requests this person may decide now, from
Temporal visibility, escalation included. `cli-approval` goes to the requestor's manager and,
ESCALATION after the stage starts, to the manager's manager too: alice -> bob, then dana."""

from __future__ import annotations

from entitlements.status import RequestState
from tests.factories import ALICE, BOB, CAROL, DANA
from tests.integration.cli_checks import (
    USER_IDS,
    eventually,
    mail_subjects,
    parsed,
    run_together,
    succeeded,
)
from tests.integration.conftest import Stack
from tests.waiting import wait_for


def pending_lists(stack: Stack, *approvers: str) -> dict[str, set[str]]:
    """`pending --approver A --json` for each approver at once (each is a process of its own),
    as the request ids listed."""
    results = run_together(stack, *(("pending", "--approver", a, "--json") for a in approvers))
    return {a: {row["id"] for row in parsed(r)} for a, r in zip(approvers, results, strict=True)}


async def decidable_by(stack: Stack, person: str) -> set[str]:
    """What `person` may decide now, by asking every pending request itself (its status)."""
    decidable = set()
    for row in await stack.access.list_requests(state="pendingApproval", running_only=True):
        status = await stack.access.status(row["id"])
        if status.stage and any(p.matches(person) for p in status.stage.approvers):
            decidable.add(row["id"])
    return decidable


async def pending_for_shows(stack: Stack, approver: str, request_id: str, shown: bool = True):
    async def probe():
        ids = {row["id"] for row in await stack.access.pending_for(approver)}
        return (request_id in ids) == shown

    await eventually(probe, f"{request_id} {'in' if shown else 'out of'} {approver}'s pending")


async def test_pending_is_exactly_what_each_may_decide_now_escalation_included(stack: Stack):
    request_id = await stack.access.request_access("cli-approval", ALICE)
    status = await wait_for(stack.access, request_id, lambda s: s.stage is not None)
    assert [p.key for p in status.stage.approvers] == [BOB]
    await pending_for_shows(stack, BOB, request_id)

    before = pending_lists(stack, BOB, DANA, CAROL)
    status = await stack.access.status(request_id)
    assert not status.stage.escalated, "escalated before the lists were read: too slow to tell"
    assert request_id in before[BOB]
    assert request_id not in before[DANA] and request_id not in before[CAROL]
    for person, listed in before.items():
        assert listed == await decidable_by(stack, person), person

    # escalated: dana may decide too (and is told), bob still may, carol never
    status = await wait_for(stack.access, request_id, lambda s: s.stage.escalated)
    assert {p.key for p in status.stage.approvers} == {BOB, DANA}
    await pending_for_shows(stack, DANA, request_id)
    after = pending_lists(stack, BOB, DANA, CAROL, USER_IDS[DANA])
    assert request_id in after[BOB] and request_id in after[DANA]
    assert request_id in after[USER_IDS[DANA]]  # an approver named by object id
    assert request_id not in after[CAROL]
    for person in (BOB, DANA, CAROL):
        assert after[person] == await decidable_by(stack, person), person
    assert "Forwarded to you: a request for CLI approval is waiting" in mail_subjects(stack, DANA)

    approved = succeeded(stack.cli("approve", request_id, "--as", DANA))
    assert approved.strip() == f"approved: stage 1 of {request_id} by {DANA}"
    await wait_for(stack.access, request_id, lambda s: s.state == RequestState.DELIVERED)
    await pending_for_shows(stack, BOB, request_id, shown=False)
    assert request_id not in pending_lists(stack, BOB)[BOB]
