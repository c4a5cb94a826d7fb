"""Approval, stage by stage, on the time-skipping server with the real activities and emulator."""

from __future__ import annotations

from datetime import timedelta

import pytest

from entitlements.decisions import DecisionInput
from entitlements.refusals import RequestRefused, Rule
from entitlements.status import RequestState
from tests.factories import (
    ALICE,
    BOB,
    CAROL,
    DANA,
    ERIN,
    FINANCE_APPROVERS,
    FINANCE_READ,
    FRANK,
    catalog_with_stages,
    group_members,
    running_worker,
    stage,
)
from tests.waiting import wait_for


async def test_one_stage_approved_delivers_the_package(time_env, graph, task_queue):
    catalog = catalog_with_stages(stage())
    async with running_worker(time_env.client, graph, catalog, task_queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        pending = await wait_for(access, request_id, lambda s: s.stage is not None)
        assert pending.state == RequestState.PENDING_APPROVAL
        assert [p.key for p in pending.stage.approvers] == [CAROL]
        decision = await access.approve(request_id, CAROL, "quarter close")
        assert decision.by == CAROL
        done = await wait_for(access, request_id, lambda s: s.state == RequestState.DELIVERED)
        assert ALICE in group_members(graph, FINANCE_READ)
        assert [(d.by, d.decision, d.justification) for d in done.decisions] == [
            (CAROL, "approve", "quarter close")
        ]


def pending(status) -> bool:
    return status.stage is not None


async def test_deny_at_stage_two_of_two_ends_the_request_and_grants_nothing(
    time_env, graph, task_queue
):
    catalog = catalog_with_stages(
        stage(), stage(primaryApprovers=[{"type": "singleUser", "user": DANA}])
    )
    async with running_worker(time_env.client, graph, catalog, task_queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        await wait_for(access, request_id, pending)
        await access.approve(request_id, CAROL)
        second = await wait_for(access, request_id, lambda s: pending(s) and s.stage.number == 2)
        assert [p.key for p in second.stage.approvers] == [DANA]
        await access.deny(request_id, DANA, "not needed")
        final = await access.wait(request_id)
        assert final.state == RequestState.DENIED
        assert final.denial_reason == f"denied by {DANA} at stage 2"
        assert [(d.stage, d.by, d.decision) for d in final.decisions] == [
            (1, CAROL, "approve"),
            (2, DANA, "deny"),
        ]
        assert ALICE not in group_members(graph, FINANCE_READ)
        outcome_mail = graph.control.outbox(to=ALICE)
        assert any("Denied" in mail["subject"] for mail in outcome_mail)


def escalating_stage(**overrides):
    return stage(
        primaryApprovers=[{"type": "requestorManager", "managerLevel": 1}],
        isEscalationEnabled=True,
        durationBeforeEscalation="P2D",
        durationBeforeAutomaticDenial="P7D",
        escalationApprovers=[{"type": "singleUser", "user": CAROL}],
        **overrides,
    )


async def test_escalation_forwards_to_the_alternate_who_approves(time_env, graph, task_queue):
    catalog = catalog_with_stages(escalating_stage())
    async with running_worker(time_env.client, graph, catalog, task_queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        before = await wait_for(access, request_id, pending)
        assert [p.key for p in before.stage.approvers] == [BOB]  # alice's manager
        with pytest.raises(RequestRefused) as early:
            await access.approve(request_id, CAROL)
        assert early.value.rule == Rule.NOT_AN_APPROVER
        await time_env.sleep(timedelta(days=2, minutes=1))
        after = await wait_for(access, request_id, lambda s: s.stage and s.stage.escalated)
        assert {p.key for p in after.stage.approvers} == {BOB, CAROL}
        assert any("Forwarded" in m["subject"] for m in graph.control.outbox(to=CAROL))
        await access.approve(request_id, CAROL)
        done = await wait_for(access, request_id, lambda s: s.state == RequestState.DELIVERED)
        assert done.decisions[0].by == CAROL


async def test_the_primary_can_still_approve_after_escalation(time_env, graph, task_queue):
    catalog = catalog_with_stages(escalating_stage())
    async with running_worker(time_env.client, graph, catalog, task_queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        await wait_for(access, request_id, pending)
        await time_env.sleep(timedelta(days=3))
        await wait_for(access, request_id, lambda s: s.stage and s.stage.escalated)
        await access.approve(request_id, BOB)
        done = await wait_for(access, request_id, lambda s: s.state == RequestState.DELIVERED)
        assert done.decisions[0].by == BOB


async def test_silence_until_the_deadline_denies_and_tells_everyone(time_env, graph, task_queue):
    catalog = catalog_with_stages(escalating_stage())
    async with running_worker(time_env.client, graph, catalog, task_queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        await wait_for(access, request_id, pending)
        await time_env.sleep(timedelta(days=7, minutes=1))
        final = await wait_for(access, request_id, lambda s: s.state == RequestState.DENIED)
        assert final.denial_reason.startswith("timed out")
        assert final.decisions == []
        for person in (ALICE, BOB, CAROL):
            assert any("Expired" in m["subject"] for m in graph.control.outbox(to=person)), person
        with pytest.raises(RequestRefused) as late:
            await access.approve(request_id, BOB)
        assert late.value.rule == Rule.NOT_PENDING


async def test_no_manager_means_the_fallback_approvers_decide(time_env, graph, task_queue):
    catalog = catalog_with_stages(
        stage(
            primaryApprovers=[{"type": "requestorManager", "managerLevel": 1}],
            fallbackPrimaryApprovers=[{"type": "groupMembers", "groupId": FINANCE_APPROVERS}],
        )
    )
    async with running_worker(time_env.client, graph, catalog, task_queue) as access:
        request_id = await access.request_access("finance-reports", ERIN)  # erin has no manager
        status = await wait_for(access, request_id, pending)
        assert {p.key for p in status.stage.approvers} == {CAROL, FRANK}
        await access.approve(request_id, FRANK)
        await wait_for(access, request_id, lambda s: s.state == RequestState.DELIVERED)
        assert ERIN in group_members(graph, FINANCE_READ)


async def test_second_level_manager_approves(time_env, graph, task_queue):
    catalog = catalog_with_stages(
        stage(primaryApprovers=[{"type": "requestorManager", "managerLevel": 2}])
    )
    async with running_worker(time_env.client, graph, catalog, task_queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        status = await wait_for(access, request_id, pending)
        assert [p.key for p in status.stage.approvers] == [DANA]


async def test_refused_decisions_leave_the_request_as_it_was(time_env, graph, task_queue):
    catalog = catalog_with_stages(
        stage(
            primaryApprovers=[
                {"type": "singleUser", "user": ALICE},  # listed, but she is the requestor
                {"type": "singleUser", "user": CAROL},
            ],
            isApproverJustificationRequired=True,
        )
    )
    async with running_worker(time_env.client, graph, catalog, task_queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        before = await wait_for(access, request_id, pending)
        refusals = [
            (ALICE, "I need it", Rule.SELF_APPROVAL),
            (DANA, "ok", Rule.NOT_AN_APPROVER),
            (CAROL, None, Rule.JUSTIFICATION_REQUIRED),
            (CAROL, "   ", Rule.JUSTIFICATION_REQUIRED),
        ]
        for approver, justification, rule in refusals:
            with pytest.raises(RequestRefused) as refused:
                await access.approve(request_id, approver, justification)
            assert refused.value.rule == rule, approver
        # by object id too: the requestor cannot approve under another name
        with pytest.raises(RequestRefused) as by_id:
            await access.approve(request_id, before.requestor.id, "me")
        assert by_id.value.rule == Rule.SELF_APPROVAL
        after = await access.status(request_id)
        assert after == before
        await access.approve(request_id, "CAROL@contoso.example", "checked the cost center")
        done = await wait_for(access, request_id, lambda s: s.state == RequestState.DELIVERED)
        assert done.decisions[0].by == CAROL
        with pytest.raises(RequestRefused) as twice:
            await access.approve(request_id, CAROL, "again")
        assert twice.value.rule == Rule.NOT_PENDING


async def test_a_refused_signal_is_ignored_and_a_valid_one_decides(time_env, graph, task_queue):
    catalog = catalog_with_stages(stage())
    async with running_worker(time_env.client, graph, catalog, task_queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        before = await wait_for(access, request_id, pending)
        handle = time_env.client.get_workflow_handle(request_id)
        await handle.signal("decision", DecisionInput(approver=DANA, decision="approve"))
        await handle.signal("decision", DecisionInput(approver=ALICE, decision="approve"))
        assert await access.status(request_id) == before
        await handle.signal("decision", DecisionInput(approver=CAROL, decision="deny"))
        final = await access.wait(request_id)
        assert final.state == RequestState.DENIED
        assert [d.by for d in final.decisions] == [CAROL]


async def test_the_requestor_cancels_while_pending(time_env, graph, task_queue):
    catalog = catalog_with_stages(stage())
    async with running_worker(time_env.client, graph, catalog, task_queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        await wait_for(access, request_id, pending)
        with pytest.raises(RequestRefused) as not_theirs:
            await access.cancel(request_id, BOB)
        assert not_theirs.value.rule == Rule.NOT_REQUESTOR
        await access.cancel(request_id, ALICE)
        final = await access.wait(request_id)
        assert final.state == RequestState.CANCELED
        assert final.ended_by == ALICE
        with pytest.raises(RequestRefused) as late:
            await access.approve(request_id, CAROL)
        assert late.value.rule == Rule.NOT_PENDING
        # a new request after the first ended is allowed
        again = await access.request_access("finance-reports", ALICE)
        assert again == request_id
        assert (await wait_for(access, again, pending)).state == RequestState.PENDING_APPROVAL
