"""External users' lifecycle, on the time-skipping server with the real activities and emulator.

What a guest and an administrator rely on: a guest accessctl invited keeps their account while
any assignment lives; when the last one ends the settings of that moment apply (none, block
sign-in, or block then delete after the configured time); a new assignment brings a blocked
guest back; a deleted guest's address can be invited again; and a guest accessctl did not
invite is left alone unless an administrator marks them as governed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from temporalio.client import WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner

from activities.graph_client import GraphSettings, build_graph_client
from entitlements.guests import GuestLifecycle
from entitlements.refusals import RequestRefused, Rule
from entitlements.requests import user_workflow_id
from entitlements.status import RequestState
from starter.client import AccessClient
from starter.guests import find_user_workflow, guest_status, mark_governed
from tests.conftest import DEV_SERVER
from tests.factories import (
    ADMIN,
    CAROL,
    FINANCE_APPROVERS,
    FINANCE_READ,
    GRACE,
    example_catalog,
    load,
    running_worker,
    simple_policy,
)
from tests.waiting import wait_for
from worker import create_worker
from workflows import search_attributes, user_access
from workflows.user_access import UserAccessView

ANN = "ann@fabrikam-partners.example"  # Fabrikam staff by domain, not in the directory
GRACE_ID = "00000000-0000-4000-8000-00000006ace0"  # an existing guest accessctl did not invite
ALICE_ID = "00000000-0000-4000-8000-0000000a11ce"
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)


def guest_catalog(
    action: str = "blockSignInAndDelete",
    deleted_after: str = "P30D",
    reports_expiration: dict | None = None,
):
    """The example catalog with these external user settings, and two packages Fabrikam staff
    get without approval: finance-reports (no end unless told) and partner-tools (no end)."""
    data = example_catalog()
    data["settings"]["externalUserLifecycleAction"] = action
    data["settings"]["durationUntilExternalUserDeletedAfterBlocked"] = deleted_after
    partners = simple_policy(data, "finance-reports", "fabrikam-partners")
    partners["expiration"] = reports_expiration or {"type": "noExpiration"}
    finance = next(c for c in data["catalogs"] if c["id"] == "finance")
    finance["resources"].append(
        {"id": "approvers", "type": "group", "originId": FINANCE_APPROVERS, "displayName": "FA"}
    )
    tools = {
        "id": "partner-tools",
        "displayName": "Partner tools",
        "resourceRoleScopes": [{"resource": "approvers", "role": "Member"}],
        "assignmentPolicies": [
            {
                "id": "fabrikam-partners",
                "displayName": "Fabrikam staff, no approval",
                "allowedTargetScope": "specificConnectedOrganizationUsers",
                "specificAllowedTargets": [
                    {"type": "connectedOrganizationMembers", "connectedOrganization": "fabrikam"}
                ],
                "expiration": {"type": "noExpiration"},
            }
        ],
    }
    finance["accessPackages"].append(tools)
    return load(data)


def directory_user(graph, user_id: str) -> dict | None:
    """The user as Graph answers GET /users/{id}; None for 404 (deleted)."""
    response = httpx.get(
        f"{graph.base_url}/users/{user_id}", params={"$select": "id,accountEnabled"}
    )
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()


def member_ids(graph, group_id: str) -> set[str]:
    response = httpx.get(f"{graph.base_url}/groups/{group_id}/members")
    response.raise_for_status()
    return {member["id"] for member in response.json()["value"]}


async def wait_for_guest(
    client, user_id: str, condition: Callable[[UserAccessView], bool]
) -> UserAccessView:
    view = None
    for _ in range(600):
        view = await guest_status(client, user_id)
        if condition(view):
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"user {user_id} never met the condition; last view: {view}")


async def delivered(access: AccessClient, package_id: str, target: str) -> tuple[str, str]:
    """Request without approval and wait for delivery: (request id, the target's object id)."""
    request_id = await access.request_access(package_id, target)
    done = await wait_for(
        access,
        request_id,
        lambda s: s.state not in (RequestState.PENDING_APPROVAL, RequestState.DELIVERING),
    )
    assert done.state == RequestState.DELIVERED, done
    assert done.target.id is not None
    return request_id, done.target.id


async def removed(access: AccessClient, request_id: str) -> None:
    await access.remove(request_id, ADMIN)
    await wait_for(access, request_id, lambda s: s.state == RequestState.REMOVED)


def is_blocked(view: UserAccessView) -> bool:
    return view.lifecycle == GuestLifecycle.BLOCKED


def settled_after_end(view: UserAccessView) -> bool:
    """The last assignment has ended and the lifecycle settings have been applied."""
    return view.applied_action is not None and view.queued_changes == 0


@asynccontextmanager
async def worker_with(client, graph_server, catalog, task_queue: str, **options):
    """running_worker with Worker options of this test's own."""
    graph_client = build_graph_client(GraphSettings(base_url=graph_server.base_url))
    async with create_worker(client, catalog, graph_client, queue=task_queue, **options):
        yield AccessClient(client, task_queue)


async def test_a_guest_keeps_the_account_until_the_last_package_ends_then_is_deleted_30_days_later(
    time_env, graph, task_queue
):
    catalog = guest_catalog(reports_expiration={"type": "afterDuration", "duration": "PT1H"})
    async with running_worker(time_env.client, graph, catalog, task_queue) as access:
        reports, ann_id = await delivered(access, "finance-reports", ANN)
        tools, same_ann = await delivered(access, "partner-tools", ANN)
        assert same_ann == ann_id
        active = await guest_status(time_env.client, ann_id)
        assert active.lifecycle == GuestLifecycle.ACTIVE
        assert sorted(active.live_assignments) == sorted([reports, tools])

        # finance-reports expires after an hour; partner-tools lives on
        await time_env.sleep(timedelta(hours=2))
        await wait_for(access, reports, lambda s: s.state == RequestState.EXPIRED)
        one_left = await wait_for_guest(
            time_env.client, ann_id, lambda v: v.live_assignments == [tools]
        )
        assert one_left.lifecycle == GuestLifecycle.ACTIVE
        await time_env.sleep(31 * DAY)  # long past any deletion the first end could have set
        ann = directory_user(graph, ann_id)
        assert ann is not None and ann["accountEnabled"] is True
        assert ann_id in member_ids(graph, FINANCE_APPROVERS)
        assert ann_id not in member_ids(graph, FINANCE_READ)

        await removed(access, tools)
        blocked = await wait_for_guest(time_env.client, ann_id, is_blocked)
        assert directory_user(graph, ann_id)["accountEnabled"] is False
        assert ann_id not in member_ids(graph, FINANCE_APPROVERS)
        assert blocked.live_assignments == []
        assert blocked.deletion_due_at == blocked.blocked_since + 30 * DAY

        await time_env.sleep(29 * DAY)
        assert directory_user(graph, ann_id) is not None  # still there, blocked
        await time_env.sleep(2 * DAY)
        deleted = await wait_for_guest(
            time_env.client, ann_id, lambda v: v.lifecycle == GuestLifecycle.DELETED
        )
        assert directory_user(graph, ann_id) is None
        assert blocked.deletion_due_at <= deleted.deleted_at < blocked.deletion_due_at + MINUTE
        handle = time_env.client.get_workflow_handle(user_workflow_id(ann_id))
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED


async def test_a_blocked_guest_who_gets_a_new_package_is_unblocked_and_not_deleted(
    time_env, graph, task_queue
):
    async with running_worker(time_env.client, graph, guest_catalog(), task_queue) as access:
        reports, ann_id = await delivered(access, "finance-reports", ANN)
        await removed(access, reports)
        await wait_for_guest(time_env.client, ann_id, is_blocked)
        assert directory_user(graph, ann_id)["accountEnabled"] is False

        await time_env.sleep(10 * DAY)
        graph.control.clear_log()
        tools, same_ann = await delivered(access, "partner-tools", ANN)
        assert same_ann == ann_id  # the same account, not a new invitation
        back = await guest_status(time_env.client, ann_id)
        assert back.lifecycle == GuestLifecycle.ACTIVE
        assert back.blocked_since is None and back.deletion_due_at is None
        assert back.live_assignments == [tools]
        writes = [
            (call["method"], call["path"])
            for call in graph.control.log()
            if call["method"] in ("POST", "PATCH", "DELETE") and "sendMail" not in call["path"]
        ]
        # the account is enabled before the package's group is granted, and nobody is invited
        assert writes == [
            ("PATCH", f"/users/{ann_id}"),
            ("POST", f"/groups/{FINANCE_APPROVERS}/members/$ref"),
        ]
        assert directory_user(graph, ann_id)["accountEnabled"] is True

        await time_env.sleep(31 * DAY)  # past the 30 days the first block had set
        ann = directory_user(graph, ann_id)
        assert ann is not None and ann["accountEnabled"] is True
        assert ann_id in member_ids(graph, FINANCE_APPROVERS)
        assert (await guest_status(time_env.client, ann_id)).lifecycle == GuestLifecycle.ACTIVE


async def test_p0d_deletes_at_once_and_the_address_can_be_invited_again(
    time_env, graph, task_queue
):
    catalog = guest_catalog(deleted_after="P0D")
    async with running_worker(time_env.client, graph, catalog, task_queue) as access:
        reports, ann_id = await delivered(access, "finance-reports", ANN)
        await removed(access, reports)
        gone = await wait_for_guest(
            time_env.client, ann_id, lambda v: v.lifecycle == GuestLifecycle.DELETED
        )
        assert directory_user(graph, ann_id) is None  # no time passed
        assert gone.blocked_since <= gone.deleted_at < gone.blocked_since + MINUTE

        # asked again: a new guest, with a new object id and a workflow of its own
        again, new_id = await delivered(access, "finance-reports", ANN)
        assert again == reports
        assert new_id != ann_id
        assert directory_user(graph, new_id)["accountEnabled"] is True
        assert new_id in member_ids(graph, FINANCE_READ)
        fresh = await guest_status(time_env.client, new_id)
        assert fresh.lifecycle == GuestLifecycle.ACTIVE
        assert fresh.managed_guest
        assert (await guest_status(time_env.client, ann_id)).lifecycle == GuestLifecycle.DELETED


async def test_action_none_leaves_the_account_as_it_is(time_env, graph, task_queue):
    catalog = guest_catalog(action="none")
    async with running_worker(time_env.client, graph, catalog, task_queue) as access:
        reports, ann_id = await delivered(access, "finance-reports", ANN)
        await removed(access, reports)
        ended = await wait_for_guest(time_env.client, ann_id, settled_after_end)
        assert ended.applied_action == "none"
        assert ended.lifecycle == GuestLifecycle.ACTIVE
        await time_env.sleep(60 * DAY)
        ann = directory_user(graph, ann_id)
        assert ann is not None and ann["accountEnabled"] is True
        assert ann_id not in member_ids(graph, FINANCE_READ)


async def test_block_sign_in_only_blocks(time_env, graph, task_queue):
    catalog = guest_catalog(action="blockSignIn")
    async with running_worker(time_env.client, graph, catalog, task_queue) as access:
        reports, ann_id = await delivered(access, "finance-reports", ANN)
        await removed(access, reports)
        blocked = await wait_for_guest(time_env.client, ann_id, is_blocked)
        assert blocked.deletion_due_at is None
        await time_env.sleep(60 * DAY)
        ann = directory_user(graph, ann_id)
        assert ann is not None and ann["accountEnabled"] is False
        assert (await guest_status(time_env.client, ann_id)).lifecycle == GuestLifecycle.BLOCKED


async def test_a_guest_accessctl_did_not_invite_is_left_alone(time_env, graph, task_queue):
    async with running_worker(time_env.client, graph, guest_catalog(), task_queue) as access:
        tools, grace_id = await delivered(access, "partner-tools", GRACE)
        assert grace_id == GRACE_ID
        await removed(access, tools)
        ended = await wait_for_guest(
            time_env.client, GRACE_ID, lambda v: v.live_assignments == [] and not v.roles
        )
        assert ended.lifecycle == GuestLifecycle.NOT_MANAGED
        await time_env.sleep(31 * DAY)
        grace = directory_user(graph, GRACE_ID)
        assert grace is not None and grace["accountEnabled"] is True
        assert GRACE_ID not in member_ids(graph, FINANCE_APPROVERS)


async def test_a_guest_marked_governed_by_an_administrator_is_blocked_then_deleted(
    time_env, graph, task_queue
):
    client = time_env.client
    async with running_worker(client, graph, guest_catalog(), task_queue) as access:
        with pytest.raises(RequestRefused) as not_admin:
            await mark_governed(client, task_queue, GRACE_ID, CAROL)
        assert not_admin.value.rule == Rule.NOT_ADMINISTRATOR
        assert (await guest_status(client, GRACE_ID)).lifecycle == GuestLifecycle.NOT_MANAGED
        with pytest.raises(RequestRefused) as member:
            await mark_governed(client, task_queue, ALICE_ID, ADMIN)
        assert member.value.rule == Rule.NOT_A_GUEST

        governed = await mark_governed(client, task_queue, GRACE_ID, ADMIN)
        assert governed.lifecycle == GuestLifecycle.ACTIVE
        assert governed.governed_by == ADMIN
        assert governed.user.key == GRACE

        tools, _ = await delivered(access, "partner-tools", GRACE)
        await removed(access, tools)
        blocked = await wait_for_guest(client, GRACE_ID, is_blocked)
        assert directory_user(graph, GRACE_ID)["accountEnabled"] is False
        await time_env.sleep(31 * DAY)
        await wait_for_guest(client, GRACE_ID, lambda v: v.lifecycle == GuestLifecycle.DELETED)
        assert directory_user(graph, GRACE_ID) is None
        assert blocked.governed_by == ADMIN


async def test_marking_an_unknown_user_leaves_nothing_running(time_env, graph, task_queue):
    unknown = "00000000-0000-4000-8000-00000000dead"
    async with running_worker(time_env.client, graph, guest_catalog(), task_queue):
        with pytest.raises(RequestRefused) as refused:
            await mark_governed(time_env.client, task_queue, unknown, ADMIN)
        assert refused.value.rule == Rule.UNKNOWN_USER
        handle = time_env.client.get_workflow_handle(user_workflow_id(unknown))
        assert (await handle.result()) is None  # the run started for it has ended


@pytest.mark.integration
async def test_a_pending_deletion_survives_continue_as_new(dev_env, graph, task_queue, monkeypatch):
    # User workflows continue-as-new after every batch of changes: the history limit patched
    # low, and the workflows run unsandboxed so that they see the patch. On the dev server, with
    # a deletion 4 s after the block: the time-skipping server mishandles a run that took an
    # update and later continues-as-new (the next run stops answering queries; the dev server
    # does not, see temporalio/sdk-python#826).
    monkeypatch.setattr(user_access, "CONTINUE_AS_NEW_AFTER_EVENTS", 1)
    runner = UnsandboxedWorkflowRunner()
    catalog = guest_catalog(deleted_after="PT4S")
    async with worker_with(
        dev_env.client, graph, catalog, task_queue, workflow_runner=runner
    ) as access:
        reports, ann_id = await delivered(access, "finance-reports", ANN)
        await removed(access, reports)
        blocked = await wait_for_guest(dev_env.client, ann_id, is_blocked)
        handle = dev_env.client.get_workflow_handle(user_workflow_id(ann_id))

        async def continued() -> bool:
            history = await handle.fetch_history()
            started = history.events[0].workflow_execution_started_event_attributes
            return bool(started.continued_execution_run_id)

        for _ in range(200):
            if await continued() and (await handle.describe()).status.name == "RUNNING":
                break
            await asyncio.sleep(0.05)
        assert await continued()
        view = await guest_status(dev_env.client, ann_id)
        assert view.lifecycle == GuestLifecycle.BLOCKED
        assert view.deletion_due_at == blocked.blocked_since + timedelta(seconds=4)
        assert directory_user(graph, ann_id) is not None
        deleted = await wait_for_guest(dev_env.client, ann_id, lambda v: v.lifecycle == "deleted")
        assert deleted.deleted_at >= view.deletion_due_at
        assert directory_user(graph, ann_id) is None


# ---- finding a user's workflow by address: visibility, so the real dev server ------------


@pytest_asyncio.fixture
async def dev_env():
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER),
        search_attributes=search_attributes.ALL,
        data_converter=pydantic_data_converter,
    )
    yield env
    await env.shutdown()


async def found_by_address(client, address: str, expected_id: str) -> str | None:
    found = None
    for _ in range(200):  # visibility follows the workflow by a moment
        found = await find_user_workflow(client, address)
        if found == expected_id:
            break
        await asyncio.sleep(0.05)
    return found


@pytest.mark.integration
async def test_a_guests_status_is_found_by_address(dev_env, graph, task_queue):
    catalog = guest_catalog(deleted_after="P0D")
    async with running_worker(dev_env.client, graph, catalog, task_queue) as access:
        reports, ann_id = await delivered(access, "finance-reports", ANN)
        first = user_workflow_id(ann_id)
        assert await found_by_address(dev_env.client, ANN.upper(), first) == first
        view = await guest_status(dev_env.client, ANN)
        assert view.user.id == ann_id
        assert view.live_assignments == [reports]

        await removed(access, reports)
        await wait_for_guest(dev_env.client, ann_id, lambda v: v.lifecycle == "deleted")
        _, new_id = await delivered(access, "finance-reports", ANN)
        # the address now names the new guest; the deleted one is still found by its id
        second = user_workflow_id(new_id)
        assert await found_by_address(dev_env.client, ANN, second) == second
        assert (await guest_status(dev_env.client, ANN)).lifecycle == GuestLifecycle.ACTIVE
        assert (await guest_status(dev_env.client, ann_id)).lifecycle == GuestLifecycle.DELETED
        assert await find_user_workflow(dev_env.client, "nobody@fabrikam.example") is None


@pytest.mark.integration
async def test_settings_changed_after_the_request_apply_when_the_last_assignment_ends(
    dev_env, graph, task_queue
):
    # Requested while the settings said "none" (and the request carries them in its
    # snapshot); by the time access ends the worker was restarted with "block and delete at
    # once". On the dev server: the time-skipping server never hands a stopped worker's
    # sticky tasks to the next worker.
    first = guest_catalog(action="none")
    sticky = {"sticky_queue_schedule_to_start_timeout": timedelta(seconds=1)}
    async with worker_with(dev_env.client, graph, first, task_queue, **sticky) as access:
        reports, ann_id = await delivered(access, "finance-reports", ANN)
    changed = guest_catalog(action="blockSignInAndDelete", deleted_after="P0D")
    async with running_worker(dev_env.client, graph, changed, task_queue) as access:
        await removed(access, reports)
        deleted = await wait_for_guest(
            dev_env.client, ann_id, lambda v: v.lifecycle == GuestLifecycle.DELETED
        )
        assert deleted.applied_action == "blockSignInAndDelete"
        assert directory_user(graph, ann_id) is None
