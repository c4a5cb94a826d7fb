"""Who may decide, checked inside the workflow on every path a decision can take: the `decide`
Update (refused to the caller, no trace) and the `decision` Signal (logged with who and why,
then ignored), at every stage, after escalation, and for extensions. The requestor never
approves, not even from the approver group nor under another of their names; a guest cannot
extend, remove or cancel anyone else's access."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from entitlements.decisions import CancelInput, DecisionInput
from entitlements.refusals import RequestRefused, Rule
from entitlements.status import ExtensionState, RequestState
from tests.factories import (
    ALICE,
    BOB,
    CAROL,
    DANA,
    FINANCE_APPROVERS,
    FRANK,
    GRACE,
    add_policy,
    example_catalog,
    load,
    policy,
    running_worker,
    simple_policy,
    stage,
)
from tests.waiting import wait_for
from workflows import search_attributes

CAROL_ID = "00000000-0000-4000-8000-0000000ca401"
ALICE_ID = "00000000-0000-4000-8000-0000000a11ce"
APPROVER_GROUP = [{"type": "groupMembers", "groupId": FINANCE_APPROVERS}]  # carol and frank


def waiting_at(number: int, subject: str = "request"):
    return lambda s: s.stage is not None and s.stage.number == number and s.approving == subject


def catalog(*stages, **employees_fields):
    data = example_catalog()
    employees = simple_policy(data, "finance-reports", "employees", *stages)
    employees.update(employees_fields)
    return data


class Deciders:
    """Sends one would-be decision both ways and checks the refusal and that nothing moved."""

    def __init__(self, access, client, request_id: str, caplog) -> None:
        self.access, self.request_id, self.caplog = access, request_id, caplog
        self.handle = client.get_workflow_handle(request_id)

    async def refused(self, approver: str, rule: Rule, decision: str = "approve") -> None:
        before = await self.access.status(self.request_id)
        audit = await self.access.audit(self.request_id)
        with pytest.raises(RequestRefused) as by_update:
            await self.access.decide(self.request_id, approver, decision, "looks fine")
        assert by_update.value.rule == rule, by_update.value

        logged = len(self.refusals_logged())
        signal = DecisionInput(approver=approver, decision=decision, justification="looks fine")
        await self.handle.signal("decision", signal)
        # A refused update after the signal: the worker has handled the signal once it answers.
        with pytest.raises(RequestRefused):
            await self.access.decide(self.request_id, "nobody@contoso.example", decision)
        assert self.refusals_logged()[logged:] == [(approver, rule.value)]
        assert await self.access.status(self.request_id) == before
        assert await self.access.audit(self.request_id) == audit

    def refusals_logged(self) -> list[tuple[str, str]]:
        return [
            (record.approver, record.rule)
            for record in self.caplog.records
            if record.name == "temporalio.workflow"
            and record.getMessage().startswith("decision refused")
        ]


@pytest.fixture
def warnings(caplog):
    caplog.set_level(logging.WARNING, logger="temporalio.workflow")
    return caplog


async def test_the_requestor_in_the_approver_group_never_approves_under_any_name(
    time_env, graph, task_queue, warnings
):
    data = catalog(stage(primaryApprovers=APPROVER_GROUP))
    async with running_worker(time_env.client, graph, load(data), task_queue) as access:
        request_id = await access.request_access("finance-reports", CAROL)
        status = await wait_for(access, request_id, waiting_at(1))
        assert {p.key for p in status.stage.approvers} == {CAROL, FRANK}
        deciders = Deciders(access, time_env.client, request_id, warnings)
        for name in (CAROL, CAROL.upper(), f" {CAROL} ", CAROL_ID):
            await deciders.refused(name, Rule.SELF_APPROVAL)
        await deciders.refused(CAROL, Rule.SELF_APPROVAL, decision="deny")
        await deciders.refused(BOB, Rule.NOT_AN_APPROVER)
        await access.approve(request_id, FRANK)
        done = await wait_for(access, request_id, lambda s: s.state == RequestState.DELIVERED)
        assert [(d.by, d.decision) for d in done.decisions] == [(FRANK, "approve")]


async def test_neither_who_asked_nor_who_receives_approves_even_when_listed(
    time_env, graph, task_queue, warnings
):
    listed = [{"type": "singleUser", "user": who} for who in (BOB, ALICE, DANA)]
    data = catalog(stage(primaryApprovers=listed))
    async with running_worker(time_env.client, graph, load(data), task_queue) as access:
        request_id = await access.request_access("finance-reports", ALICE, requestor=BOB)
        await wait_for(access, request_id, waiting_at(1))
        deciders = Deciders(access, time_env.client, request_id, warnings)
        await deciders.refused(BOB, Rule.SELF_APPROVAL)  # who asked
        await deciders.refused(ALICE_ID, Rule.SELF_APPROVAL)  # who would get the access
        await deciders.refused(GRACE, Rule.NOT_AN_APPROVER)
        await access.approve(request_id, DANA)
        await wait_for(access, request_id, lambda s: s.state == RequestState.DELIVERED)


async def test_after_escalation_the_alternates_decide_but_never_the_requestor(
    time_env, graph, task_queue, warnings
):
    escalating = stage(
        isEscalationEnabled=True,
        durationBeforeEscalation="P2D",
        escalationApprovers=[{"type": "singleUser", "user": w} for w in (ALICE, DANA)],
    )
    async with running_worker(time_env.client, graph, load(catalog(escalating)), task_queue) as a:
        request_id = await a.request_access("finance-reports", ALICE)
        await wait_for(a, request_id, waiting_at(1))
        deciders = Deciders(a, time_env.client, request_id, warnings)
        await deciders.refused(DANA, Rule.NOT_AN_APPROVER)  # not yet: no escalation so far
        await time_env.sleep(timedelta(days=3))
        await wait_for(a, request_id, lambda s: s.stage is not None and s.stage.escalated)
        await deciders.refused(ALICE, Rule.SELF_APPROVAL)  # an alternate, and the requestor
        await a.approve(request_id, DANA)
        await wait_for(a, request_id, lambda s: s.state == RequestState.DELIVERED)


async def test_every_stage_of_a_request_and_of_its_extension_checks_the_approver(
    time_env, graph, task_queue, warnings
):
    first = stage(primaryApprovers=[{"type": "singleUser", "user": CAROL}])
    second = stage(primaryApprovers=APPROVER_GROUP)
    data = catalog(first, second)
    policy(data, "finance-reports", "employees")["requestorSettings"] = {
        "enableTargetsToSelfUpdateAccess": True
    }
    async with running_worker(time_env.client, graph, load(data), task_queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        deciders = Deciders(access, time_env.client, request_id, warnings)
        await wait_for(access, request_id, waiting_at(1))
        await deciders.refused(FRANK, Rule.NOT_AN_APPROVER)  # an approver of stage 2 only
        await access.approve(request_id, CAROL)
        await wait_for(access, request_id, waiting_at(2))
        await deciders.refused(CAROL, Rule.ALREADY_DECIDED)  # one person does not pass two
        await deciders.refused(ALICE, Rule.SELF_APPROVAL)
        await access.approve(request_id, FRANK)
        delivered = await wait_for(access, request_id, lambda s: s.state == "delivered")

        await time_env.sleep(timedelta(days=30))
        await access.extend(request_id, ALICE, justification="project runs on")
        await wait_for(access, request_id, waiting_at(1, "extension"))
        await deciders.refused(ALICE, Rule.SELF_APPROVAL)  # nobody approves their own extension
        await deciders.refused(BOB, Rule.NOT_AN_APPROVER)
        await access.approve(request_id, CAROL)
        await wait_for(access, request_id, waiting_at(2, "extension"))
        await deciders.refused(CAROL, Rule.ALREADY_DECIDED)
        await deciders.refused(ALICE_ID, Rule.SELF_APPROVAL)
        await access.approve(request_id, FRANK)
        extended = await wait_for(
            access, request_id, lambda s: s.extensions[-1].state == ExtensionState.APPROVED
        )
        assert extended.end > delivered.end
        assert [(d.by, d.for_extension) for d in extended.decisions] == [
            (CAROL, False),
            (FRANK, False),
            (CAROL, True),
            (FRANK, True),
        ]


async def test_a_guest_cannot_extend_remove_or_cancel_anyone_elses_access(
    time_env, graph, task_queue
):
    data = catalog(expiration={"type": "afterDuration", "duration": "P30D"})
    own = {"enableTargetsToSelfUpdateAccess": True, "enableTargetsToSelfRemoveAccess": True}
    policy(data, "finance-reports", "employees")["requestorSettings"] = own
    add_policy(
        data, "sales-team", "guests", "allDirectoryUsers",
        expiration={"type": "afterDuration", "duration": "P30D"}, requestorSettings=own,
    )  # fmt: skip
    simple_policy(data, "sales-team", "everyone", stage())  # members wait for carol
    async with running_worker(time_env.client, graph, load(data), task_queue) as access:
        alices = await access.request_access("finance-reports", ALICE)
        graces = await access.request_access("sales-team", GRACE)
        bobs = await access.request_access("sales-team", BOB)  # pending
        for request_id in (alices, graces):
            await wait_for(access, request_id, lambda s: s.state == RequestState.DELIVERED)
        await wait_for(access, bobs, waiting_at(1))
        await time_env.sleep(timedelta(days=10))
        before = {r: await access.status(r) for r in (alices, graces, bobs)}

        attempts = [
            (lambda: access.extend(alices, GRACE), Rule.NOT_TARGET),
            (lambda: access.remove(alices, GRACE, "mine now"), Rule.NOT_REQUESTOR),
            (lambda: access.cancel(bobs, GRACE), Rule.NOT_REQUESTOR),
            (lambda: access.approve(bobs, GRACE), Rule.NOT_AN_APPROVER),
            (lambda: access.extend(graces, ALICE), Rule.NOT_TARGET),  # and the other way round
            (lambda: access.remove(graces, ALICE), Rule.NOT_REQUESTOR),
        ]
        for attempt, rule in attempts:
            with pytest.raises(RequestRefused) as refused:
                await attempt()
            assert refused.value.rule == rule
        await time_env.client.get_workflow_handle(bobs).signal(
            "cancel_request", CancelInput(by=GRACE)
        )
        with pytest.raises(RequestRefused):  # answered after the signal was handled
            await access.cancel(bobs, GRACE)
        assert {r: await access.status(r) for r in before} == before

        # her own access she may extend: the check is who, not what kind of user
        extension = await access.extend(graces, f" {GRACE.upper()} ")
        assert extension.state == ExtensionState.APPROVED


async def test_a_signaled_decision_that_lands_while_approvers_are_looked_up_is_judged_after(
    time_env, graph, task_queue, warnings
):
    """The Signal waits for the stage's approvers as the Update does: it is neither lost nor
    judged against an empty stage."""
    data = catalog(stage(primaryApprovers=APPROVER_GROUP))
    # The approver group's members answer slowly: both signals land during the look-up.
    graph.control.add_fault(
        method="GET", pathRegex=f"/groups/{FINANCE_APPROVERS}/", latencyMs=2000, count=1
    )
    async with running_worker(time_env.client, graph, load(data), task_queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        handle = time_env.client.get_workflow_handle(request_id)
        assert (await access.status(request_id)).stage is None  # still looking them up
        for who in (BOB, FRANK):
            signal = DecisionInput(approver=who, decision="approve", justification="fine")
            await handle.signal("decision", signal)
        done = await wait_for(access, request_id, lambda s: s.state == RequestState.DELIVERED)
        assert [(d.by, d.decision) for d in done.decisions] == [(FRANK, "approve")]
        assert Deciders(access, time_env.client, request_id, warnings).refusals_logged() == [
            (BOB, Rule.NOT_AN_APPROVER.value)
        ]


async def test_the_requestor_in_the_approver_group_is_not_listed_as_a_pending_approver(
    time_env, graph, task_queue
):
    data = catalog(stage(primaryApprovers=APPROVER_GROUP))
    async with running_worker(time_env.client, graph, load(data), task_queue) as access:
        request_id = await access.request_access("finance-reports", CAROL)
        await wait_for(access, request_id, waiting_at(1))
        described = await time_env.client.get_workflow_handle(request_id).describe()
        pending = described.typed_search_attributes.get(search_attributes.PENDING_APPROVERS)
        assert FRANK in pending and CAROL not in pending and CAROL_ID not in pending
