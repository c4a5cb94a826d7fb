"""The life of an assignment on the time-skipping server: expiry to the second, reminders,
extension, removal, scheduled starts, direct assignment, and bounded history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from entitlements.refusals import RequestRefused, Rule
from entitlements.status import ExtensionState, RequestState
from starter.client import AccessClient
from tests.factories import (
    ADMIN,
    ALICE,
    BOB,
    CAROL,
    FINANCE_READ,
    example_catalog,
    group_members,
    load,
    running_worker,
    simple_policy,
    stage,
)
from tests.waiting import wait_for


def delivered(status) -> bool:
    return status.state == RequestState.DELIVERED


def catalog(duration="P14D", *stages, **policy_fields):
    """finance-reports for members: `duration` long, self-extend and self-remove allowed."""
    data = example_catalog()
    chosen = simple_policy(data, "finance-reports", "employees", *stages)
    chosen["expiration"] = {"type": "afterDuration", "duration": duration}
    chosen["requestorSettings"] = {
        "enableTargetsToSelfUpdateAccess": True,
        "enableTargetsToSelfRemoveAccess": True,
        "allowCustomAssignmentSchedule": True,
    }
    chosen.update(policy_fields)
    return load(data)


async def test_a_p14d_assignment_expires_on_day_14_and_the_membership_goes(
    time_env, graph, task_queue
):
    async with running_worker(time_env.client, graph, catalog("P14D"), task_queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        status = await wait_for(access, request_id, delivered)
        assert status.end - status.start == timedelta(days=14)
        assert ALICE in group_members(graph, FINANCE_READ)
        await time_env.sleep(timedelta(days=13, hours=23))
        assert (await access.status(request_id)).state == RequestState.DELIVERED
        assert ALICE in group_members(graph, FINANCE_READ)
        await time_env.sleep(timedelta(hours=1, minutes=1))
        final = await wait_for(access, request_id, lambda s: s.state == RequestState.EXPIRED)
        assert ALICE not in group_members(graph, FINANCE_READ)
        assert final.ended_by == "system"
        assert final.ended_at - status.end < timedelta(minutes=2)
        assert any("has ended" in m["subject"] for m in graph.control.outbox(to=ALICE))


async def test_reminders_come_14_days_and_1_day_before_the_end(time_env, graph, task_queue):
    async with running_worker(time_env.client, graph, catalog("P15D"), task_queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        start = (await wait_for(access, request_id, delivered)).start

        def reminders():
            return [m for m in graph.control.outbox(to=ALICE) if "ends on" in m["subject"]]

        await time_env.sleep(timedelta(hours=23))
        assert reminders() == []
        await time_env.sleep(timedelta(hours=2))  # day 1: 14 days before the end
        status = await wait_for(access, request_id, lambda s: len(s.reminders) == 1)
        assert status.reminders[0].before_end == "14 days"
        assert status.reminders[0].due_at == start + timedelta(days=1)
        await time_env.sleep(timedelta(days=13))  # day 14: 1 day before the end
        status = await wait_for(access, request_id, lambda s: len(s.reminders) == 2)
        assert [r.before_end for r in status.reminders] == ["14 days", "1 day"]
        assert len(reminders()) == 2
        assert "accessctl extend" in reminders()[0]["body"]


async def test_no_reminders_when_extension_is_not_allowed(time_env, graph, task_queue):
    data = example_catalog()
    chosen = simple_policy(data, "finance-reports", "employees")
    chosen["expiration"] = {"type": "afterDuration", "duration": "P15D"}
    chosen["requestorSettings"] = {"enableTargetsToSelfUpdateAccess": False}
    async with running_worker(time_env.client, graph, load(data), task_queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        await wait_for(access, request_id, delivered)
        await time_env.sleep(timedelta(days=14, hours=1))
        status = await access.status(request_id)
        assert status.reminders == []
        with pytest.raises(RequestRefused) as refused:
            await access.extend(request_id, ALICE)
        assert refused.value.rule == Rule.EXTENSION_NOT_ALLOWED


async def test_an_approved_extension_moves_the_end_and_never_past_the_policy_end_date(
    time_env, graph, task_queue
):
    now = await time_env.get_current_time()
    hard_end = now + timedelta(days=45)
    policy_catalog = catalog(
        "P30D",
        stage(),  # carol approves requests and extensions
        expiration={
            "type": "afterDuration",
            "duration": "P30D",
            "endDateTime": hard_end.isoformat(),
        },
    )
    async with running_worker(time_env.client, graph, policy_catalog, task_queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        await wait_for(access, request_id, lambda s: s.stage is not None)
        await access.approve(request_id, CAROL)
        first = await wait_for(access, request_id, delivered)
        await time_env.sleep(timedelta(days=25))

        with pytest.raises(RequestRefused) as not_theirs:
            await access.extend(request_id, BOB)
        assert not_theirs.value.rule == Rule.NOT_TARGET

        asked = await access.extend(request_id, ALICE, justification="project runs on")
        assert asked.state == ExtensionState.PENDING_APPROVAL
        assert asked.new_end == hard_end  # 30 days from now, capped by the policy's end date
        pending = await wait_for(access, request_id, lambda s: s.stage is not None)
        assert pending.approving == "extension"
        assert pending.end == first.end  # unchanged until approved
        with pytest.raises(RequestRefused) as twice:
            await access.extend(request_id, ALICE)
        assert twice.value.rule == Rule.EXTENSION_PENDING
        await access.approve(request_id, CAROL)
        extended = await wait_for(access, request_id, lambda s: s.end == hard_end)
        assert extended.extensions[-1].state == ExtensionState.APPROVED
        assert extended.state == RequestState.DELIVERED

        with pytest.raises(RequestRefused) as past:
            await access.extend(request_id, ALICE)
        assert past.value.rule == Rule.SCHEDULE_INVALID
        assert hard_end.date().isoformat() in past.value.message

        # the old end passes; access lasts until the new one
        await time_env.sleep(timedelta(days=6))
        assert (await access.status(request_id)).state == RequestState.DELIVERED
        await time_env.sleep(timedelta(days=15))
        await wait_for(access, request_id, lambda s: s.state == RequestState.EXPIRED)
        assert ALICE not in group_members(graph, FINANCE_READ)


async def test_a_denied_extension_leaves_the_end_as_it_was(time_env, graph, task_queue):
    async with running_worker(
        time_env.client, graph, catalog("P30D", stage()), task_queue
    ) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        await wait_for(access, request_id, lambda s: s.stage is not None)
        await access.approve(request_id, CAROL)
        first = await wait_for(access, request_id, delivered)
        await access.extend(request_id, ALICE)
        await wait_for(access, request_id, lambda s: s.stage is not None)
        await access.deny(request_id, CAROL, "project over")
        after = await wait_for(
            access, request_id, lambda s: s.extensions[-1].state == ExtensionState.DENIED
        )
        assert after.end == first.end
        assert after.state == RequestState.DELIVERED


async def test_the_user_and_an_administrator_remove_access_and_others_cannot(
    time_env, graph, task_queue
):
    async with running_worker(time_env.client, graph, catalog("P30D"), task_queue) as access:
        mine = await access.request_access("finance-reports", ALICE)
        await wait_for(access, mine, delivered)
        with pytest.raises(RequestRefused) as refused:
            await access.remove(mine, BOB, "not his to remove")
        assert refused.value.rule == Rule.NOT_REQUESTOR
        await access.remove(mine, ALICE, "done with it")
        final = await wait_for(access, mine, lambda s: s.state == RequestState.REMOVED)
        assert (final.ended_by, final.end_reason) == (ALICE, "done with it")
        assert ALICE not in group_members(graph, FINANCE_READ)

        again = await access.request_access("finance-reports", ALICE)
        await wait_for(access, again, delivered)
        await access.remove(again, ADMIN, "left the team")
        final = await wait_for(access, again, lambda s: s.state == RequestState.REMOVED)
        assert final.ended_by == ADMIN
        events = [e.event for e in await access.audit(again)]
        assert events[0] == "request.submitted"
        assert "assignment.delivered" in events and events[-1] == "assignment.removed"


async def test_a_future_start_waits_scheduled_and_delivers_at_the_start(
    time_env, graph, task_queue
):
    async with running_worker(time_env.client, graph, catalog("P30D"), task_queue) as access:
        now = await time_env.get_current_time()
        start, end = now + timedelta(days=3), now + timedelta(days=10)
        request_id = await access.request_access("finance-reports", ALICE, start=start, end=end)
        status = await wait_for(access, request_id, lambda s: s.state == RequestState.SCHEDULED)
        assert status.end == end
        assert ALICE not in group_members(graph, FINANCE_READ)
        await time_env.sleep(timedelta(days=3, minutes=1))
        status = await wait_for(access, request_id, delivered)
        assert status.start - start < timedelta(minutes=2)
        assert ALICE in group_members(graph, FINANCE_READ)
        await time_env.sleep(timedelta(days=7))
        await wait_for(access, request_id, lambda s: s.state == RequestState.EXPIRED)


async def test_direct_assignment_skips_approval_and_sends_no_completion_mail(
    time_env, graph, task_queue
):
    async with running_worker(
        time_env.client, graph, catalog("P30D", stage()), task_queue
    ) as access:
        now = await time_env.get_current_time()
        with pytest.raises(RequestRefused) as past_policy:
            await access.assign(
                "finance-reports",
                ALICE,
                admin=ADMIN,
                policy="employees",
                end=now + timedelta(days=40),
            )
        assert past_policy.value.rule == Rule.SCHEDULE_INVALID
        request_id = await access.assign(
            "finance-reports", ALICE, admin=ADMIN, policy="employees", end=now + timedelta(days=5)
        )
        status = await wait_for(access, request_id, delivered)
        assert status.request_type == "adminAdd"
        assert status.decisions == []
        assert status.end == now + timedelta(days=5)
        assert not any(
            "You now have access" in m["subject"] for m in graph.control.outbox(to=ALICE)
        )


class ShortHistoryClient(AccessClient):
    """Starts requests whose runs hand over after a few dozen events, to prove the hand-over."""

    async def _start(self, request):
        return await super()._start(request.model_copy(update={"history_limit": 60}))


async def test_a_year_with_four_extensions_continues_as_new_and_keeps_its_record(
    time_env, graph, task_queue
):
    async with running_worker(time_env.client, graph, catalog("P90D"), task_queue) as plain:
        access = ShortHistoryClient(plain.client, task_queue)
        request_id = await access.request_access("finance-reports", ALICE)
        await wait_for(access, request_id, delivered)
        for _ in range(4):
            await time_env.sleep(timedelta(days=80))
            before = await access.status(request_id)
            await access.extend(request_id, ALICE)
            await wait_for(access, request_id, lambda s, b=before: s.end > b.end)
        status = await access.status(request_id)
        assert [e.state for e in status.extensions] == [ExtensionState.APPROVED] * 4
        # each end came within 14 days before it was extended: one reminder each
        assert [r.before_end for r in status.reminders] == ["14 days"] * 4
        lengths = await history_lengths(time_env.client, request_id)
        assert len(lengths) > 1, "the assignment continued as new"
        assert max(lengths) < 2_000
        await time_env.sleep(timedelta(days=91))
        final = await wait_for(access, request_id, lambda s: s.state == RequestState.EXPIRED)
        assert len(final.extensions) == 4
        assert [r.before_end for r in final.reminders][-2:] == ["14 days", "1 day"]
        assert ALICE not in group_members(graph, FINANCE_READ)
        events = [e.event for e in await access.audit(request_id)]
        assert events.count("assignment.extended") == 4
        assert events[-1] == "assignment.expired"


async def history_lengths(client, workflow_id: str) -> list[int]:
    """Events in each run of a workflow, following its continue-as-new chain from the first."""
    described = await client.get_workflow_handle(workflow_id).describe()
    run_id = described.raw_description.workflow_execution_info.first_run_id
    lengths = []
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        lengths.append(len(history.events))
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.HasField("workflow_execution_continued_as_new_event_attributes")
            else None
        )
    return lengths
