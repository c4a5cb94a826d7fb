"""`accessctl invite --csv FILE` while the worker doing it is killed (SIGKILL: tasks in hand
are lost, nothing is finished gracefully) and started again: the command follows the run
to its end, every row is a guest, and nobody was sent two invitations.

The worker is one of this test's own, on a task queue of its own, so the session stack's
worker is never touched. Graph answers each invitation slowly (emulator latency), so the
kill lands with invitations in flight, some of them already sent but not yet answered.
Those are retried only when their attempt times out (30 s start-to-close, no heartbeat), and
hold their places in the run's concurrency until then: this test takes 40 s or more.
"""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import time
import uuid

import httpx

from tests.integration.conftest import BIN, Stack, start_worker, stop

ROWS = 120  # two pages of the CLI's run (100 rows a page, 10 at once)
DOMAIN = "kill.partner.example"
INVITATIONS = "^/invitations$"


def invitation_posts(stack: Stack, since: float) -> list[dict]:
    answer = httpx.get(
        f"{stack.graph_root}/_emulator/log", params={"method": "POST", "pathRegex": INVITATIONS}
    ).json()
    return [call for call in answer["value"] if call["time"] >= since]


def guests(stack: Stack) -> dict[str, str]:
    """Address -> object id of every guest at this test's domain."""
    users = httpx.get(f"{stack.graph_root}/_emulator/state").json()["users"]
    return {
        user["mail"]: user["id"]
        for user in users
        if (user.get("mail") or "").endswith(f"@{DOMAIN}") and user["userType"] == "Guest"
    }


def wait_for_line(log, text: str, count: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while not (log.exists() and log.read_text().count(text) >= count):
        assert process.poll() is None, f"the worker exited with {process.returncode}"
        assert time.monotonic() < deadline, f"no {text!r} in {log}"
        time.sleep(0.05)


def test_a_worker_killed_mid_bulk_invitation_resumes_and_invites_nobody_twice(
    stack: Stack, worker_env: dict, tmp_path
):
    queue = f"bulk-kill-{uuid.uuid4().hex[:8]}"
    env = {**worker_env, "TEMPORAL_TASK_QUEUE": queue}
    log = tmp_path / "worker.log"
    source = tmp_path / "partners.csv"
    addresses = [f"guest{i:03d}@{DOMAIN}" for i in range(ROWS)]
    source.write_text(
        "UserPrincipalName,DisplayName,InviteRedirectUrl\n"
        + "".join(f"{a},Guest {i:03d},\n" for i, a in enumerate(addresses))
    )
    slow = httpx.post(
        f"{stack.graph_root}/_emulator/faults",
        json={"method": "POST", "pathRegex": INVITATIONS, "latencyMs": 300},
    ).json()
    since = time.time()
    worker = start_worker(env, log)
    command = None
    try:
        wait_for_line(log, "worker started", 1, worker)
        command = subprocess.Popen(
            [str(BIN / "accessctl"), "invite", "--csv", str(source), "--json"],
            env={**stack.cli_env(), "TEMPORAL_TASK_QUEUE": queue},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while len(invitation_posts(stack, since)) < 20:
            assert command.poll() is None, command.communicate()
            assert time.monotonic() < deadline, "no invitations were sent"
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        time.sleep(0.5)  # the invitations Graph was still answering are answered now
        sent_before_the_kill = len(invitation_posts(stack, since))
        assert sent_before_the_kill < ROWS, "the run ended before the kill: make it slower"

        worker = start_worker(env, log)  # the same queue: it picks the run up
        stdout, stderr = command.communicate(timeout=180)
    finally:
        if command is not None and command.poll() is None:
            command.kill()
        stop(worker)
        httpx.delete(f"{stack.graph_root}/_emulator/faults/{slow['id']}")

    assert command.returncode == 0, stderr
    result = json.loads(stdout)
    assert (result["total"], result["failed"], result["invalid"]) == (ROWS, 0, 0)
    # an invitation Graph answered while nobody was listening is found, not sent again
    assert result["invited"] + result["existing"] == ROWS
    invited = guests(stack)
    assert set(invited) == set(addresses)
    posts = invitation_posts(stack, since)
    assert len(posts) == ROWS, "someone was invited twice"  # ROWS guests, ROWS invitations
    assert all(call["status"] == 201 for call in posts)

    report = list(csv.DictReader((tmp_path / "partners.report.csv").open()))
    assert [row["email"] for row in report] == addresses
    assert {row["status"] for row in report} <= {"invited", "existing"}
    assert all(row["objectId"] == invited[row["email"]] for row in report)
