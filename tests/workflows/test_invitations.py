"""Inviting guests, one or a CSV file's worth, on the time-skipping server with the real
activities against the in-process Graph emulator.

What a user relies on: a new address becomes a guest, an address already in the directory
gives that user back, a denied domain is refused with nothing written, and a bulk file ends
with every good row invited exactly once and every bad row reported with its problem, even
when Graph throttles or the worker is stopped in the middle.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from itertools import pairwise

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from activities.graph_client import GraphSettings, build_graph_client
from activities.invitations import InvitationActivities
from entitlements.invitations import (
    BulkInvitationProgress,
    Invitation,
    InvitationStatus,
    parse_invitation_csv,
)
from entitlements.refusals import RequestRefused, Rule
from graph_emulator.testing import EmulatorControl
from starter.invitations import InvitationClient
from tests.conftest import EXAMPLES
from tests.factories import GRACE, example_catalog, load, running_worker
from worker import create_worker

INVITATIONS = r"^/invitations$"
HEADER = "UserPrincipalName,DisplayName,InviteRedirectUrl\n"
BULK_ROWS = int(os.environ.get("BULK_ROWS", "1000"))


@dataclass
class EmulatorProcess:
    """The Graph emulator as a process of its own, as `graph` answers: base_url, control."""

    root_url: str

    def __post_init__(self) -> None:
        self.base_url = f"{self.root_url}/v1.0"
        self.control = EmulatorControl(self.root_url)


@pytest.fixture
def graph_process():
    """A fresh emulator in its own process: its CPU is not the worker's (see the 1,000 rows)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "graph_emulator", "--tenant", str(EXAMPLES / "tenant.yaml")]
    process = subprocess.Popen(
        [*command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    emulator = EmulatorProcess(f"http://127.0.0.1:{port}")
    try:
        for _ in range(300):
            assert process.poll() is None, f"the emulator exited with {process.returncode}"
            with contextlib.suppress(httpx.HTTPError):
                emulator.control.health()
                break
            time.sleep(0.05)
        yield emulator
    finally:
        emulator.control.close()
        process.terminate()
        process.wait(timeout=10)


def invitation_posts(graph) -> list[dict]:
    return graph.control.log(method="POST", path_regex=INVITATIONS)


def users_by_mail(graph) -> dict[str, dict]:
    return {(u.get("mail") or "").lower(): u for u in graph.control.state()["users"]}


def guest_rows(count: int, start: int = 0) -> str:
    return "".join(f"guest{i:04d}@partner.example,Guest {i:04d},\n" for i in range(start, count))


async def ended(client, workflow_id: str) -> None:
    """Once the workflow's last run has ended, found by polling. Not one `result()`: the
    time-skipping server answers a history long poll that waits over 20 s with an empty page
    and no next page token, which the SDK takes for a run with no end ("No completion event
    found"); sdk-dotnet#78 retries for it, the Python SDK does not."""
    handle = client.get_workflow_handle(workflow_id)
    running = (WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.CONTINUED_AS_NEW)
    while (await handle.describe()).status in running:
        await asyncio.sleep(0.2)


async def run_ids(client, workflow_id: str, first_run_id: str) -> list[str]:
    """Every run of a workflow, following continue-as-new from the first."""
    runs = [first_run_id]
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=runs[-1]).fetch_history()
        last = history.events[-1]
        if not last.HasField("workflow_execution_continued_as_new_event_attributes"):
            return runs
        runs.append(last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id)


# ---------------------------------------------------------------------------- one guest
async def test_a_new_address_becomes_a_guest_with_the_invitation_mail_asked_for(
    time_env, graph, task_queue
):
    async with running_worker(time_env.client, graph, load(example_catalog()), task_queue) as a:
        invitations = InvitationClient.of(a)
        guest = await invitations.invite(
            "Ann@Partner.Example", display_name="Ann Lee", message="Welcome!", send_mail=True
        )
    assert guest.status == InvitationStatus.INVITED
    assert guest.redeem_url and guest.redeem_url.startswith("https://")
    user = users_by_mail(graph)["ann@partner.example"]
    assert (user["id"], user["displayName"], user["userType"]) == (
        guest.object_id,
        "Ann Lee",
        "Guest",
    )
    [mail] = graph.control.outbox(to="ann@partner.example")
    assert "Welcome!" in mail["body"]


async def test_no_invitation_mail_unless_asked_or_the_settings_say_so(time_env, graph, task_queue):
    async with running_worker(time_env.client, graph, load(example_catalog()), task_queue) as a:
        await InvitationClient.of(a).invite("bo@partner.example")  # settings: no mail
    assert "bo@partner.example" in users_by_mail(graph)
    assert graph.control.outbox(to="bo@partner.example") == []


async def test_an_existing_guest_is_given_back_and_nothing_is_written(time_env, graph, task_queue):
    grace = users_by_mail(graph)[GRACE]
    async with running_worker(time_env.client, graph, load(example_catalog()), task_queue) as a:
        found = await InvitationClient.of(a).invite(GRACE.upper())
    assert (found.status, found.object_id) == (InvitationStatus.EXISTING, grace["id"])
    assert invitation_posts(graph) == []


@pytest.mark.parametrize(
    "settings, address, reason",
    [
        ({"deniedDomains": ["competitor.example"]}, "eve@Competitor.example", "deny list"),
        ({"allowedDomains": ["partner.example"]}, "eve@elsewhere.example", "allow list"),
    ],
)
async def test_a_domain_the_settings_refuse_is_refused_with_nothing_written(
    time_env, graph, task_queue, settings, address, reason
):
    data = example_catalog()
    data["settings"]["invitations"].pop("deniedDomains", None)
    data["settings"]["invitations"].update(settings)
    async with running_worker(time_env.client, graph, load(data), task_queue) as a:
        with pytest.raises(RequestRefused) as refused:
            await InvitationClient.of(a).invite(address)
    assert refused.value.rule == Rule.INVITATION_DOMAIN
    assert reason in refused.value.message
    assert invitation_posts(graph) == []
    assert address.lower() not in users_by_mail(graph)


async def test_a_malformed_address_is_refused_before_anything_starts(time_env, graph, task_queue):
    async with running_worker(time_env.client, graph, load(example_catalog()), task_queue) as a:
        with pytest.raises(RequestRefused) as refused:
            await InvitationClient.of(a).invite("not-an-address")
    assert refused.value.rule == Rule.INVALID_EMAIL
    assert graph.control.log() == []


class RecordingDirectory:
    """Stands in for DirectoryActivities: nobody exists; invitations are recorded."""

    def __init__(self) -> None:
        self.invited = []

    async def find_user(self, _):
        return None

    async def invite_guest(self, inp):
        from activities.directory_models import InvitedGuest

        self.invited.append(inp)
        return InvitedGuest(id="new-id", email=inp.email)


async def test_redirect_url_and_mail_default_to_the_current_catalog_settings():
    data = example_catalog()
    data["settings"]["invitations"]["sendInvitationMessage"] = True
    directory = RecordingDirectory()
    activities = InvitationActivities(load(data), directory)
    await activities.invite_external_user(Invitation(email="a@partner.example"))
    await activities.invite_external_user(
        Invitation(email="b@partner.example", redirect_url="https://x.example", send_mail=False)
    )
    defaulted, chosen = directory.invited
    assert (defaulted.redirect_url, defaulted.send_invitation_message) == (
        "https://myapps.contoso.example",
        True,
    )
    assert (chosen.redirect_url, chosen.send_invitation_message) == ("https://x.example", False)


# ------------------------------------------------------------------------------ in bulk
def rows_with_twenty_bad(count: int) -> tuple[str, set[str]]:
    """`count` rows, 20 of them bad (5 each: malformed, missing columns, duplicate of the
    first row, a denied domain), spread through the file; and the good addresses."""
    bad = {k * (count // 20) + count // 40: k % 4 for k in range(20)}  # never row 0
    lines, good = [], set()
    for i in range(count):
        kind = bad.get(i)
        if kind == 0:
            lines.append(f"guest{i:04d}-at-partner.example,Malformed {i},")
        elif kind == 1:
            lines.append(f"guest{i:04d}@partner.example")
        elif kind == 2:
            lines.append("guest0000@partner.example,Duplicate,")
        elif kind == 3:
            lines.append(f"spy{i:04d}@competitor.example,Denied {i},")  # on the deny list
        else:
            address = f"guest{i:04d}@partner.example"
            lines.append(f"{address},Guest {i:04d},")
            good.add(address)
    return HEADER + "\n".join(lines) + "\n", good


async def test_a_file_with_twenty_bad_rows(time_env, graph_process, task_queue):
    """The brief's 1,000 rows: 28-34 s on this 2-core machine shared with other jobs, one core
    busy throughout (~30 ms of this process's CPU a row; the time-skipping server ~2 s in all).
    Profiled with py-spy: the activities take 69% of it, msgraph-sdk turning Graph's JSON into
    models 44% (Entity.get_field_deserializers runs some 1,200 function-level imports per call,
    two calls an invitation: msgraph-sdk-python#584), the sandboxed workflow activations 12%;
    the page size (10 pages of 100, 10 at once) hardly counts. The emulator runs in a process
    of its own: in this one it added 13% (38-40 s). BULK_ROWS=100 runs a tenth of it."""
    graph = graph_process
    count = BULK_ROWS
    text, good = rows_with_twenty_bad(count)
    assert len(good) == count - 20
    parsed = parse_invitation_csv(text)
    page_size = max(25, count // 10)
    pages = -(-len(parsed.rows) // page_size)  # denied domains are decided on the worker
    started = time.monotonic()
    async with running_worker(time_env.client, graph, load(example_catalog()), task_queue) as a:
        invitations = InvitationClient.of(a)
        handle = await invitations.start_bulk(parsed, source="partners.csv", page_size=page_size)
        await ended(time_env.client, handle.id)
        result = await invitations.result(handle.id)
    print(f"{count} rows in {time.monotonic() - started:.1f} s")

    users = users_by_mail(graph)
    invited = {email for email, u in users.items() if email in good and u["userType"] == "Guest"}
    assert invited == good
    assert len(invitation_posts(graph)) == len(good)  # so each address exactly once
    assert (result.total, result.done) == (count, count)
    assert (result.invited, result.existing, result.invalid, result.failed) == (
        count - 20,
        0,
        15,
        5,
    )
    assert [r.line for r in result.rows] == list(range(2, count + 2))  # every row, in order
    bad = [r for r in result.rows if not r.ok]
    assert len(bad) == 20
    reasons = [r.error for r in bad]
    assert sum("not a valid email address" in e for e in reasons) == 5
    assert sum(e.startswith("missing column(s)") for e in reasons) == 5
    assert sum(e == "duplicate of line 2" for e in reasons) == 5
    denied = [r for r in bad if r.rule == Rule.INVITATION_DOMAIN]
    assert len(denied) == 5 and all("deny list" in r.error for r in denied)
    assert not any(email.endswith("@competitor.example") for email in users)
    ids = {r.email: r.object_id for r in result.rows if r.ok}
    assert all(ids[email] == users[email]["id"] for email in good)

    # A page per run, each run's history well under 2,000 events.
    runs = await run_ids(time_env.client, handle.id, handle.first_execution_run_id)
    assert len(runs) == pages
    for run_id in runs:
        history = await time_env.client.get_workflow_handle(
            handle.id, run_id=run_id
        ).fetch_history()
        assert len(history.events) < 2000
        print(f"run {run_id}: {len(history.events)} events")


async def test_progress_as_it_runs_and_what_operators_see(time_env, graph, task_queue):
    """Polled as the command line's progress bar polls it, until it says finished; only then
    the result. (The time-skipping server's continue-as-new is not atomic, sdk-java#1538: a
    query racing it can leave that run without its closing events, so a result() waiting on
    that run never returns and the run-by-run history check above does not poll.)"""
    parsed = parse_invitation_csv(HEADER + "not-an-address,,\n" + guest_rows(60))
    graph.control.add_fault(method="POST", pathRegex=INVITATIONS, latencyMs=10)
    async with running_worker(time_env.client, graph, load(example_catalog()), task_queue) as a:
        invitations = InvitationClient.of(a)
        handle = await invitations.start_bulk(parsed, source="partners.csv", page_size=20)
        seen = []
        for _ in range(1000):
            with contextlib.suppress(RPCError):  # between two runs, nobody answers for a moment
                seen.append(await invitations.progress(handle.id))
                if seen[-1].finished:
                    break
            await asyncio.sleep(0.02)
        result = await invitations.result(handle.id)
        final = await invitations.progress(handle.id)
        metadata = await handle.query("__temporal_workflow_metadata")
    done = [p.done for p in seen]
    assert done == sorted(done)  # never goes back, across continue-as-new
    assert any(0 < d < 61 for d in done) and len({p.page for p in seen}) >= 2
    assert {(p.total, p.pages) for p in seen} == {(61, 3)}
    assert final == BulkInvitationProgress(
        total=61, done=61, invited=60, invalid=1, page=3, pages=3, finished=True
    )
    assert (result.invited, result.invalid) == (60, 1)
    assert metadata.current_details == (
        "Inviting 61 guests from partners.csv, finished: 61 rows done: 60 invited, "
        "0 existing, 0 failed, 1 invalid"
    )
    first_run = time_env.client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
    assert await (await first_run.describe()).static_summary() == (
        "Invite 61 guests from partners.csv"
    )


async def test_the_same_file_again_finds_everyone_existing(time_env, graph, task_queue):
    parsed = parse_invitation_csv(HEADER + guest_rows(10))
    async with running_worker(time_env.client, graph, load(example_catalog()), task_queue) as a:
        invitations = InvitationClient.of(a)
        first = await invitations.result((await invitations.start_bulk(parsed)).id)
        again = await invitations.result((await invitations.start_bulk(parsed)).id)
    assert (first.invited, again.invited, again.existing) == (10, 0, 10)
    assert len(invitation_posts(graph)) == 10
    assert {r.object_id for r in first.rows} == {r.object_id for r in again.rows}


async def test_a_stopped_worker_is_resumed_by_a_new_one_without_inviting_anyone_twice(
    time_env, graph, task_queue
):
    rows = 120
    parsed = parse_invitation_csv(HEADER + guest_rows(rows))
    graph.control.add_fault(method="POST", pathRegex=INVITATIONS, latencyMs=20)
    catalog = load(example_catalog())
    # Without a workflow cache the first worker keeps no sticky queue: the time-skipping
    # server never times a dead worker's sticky queue out, as a real server does in 5 s.
    first = create_worker(
        time_env.client,
        catalog,
        build_graph_client(GraphSettings(base_url=graph.base_url)),
        queue=task_queue,
        max_cached_workflows=0,
    )
    invitations = InvitationClient(time_env.client, task_queue)
    async with first:
        handle = await invitations.start_bulk(parsed, source="partners.csv", page_size=40)
        for _ in range(600):
            if len(invitation_posts(graph)) >= 50:  # on the second page
                break
            await asyncio.sleep(0.05)
    # The worker has stopped (the invitations in hand finished); nothing moves without one.
    posts_when_stopped = len(invitation_posts(graph))
    await asyncio.sleep(0.5)
    assert 50 <= len(invitation_posts(graph)) == posts_when_stopped < rows
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

    async with running_worker(time_env.client, graph, catalog, task_queue) as a:
        await ended(time_env.client, handle.id)
        result = await InvitationClient.of(a).result(handle.id)
    assert (result.invited, result.existing, result.failed, result.invalid) == (rows, 0, 0, 0)
    assert len(invitation_posts(graph)) == rows  # 120 distinct guests, 120 POSTs: one each
    guests = {e for e, u in users_by_mail(graph).items() if e.endswith("@partner.example")}
    assert guests == {r.email for r in parsed.rows}


async def test_throttling_is_waited_out_at_the_pace_graph_asks(time_env, graph, task_queue):
    storm = 3
    graph.control.add_fault(
        method="POST", pathRegex=INVITATIONS, status=429, retryAfterSeconds=1, count=storm
    )
    parsed = parse_invitation_csv(HEADER + guest_rows(5))
    async with running_worker(time_env.client, graph, load(example_catalog()), task_queue) as a:
        invitations = InvitationClient.of(a)
        handle = await invitations.start_bulk(parsed, concurrency=1)
        result = await invitations.result(handle.id)
    assert (result.invited, result.failed) == (5, 0)
    posts = invitation_posts(graph)
    assert [p["status"] for p in posts] == [429] * storm + [201] * 5
    gaps = [later["time"] - earlier["time"] for earlier, later in pairwise(posts[: storm + 1])]
    assert min(gaps) >= 0.9, gaps  # Retry-After: 1 honoured before every retry


async def test_a_permanent_graph_refusal_fails_its_row_and_the_others_go_on(
    time_env, graph, task_queue
):
    graph.control.set_b2b_policy(blocked_domains=["blocked.example"])  # Graph's own policy
    parsed = parse_invitation_csv(HEADER + "x@blocked.example,X,\n" + guest_rows(3))
    async with running_worker(time_env.client, graph, load(example_catalog()), task_queue) as a:
        invitations = InvitationClient.of(a)
        result = await invitations.result((await invitations.start_bulk(parsed)).id)
    failed, *others = result.rows
    assert failed.status == InvitationStatus.FAILED
    assert "blocked" in failed.error and "B2B collaboration policy" in failed.error
    assert [r.status for r in others] == [InvitationStatus.INVITED] * 3
