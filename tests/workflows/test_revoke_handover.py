"""How a request hands its revoke to its user's workflow: an update, answered when applied.

Many assignments ending at once on a worker with few task slots: every role is revoked. A
request waits inside its own workflow task for its user's workflow to apply the revoke (an
update). Were users' workflows on the requests' queue, requests waiting for them would hold
every workflow task and local activity slot, and no user workflow could run: nothing would be
revoked. On their own queue, with their own slots, they always can."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.testing import ActivityEnvironment

from activities.graph_client import GraphSettings, build_graph_client
from activities.temporal_client import user_task_queue
from activities.user_access_client import UserAccessActivities
from entitlements.access_changes import AccessChange, ChangeKind
from entitlements.catalog import ResourceType
from entitlements.people import Person
from entitlements.refusals import RequestRefused
from entitlements.requests import ResourceGrant, user_workflow_id
from entitlements.status import RequestState, ResourceState
from starter.client import AccessClient
from starter.guests import mark_governed
from tests.factories import (
    ADMIN,
    ALICE,
    BOB,
    CAROL,
    DANA,
    ERIN,
    FINANCE_READ,
    group_members,
    running_worker,
)
from tests.waiting import wait_for
from tests.workflows.test_lifetime import catalog, delivered
from worker import create_worker
from workflows.user_access import UserAccessWorkflow

PEOPLE = [ALICE, BOB, CAROL, DANA, ERIN]
FINANCE_READ_MEMBER = ResourceGrant(
    resource_id="finance-read",
    display_name="Finance Read",
    type=ResourceType.GROUP,
    origin_id=FINANCE_READ,
    role="Member",
)
# Fewer slots than assignments ending together: a cycle between the two would stall.
FEW_SLOTS = {
    "max_concurrent_workflow_tasks": 2,
    "max_concurrent_workflow_task_polls": 2,
    "max_concurrent_local_activities": 2,
}


async def test_assignments_ending_together_on_a_worker_with_two_slots_are_all_revoked(
    time_env, graph, task_queue
):
    graph_client = build_graph_client(GraphSettings(base_url=graph.base_url))
    access = AccessClient(time_env.client, task_queue)
    async with create_worker(
        time_env.client, catalog("P14D"), graph_client, task_queue, **FEW_SLOTS
    ):
        request_ids = [await access.request_access("finance-reports", p) for p in PEOPLE]
        for request_id in request_ids:
            await wait_for(access, request_id, delivered)
        assert set(PEOPLE) <= group_members(graph, FINANCE_READ)

        await time_env.sleep(timedelta(days=14, minutes=1))
        ended = await asyncio.gather(
            *(wait_for(access, r, lambda s: s.state == RequestState.EXPIRED) for r in request_ids)
        )
    assert group_members(graph, FINANCE_READ).isdisjoint(PEOPLE)
    for status in ended:  # each request knows what became of its roles
        assert {r.state for r in status.resources} == {ResourceState.REVOKED}


async def test_a_revoke_for_a_user_whose_workflow_has_ended_is_answered_without_reviving_it(
    time_env, graph, task_queue
):
    # A user's workflow completes once the guest is deleted, or when its id named nobody: a
    # revoke that comes later has no account to act on, and brings no workflow back to life.
    unknown = Person(email="gone@contoso.example", id="00000000-0000-4000-8000-00000000dead")
    revoke = AccessChange(
        change_id="revoke-1",
        kind=ChangeKind.REVOKE,
        assignment_id="access:finance-reports:gone@contoso.example",
        user=unknown,
        grants=[FINANCE_READ_MEMBER],
    )
    async with running_worker(time_env.client, graph, catalog(), task_queue):
        with pytest.raises(RequestRefused):
            await mark_governed(time_env.client, task_queue, unknown.id, ADMIN)
        ended = time_env.client.get_workflow_handle(user_workflow_id(unknown.id))
        assert (await ended.result()) is None

        users = UserAccessActivities(time_env.client, user_task_queue(task_queue))
        result = await ActivityEnvironment().run(users.apply_access_change, revoke)
        again = await ActivityEnvironment().run(users.apply_access_change, revoke)  # a retry
        assert (await ended.describe()).status == WorkflowExecutionStatus.COMPLETED
    assert [(o.resource_id, o.state) for o in result.outcomes] == [
        ("finance-read", ResourceState.REVOKED)
    ]
    assert again == result


async def test_a_revoke_for_a_user_whose_workflow_was_terminated_is_applied_by_a_new_one(
    time_env, graph, task_queue
):
    # An operator terminated a stuck user workflow: the roles may still be held, so a new run
    # takes the revoke and removes them.
    async with running_worker(time_env.client, graph, catalog(), task_queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        alice_id = (await wait_for(access, request_id, delivered)).target.id
        await time_env.client.get_workflow_handle(user_workflow_id(alice_id)).terminate("stuck")
        await access.remove(request_id, ADMIN, "left the team")
        final = await wait_for(access, request_id, lambda s: s.state == RequestState.REMOVED)
        current = time_env.client.get_workflow_handle(user_workflow_id(alice_id))
        assert (await current.describe()).status == WorkflowExecutionStatus.RUNNING
    assert ALICE not in group_members(graph, FINANCE_READ)
    assert {r.state for r in final.resources} == {ResourceState.REVOKED}


async def test_a_change_for_another_user_is_refused_and_changes_nothing(
    time_env, graph, task_queue
):
    async with running_worker(time_env.client, graph, catalog(), task_queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        alice_id = (await wait_for(access, request_id, delivered)).target.id
        alices = time_env.client.get_workflow_handle(user_workflow_id(alice_id))
        bob = Person(email=BOB, id="00000000-0000-4000-8000-00000000b0b0")
        change = AccessChange(
            change_id="misdirected",
            kind=ChangeKind.REVOKE,
            assignment_id=request_id,
            user=bob,
            grants=[FINANCE_READ_MEMBER],
        )
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await alices.execute_update(UserAccessWorkflow.apply_change, change)
        assert refused.value.cause.message == (
            f"a change for user '{bob.id}' sent to the workflow of '{alice_id}'"
        )
        assert ALICE in group_members(graph, FINANCE_READ)
        assert (await access.status(request_id)).state == RequestState.DELIVERED
