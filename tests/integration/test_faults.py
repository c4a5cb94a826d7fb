"""Faults the stack must survive, on the real dev server (SQLite file), the emulator and the
worker as processes: a worker killed mid-delivery, the server restarted while a request waits
for approval, the worker down across an assignment's end, Graph throttling and outages, and a
permanent Graph error that an operator sees and reprocesses once it is fixed."""

from __future__ import annotations

import asyncio
import inspect
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import httpx
import pytest
import pytest_asyncio
from temporalio.service import RPCError

from entitlements.status import RequestState, ResourceState
from tests.integration.fault_stack import (
    FINANCE_APPROVERS,
    FINANCE_READ,
    REPORTS_SP,
    SALES,
    SITE_MEMBERS,
    FaultStack,
)

ALICE, BOB, CAROL = "alice@contoso.example", "bob@contoso.example", "carol@contoso.example"
DANA, ERIN, FRANK = "dana@contoso.example", "erin@contoso.example", "frank@contoso.example"
CAROL_ID = "00000000-0000-4000-8000-0000000ca401"
ERIN_ID = "00000000-0000-4000-8000-0000000e4140"
GRANT_WRITE = re.compile(
    r"^/groups/[^/]+/members/\$ref$"
    r"|^/servicePrincipals/[^/]+/appRoleAssignedTo$"
)
APP_ROLE_WRITE = f"/servicePrincipals/{REPORTS_SP}/appRoleAssignedTo"


def settled(status) -> bool:
    return status.state not in (RequestState.PENDING_APPROVAL, RequestState.DELIVERING)


@pytest_asyncio.fixture(scope="module")
async def fault_stack(tmp_path_factory) -> AsyncIterator[FaultStack]:
    stack = await FaultStack.start(tmp_path_factory.mktemp("faults"))
    try:
        yield stack
    finally:
        await stack.close()


@pytest.fixture
def faults(fault_stack: FaultStack) -> FaultStack:
    """The fault stack with its worker running and no fault rules or call log left over."""
    fault_stack.graph.clear_faults()
    fault_stack.graph.clear_log()
    if fault_stack.worker is None or fault_stack.worker.poll() is not None:
        fault_stack.start_worker()
    return fault_stack


async def eventually(probe, seconds: float = 30.0, what: str = "the condition"):
    """The first truthy answer of `probe` (plain or async) within `seconds`. An RPC error
    (the server or a worker still coming back) counts as "not yet"."""
    deadline = time.monotonic() + seconds
    last = None
    while True:
        try:
            last = probe()
            if inspect.isawaitable(last):
                last = await last
            if last:
                return last
        except RPCError as error:
            last = error
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {seconds} s; last: {last!r}")
        await asyncio.sleep(0.1)


async def status_when(stack: FaultStack, request_id: str, condition, seconds: float = 30.0):
    async def probe():
        status = await stack.access.status(request_id)
        return status if condition(status) else None

    return await eventually(probe, seconds, f"{request_id}: {condition}")


def members(stack: FaultStack, group_id: str) -> set[str]:
    answer = httpx.get(f"{stack.graph_base_url}/groups/{group_id}/members").json()
    return {user["mail"] for user in answer["value"]}


def app_role_holders(stack: FaultStack) -> set[str]:
    answer = httpx.get(f"{stack.graph_base_url}{APP_ROLE_WRITE}").json()
    return {assignment["principalId"] for assignment in answer["value"]}


def granted(stack: FaultStack) -> list[str]:
    """The paths of the grants Graph accepted (adding a member or an app role), in order."""
    return [
        call["path"]
        for call in stack.graph.log(method="POST")
        if GRANT_WRITE.search(call["path"]) and call["status"] < 300
    ]


async def test_a_worker_killed_mid_delivery_grants_each_role_exactly_once(faults):
    # Three of the five writes are slow: the kill lands with two done and three to do.
    slow = f"/groups/({SALES}|{FINANCE_APPROVERS})/members|{APP_ROLE_WRITE}"
    faults.graph.add_fault(method="POST", pathRegex=slow, latencyMs=4000, count=3)
    request_id = await faults.access.request_access("five-roles", ERIN)
    await eventually(lambda: len(granted(faults)) >= 2, what="two grants done")

    faults.kill_worker()
    faults.graph.clear_faults()  # the calls in flight are slow; their retries need not be
    done_when_killed = granted(faults)
    assert 0 < len(done_when_killed) < 5, done_when_killed

    faults.start_worker()
    # The calls in flight are retried once their start-to-close timeout (30 s) has run out.
    delivered = await status_when(faults, request_id, settled, seconds=90)
    assert delivered.state == RequestState.DELIVERED
    assert {r.state for r in delivered.resources} == {ResourceState.DELIVERED}
    per_role = Counter(granted(faults))
    assert len(per_role) == 5 and set(per_role.values()) == {1}, per_role
    for group in (FINANCE_READ, SITE_MEMBERS, SALES, FINANCE_APPROVERS):
        assert ERIN in members(faults, group)
    assert ERIN_ID in app_role_holders(faults)


async def test_a_server_restart_at_stage_two_keeps_the_escalation_and_the_approval(faults):
    request_id = await faults.access.request_access("two-stages", ALICE)
    await status_when(faults, request_id, lambda s: s.stage is not None)
    await faults.access.approve(request_id, BOB)
    waiting = await status_when(faults, request_id, lambda s: s.stage and s.stage.number == 2)
    escalation_at = waiting.stage.escalation_at
    assert escalation_at is not None and not waiting.stage.escalated

    await faults.restart_server()

    escalated = await status_when(faults, request_id, lambda s: s.stage.escalated)
    assert (escalated.state, escalated.stage.number) == (RequestState.PENDING_APPROVAL, 2)
    events = [e for e in await faults.access.audit(request_id) if e.event == "stage.escalated"]
    assert len(events) == 1 and events[0].at >= escalation_at
    forwarded = faults.graph.outbox(to=FRANK)
    assert [m["subject"] for m in forwarded if m["subject"].startswith("Forwarded to you")]

    async def pending_for_frank():
        return request_id in [row["id"] for row in await faults.access.pending_for(FRANK)]

    await eventually(pending_for_frank, what="frank sees the request as pending")
    approved = faults.cli("approve", request_id, "--as", FRANK)
    assert approved.returncode == 0, approved.stderr
    delivered = await status_when(faults, request_id, settled)
    assert delivered.state == RequestState.DELIVERED
    assert [(d.stage, d.by) for d in delivered.decisions] == [(1, BOB), (2, FRANK)]
    assert ALICE in members(faults, FINANCE_READ)


async def test_a_worker_down_across_the_end_revokes_as_soon_as_it_is_back(faults):
    request_id = await faults.access.request_access("short-lived", BOB)
    delivered = await status_when(faults, request_id, settled)
    assert delivered.state == RequestState.DELIVERED
    assert BOB in members(faults, SALES)

    faults.stop_worker()
    while datetime.now(UTC) < delivered.end + timedelta(seconds=1):
        await asyncio.sleep(0.2)
    assert BOB in members(faults, SALES)  # nothing revokes while the worker is down

    faults.start_worker()
    await eventually(lambda: BOB not in members(faults, SALES), seconds=10, what="revoked")
    expired = await status_when(faults, request_id, lambda s: s.state == RequestState.EXPIRED)
    assert expired.ended_at >= delivered.end


async def test_throttling_and_an_outage_are_waited_out_at_the_pace_graph_asks(faults):
    grant = f"/groups/{FINANCE_APPROVERS}/members/\\$ref"
    faults.graph.add_fault(method="POST", pathRegex=grant, status=503, count=2)
    faults.graph.add_fault(method="POST", pathRegex=grant, status=429, retryAfterSeconds=2, count=1)
    faults.graph.add_fault(method="POST", pathRegex=grant, status=429, retryAfterSeconds=1, count=1)
    request_id = await faults.access.request_access("approvers-group", DANA)

    delivered = await status_when(faults, request_id, settled)
    assert delivered.state == RequestState.DELIVERED
    assert DANA in members(faults, FINANCE_APPROVERS)
    attempts = faults.graph.log(method="POST", path_regex=grant)
    assert [a["status"] for a in attempts] == [503, 503, 429, 429, 204]
    gaps = [later["time"] - earlier["time"] for earlier, later in pairwise(attempts)]
    assert gaps[2] >= 2 and gaps[3] >= 1, gaps  # Retry-After: 2, then Retry-After: 1


async def test_a_permanent_graph_error_is_shown_and_reprocessed_once_fixed(faults):
    rule = faults.graph.add_fault(method="POST", pathRegex=APP_ROLE_WRITE, status=403)
    request_id = await faults.access.request_access("read-and-report", CAROL)

    partial = await status_when(faults, request_id, settled)
    assert partial.state == RequestState.PARTIALLY_DELIVERED
    reports = next(r for r in partial.resources if r.display_name == "Reports")
    assert (reports.state, reports.error_code, reports.error_message) == (
        ResourceState.FAILED,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
    shown = faults.cli("status", request_id)
    assert shown.returncode == 0, shown.stderr
    assert "state       partiallyDelivered" in shown.stdout
    assert (
        "Reports [Reports.Viewer]: failed (Authorization_RequestDenied: "
        "Insufficient privileges to complete the operation.)"
    ) in shown.stdout
    handle = faults.env.client.get_workflow_handle(request_id)
    details = (await handle.query("__temporal_workflow_metadata")).current_details
    assert details.startswith("partiallyDelivered: ") and "failed Reports" in details

    httpx.delete(f"{faults.graph_root}/_emulator/faults/{rule['id']}").raise_for_status()
    reprocessed = faults.cli("reprocess", request_id)
    assert reprocessed.returncode == 0, reprocessed.stderr
    assert "state       delivered" in reprocessed.stdout
    assert CAROL_ID in app_role_holders(faults) and CAROL in members(faults, FINANCE_READ)
    details = (await handle.query("__temporal_workflow_metadata")).current_details
    assert details.startswith("delivered: ")
