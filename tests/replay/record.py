"""Record the histories tests/replay/test_replay.py replays: `make histories`
(`.venv/bin/python -m tests.replay.record`).

Each scenario runs the real workflows and activities against the in-process Graph emulator on
a time-skipping server of its own (time moves only when a scenario sleeps), as the workflow
tests do and with their setups; then every run of the workflows it names is written to
tests/replay/histories/<name>[.run<n>].json. The files there before are removed (folders
below it, histories kept from a release, are not), and the new files are replayed once before
the script says it is done.

Re-record after an intended change to a workflow's commands, while no run of the old code has
to go on (before a release); see the README on `workflow.patched` for changes to workflows
with runs in flight.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.log import configure_logging
from entitlements.bulk_assignment import parse_assignment_csv
from entitlements.guests import GuestLifecycle
from entitlements.invitations import parse_invitation_csv
from entitlements.requests import AccessAsk, user_workflow_id
from entitlements.status import RequestState
from graph_emulator.server import EmulatorServer
from starter.assignments import AssignmentClient
from starter.client import AccessClient
from starter.guests import guest_status, mark_governed
from starter.invitations import InvitationClient
from tests.conftest import EXAMPLES, TEST_SERVER, register_search_attributes
from tests.factories import (
    ADMIN,
    ALICE,
    BOB,
    CAROL,
    DANA,
    FINANCE_READ,
    FRANK,
    add_policy,
    catalog_with_stages,
    example_catalog,
    load,
    running_worker,
    stage,
)
from tests.replay.history_files import HISTORIES, history_json, load_history, replayer
from tests.waiting import wait_for
from tests.workflows.test_access_review import (
    ListedAssignments,
    deliver,
    reviewed_catalog,
    reviewing,
    start_review,
)
from tests.workflows.test_approval import escalating_stage
from tests.workflows.test_guest_lifecycle import (
    ANN,
    GRACE_ID,
    delivered,
    guest_catalog,
    is_blocked,
    removed,
    wait_for_guest,
)
from tests.workflows.test_lifetime import ShortHistoryClient
from tests.workflows.test_lifetime import catalog as lifetime_catalog
from workflows.intake import RequestIntakeWorkflow

DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)

# A scenario gets the time-skipping server, the emulator and a task queue, and returns the
# workflows to export: file name -> workflow id (every run of it is exported).
Scenario = Callable[[WorkflowEnvironment, EmulatorServer, str], Awaitable[dict[str, str]]]
SCENARIOS: list[Scenario] = []


def scenario(function: Scenario) -> Scenario:
    SCENARIOS.append(function)
    return function


def is_state(state: RequestState):
    return lambda status: status.state == state


def pending(status) -> bool:
    return status.stage is not None


async def settled_user(env: WorkflowEnvironment, access: AccessClient, request_id: str) -> str:
    """The request's user, once their workflow has applied every change it was sent: the id
    of that workflow."""
    target = (await access.status(request_id)).target
    assert target.id is not None
    await wait_for_guest(env.client, target.id, lambda view: view.queued_changes == 0)
    return user_workflow_id(target.id)


async def continued(client: Client, workflow_id: str) -> bool:
    """The workflow has continued as new: its current run is not its first."""
    info = (await client.get_workflow_handle(workflow_id).describe()).raw_description
    execution = info.workflow_execution_info
    return execution.first_run_id != execution.execution.run_id


# ---- access requests --------------------------------------------------------------------


@scenario
async def intake(env, graph, queue):
    async with running_worker(env.client, graph, catalog_with_stages(stage()), queue):
        outcomes = {}
        for name, package in (("intake_accepted", "finance-reports"), ("intake_refused", "x")):
            outcome = await env.client.execute_workflow(
                RequestIntakeWorkflow.run,
                AccessAsk(package_id=package, target=ALICE),
                id=f"intake:{name}",
                task_queue=queue,
            )
            assert (outcome.request is None) == (package == "x"), outcome
            outcomes[name] = f"intake:{name}"
    return outcomes


@scenario
async def approved_after_escalation(env, graph, queue):
    catalog = catalog_with_stages(escalating_stage())
    async with running_worker(env.client, graph, catalog, queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        await wait_for(access, request_id, pending)
        await env.sleep(2 * DAY + MINUTE)
        await wait_for(access, request_id, lambda s: s.stage and s.stage.escalated)
        await access.approve(request_id, CAROL, "covering for bob")
        await wait_for(access, request_id, is_state(RequestState.DELIVERED))
        await settled_user(env, access, request_id)
    return {"request_approved_after_escalation": request_id}


@scenario
async def denied(env, graph, queue):
    catalog = catalog_with_stages(
        stage(), stage(primaryApprovers=[{"type": "singleUser", "user": DANA}])
    )
    async with running_worker(env.client, graph, catalog, queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        await wait_for(access, request_id, pending)
        await access.approve(request_id, CAROL)
        await wait_for(access, request_id, lambda s: pending(s) and s.stage.number == 2)
        await access.deny(request_id, DANA, "not needed")
        await access.wait(request_id)
    return {"request_denied_at_stage_2": request_id}


@scenario
async def timed_out(env, graph, queue):
    catalog = catalog_with_stages(escalating_stage())
    async with running_worker(env.client, graph, catalog, queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        await wait_for(access, request_id, pending)
        await env.sleep(7 * DAY + MINUTE)
        await access.wait(request_id)
    return {"request_timed_out": request_id}


@scenario
async def canceled(env, graph, queue):
    async with running_worker(env.client, graph, catalog_with_stages(stage()), queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        await wait_for(access, request_id, pending)
        await access.cancel(request_id, ALICE)
        await access.wait(request_id)
    return {"request_canceled": request_id}


@scenario
async def expired(env, graph, queue):
    """No approval; reminders 14 days and 1 day before the end; expiry; the user's workflow
    grants and revokes."""
    async with running_worker(env.client, graph, lifetime_catalog("P15D"), queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        await wait_for(access, request_id, is_state(RequestState.DELIVERED))
        await env.sleep(15 * DAY + MINUTE)
        await access.wait(request_id)
        user = await settled_user(env, access, request_id)
    return {"request_expired_after_reminders": request_id, "user_access_granted_revoked": user}


@scenario
async def extended(env, graph, queue):
    """Approved; an extension approved by its own stage; expiry at the new end."""
    catalog = lifetime_catalog("P30D", stage())
    async with running_worker(env.client, graph, catalog, queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        await wait_for(access, request_id, pending)
        await access.approve(request_id, CAROL)
        first = await wait_for(access, request_id, is_state(RequestState.DELIVERED))
        await env.sleep(25 * DAY)
        await access.extend(request_id, ALICE, justification="project runs on")
        await wait_for(access, request_id, pending)
        await access.approve(request_id, CAROL)
        await wait_for(access, request_id, lambda s: s.end > first.end)
        await env.sleep(31 * DAY)
        await access.wait(request_id)
    return {"request_extended_then_expired": request_id}


@scenario
async def removed_by_admin(env, graph, queue):
    async with running_worker(env.client, graph, lifetime_catalog("P30D"), queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        await wait_for(access, request_id, is_state(RequestState.DELIVERED))
        await access.remove(request_id, ADMIN, "left the team")
        await access.wait(request_id)
    return {"request_removed": request_id}


@scenario
async def reprocessed(env, graph, queue):
    """A group deleted: partially delivered; restored and reprocessed: delivered."""
    httpx.delete(f"{graph.base_url}/groups/{FINANCE_READ}").raise_for_status()
    async with running_worker(env.client, graph, lifetime_catalog("P30D"), queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        await wait_for(access, request_id, is_state(RequestState.PARTIALLY_DELIVERED))
        restore = f"{graph.base_url}/directory/deletedItems/{FINANCE_READ}/restore"
        httpx.post(restore).raise_for_status()
        await access.reprocess(request_id)
        user = await settled_user(env, access, request_id)
    return {
        "request_partially_delivered_reprocessed": request_id,
        "user_access_grant_failed_then_granted": user,
    }


@scenario
async def scheduled(env, graph, queue):
    async with running_worker(env.client, graph, lifetime_catalog("P30D"), queue) as access:
        now = await env.get_current_time()
        request_id = await access.request_access(
            "finance-reports", ALICE, start=now + 3 * DAY, end=now + 10 * DAY
        )
        await wait_for(access, request_id, is_state(RequestState.SCHEDULED))
        await env.sleep(3 * DAY + MINUTE)
        await wait_for(access, request_id, is_state(RequestState.DELIVERED))
        await env.sleep(7 * DAY)
        await access.wait(request_id)
    return {"request_scheduled_delivered_expired": request_id}


@scenario
async def continued_as_new(env, graph, queue):
    """A few dozen events per run (the request's own history limit), two extensions."""
    async with running_worker(env.client, graph, lifetime_catalog("P90D"), queue) as plain:
        access = ShortHistoryClient(plain.client, queue)
        request_id = await access.request_access("finance-reports", ALICE)
        await wait_for(access, request_id, is_state(RequestState.DELIVERED))
        for _ in range(2):
            await env.sleep(80 * DAY)
            before = await access.status(request_id)
            await access.extend(request_id, ALICE)
            await wait_for(access, request_id, lambda s, b=before: s.end > b.end)
        await env.sleep(91 * DAY)
        await access.wait(request_id)
        assert await continued(env.client, request_id)
    return {"request_continued_as_new": request_id}


# ---- guests -----------------------------------------------------------------------------


@scenario
async def guest_blocked_and_deleted(env, graph, queue):
    """A guest invited for a package; removed: blocked, deleted 30 days later."""
    async with running_worker(env.client, graph, guest_catalog(), queue) as access:
        request_id, ann_id = await delivered(access, "finance-reports", ANN)
        await removed(access, request_id)
        await wait_for_guest(env.client, ann_id, is_blocked)
        await env.sleep(31 * DAY)
        deleted = await wait_for_guest(
            env.client, ann_id, lambda v: v.lifecycle == GuestLifecycle.DELETED
        )
        assert deleted.deleted_at is not None
        await env.client.get_workflow_handle(user_workflow_id(ann_id)).result()
    return {
        "request_guest_invited_removed": request_id,
        "user_access_guest_blocked_deleted": user_workflow_id(ann_id),
    }


@scenario
async def guest_unblocked(env, graph, queue):
    """A blocked guest given a new package: unblocked, the deletion off."""
    async with running_worker(env.client, graph, guest_catalog(), queue) as access:
        request_id, ann_id = await delivered(access, "finance-reports", ANN)
        await removed(access, request_id)
        await wait_for_guest(env.client, ann_id, is_blocked)
        await env.sleep(10 * DAY)
        await delivered(access, "partner-tools", ANN)
        await wait_for_guest(
            env.client,
            ann_id,
            lambda v: v.lifecycle == GuestLifecycle.ACTIVE and v.queued_changes == 0,
        )
    return {"user_access_guest_blocked_unblocked": user_workflow_id(ann_id)}


@scenario
async def guest_marked_governed(env, graph, queue):
    async with running_worker(env.client, graph, guest_catalog(), queue):
        await mark_governed(env.client, queue, GRACE_ID, ADMIN)
        assert (await guest_status(env.client, GRACE_ID)).governed_by == ADMIN
    return {"user_access_guest_marked_governed": user_workflow_id(GRACE_ID)}


# ---- reviews and invitations ------------------------------------------------------------


@scenario
async def access_review(env, graph, queue):
    """Alice kept, Dana removed; the page continues as new after a few decisions."""
    catalog = reviewed_catalog()
    listed = ListedAssignments()
    async with reviewing(env, graph, catalog, queue, listed) as (access, reviews):
        _, dana_request = await deliver(env, access, listed, ALICE, DANA)
        review_id = await start_review(reviews, catalog, history_limit=100)
        page_id = (await reviews.view(review_id)).pages[0]
        await reviews.approve(review_id, ALICE, CAROL)
        # A reviewer changing their mind makes the page's history long: it continues as new.
        for _ in range(30):
            await reviews.approve(review_id, DANA, CAROL, "first thought")
            await reviews.deny(review_id, DANA, CAROL, "moved to finance")
            if await continued(env.client, page_id):
                break
        assert await continued(env.client, page_id)
        await env.sleep(14 * DAY + MINUTE)
        await reviews.wait(review_id)
        await wait_for(access, dana_request, is_state(RequestState.REMOVED))
    return {
        "review_completed": review_id,
        "review_page": page_id,
        "request_removed_by_review": dana_request,
    }


@scenario
async def invitations(env, graph, queue):
    rows = "".join(f"guest{i}@partner.example,Guest {i},\n" for i in range(5))
    parsed = parse_invitation_csv(
        "UserPrincipalName,DisplayName,InviteRedirectUrl\nnot-an-address,,\n" + rows
    )
    async with running_worker(env.client, graph, load(example_catalog()), queue) as access:
        invitations = InvitationClient.of(access)
        await invitations.invite("ann@partner.example", display_name="Ann Lee")
        handle = await invitations.start_bulk(parsed, source="partners.csv", page_size=2)
        result = await invitations.result(handle.id)
        assert (result.invited, result.invalid) == (5, 1), result
    return {"invite_guest": "invite:ann@partner.example", "bulk_invitation": handle.id}


@scenario
async def bulk_assignment(env, graph, queue):
    """Direct assignment from a file: two users assigned, one refused, two rows a page."""
    data = example_catalog()
    expiration = {"type": "afterDuration", "duration": "P30D"}
    add_policy(data, "finance-reports", "direct", "notSpecified", expiration=expiration)
    rows = f"UserPrincipalName,End\n{ALICE},\n{BOB},\n{FRANK},\n"  # frank: in Sales, excluded
    async with running_worker(env.client, graph, load(data), queue) as access:
        assignments = AssignmentClient.of(access)
        handle = await assignments.start_bulk(
            parse_assignment_csv(rows), "finance-reports", admin=ADMIN, policy="direct",
            source="people.csv", page_size=2,
        )  # fmt: skip
        result = await assignments.result(handle.id)
        assert [row.status for row in result.rows] == ["assigned", "assigned", "refused"], result
        for user in (ALICE, BOB):
            request_id = f"access:finance-reports:{user}"
            await wait_for(access, request_id, is_state(RequestState.DELIVERED))
    return {"bulk_assignment": handle.id}


# ---- recording --------------------------------------------------------------------------


async def runs(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """Every run of a workflow, from its first along its continue-as-new chain."""
    described = await client.get_workflow_handle(workflow_id).describe()
    run_id = described.raw_description.workflow_execution_info.first_run_id
    histories = []
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        histories.append(history)
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.HasField("workflow_execution_continued_as_new_event_attributes")
            else None
        )
    return histories


async def record(run: Scenario, graph: EmulatorServer) -> dict[str, str]:
    """Run one scenario on a fresh server; its files' names and contents."""
    control = graph.control
    control.reset()
    control.clear_faults()
    control.clear_outbox()
    control.clear_log()
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=pydantic_data_converter
    )
    try:
        await register_search_attributes(env.client)
        with env.auto_time_skipping_disabled():
            exported = await run(env, graph, f"record-{uuid.uuid4()}")
        files = {}
        for name, workflow_id in exported.items():
            histories = await runs(env.client, workflow_id)
            for number, history in enumerate(histories, start=1):
                suffix = f".run{number}" if len(histories) > 1 else ""
                files[f"{name}{suffix}.json"] = history_json(history)
        return files
    finally:
        await env.shutdown()


async def main() -> int:
    configure_logging("console", "ERROR")  # activity lines and refusals would drown the list
    started = time.monotonic()
    files: dict[str, str] = {}
    with EmulatorServer(EXAMPLES / "tenant.yaml") as graph:
        for run in SCENARIOS:
            began = time.monotonic()
            recorded = await record(run, graph)
            print(f"{run.__name__} ({time.monotonic() - began:.1f} s): {', '.join(recorded)}")
            files |= recorded
    HISTORIES.mkdir(exist_ok=True)
    for old in HISTORIES.glob("*.json"):
        old.unlink()
    for name, text in files.items():
        (HISTORIES / name).write_text(text)
    replaying = replayer()
    for name in files:
        await replaying.replay_workflow(load_history(HISTORIES / name))
    took = time.monotonic() - started
    print(f"{len(files)} histories in {HISTORIES}, each replayed once ({took:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
