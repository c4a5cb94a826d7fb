"""Revocation lag and capacity.

1. Lag: 200 assignments ending within the same few seconds; for each, the time from its end to
   the emulator answering the membership DELETE, against a bare workflow that sleeps until
   the same end and makes the same call.
2. Capacity: N active assignments sleeping on one worker process: its RSS, and the time to
   drain them (every role revoked) when they all end together.

Assignments are started directly with the snapshot intake would produce (adminAdd, no
approval): this measures the assignment's life, not intake.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from activities.directory import DirectoryActivities
from activities.graph_client import GraphSettings, build_graph_client
from bench.baseline import BARE_EXPIRY_GROUP, BareExpiryWorkflow
from bench.stack import bench_stack, percentile
from entitlements.catalog import ResourceType, Settings
from entitlements.people import Person
from entitlements.policy import AssignmentPolicy
from entitlements.requests import (
    AccessRequestInput,
    PackageSnapshot,
    RequestType,
    ResourceGrant,
    request_id_for,
)
from workflows.access_request import AccessRequestWorkflow

GROUP = BARE_EXPIRY_GROUP
# A floor for how fast one worker delivers assignments started together (18-20/s measured on
# 2 cores: 10,000 took 549 s): the common end is set this far ahead, so every one is delivered
# before it.
DELIVERIES_PER_SECOND = 15
ROOT = Path(__file__).parents[1]


def user(i: int) -> Person:
    return Person(
        email=f"user{i:04d}@contoso.example",
        id=f"00000000-0000-4000-8000-{i:012d}",
        display_name=f"Bench User {i}",
    )


def assignment(i: int, end: datetime, package: str) -> AccessRequestInput:
    policy = AssignmentPolicy.model_validate(
        {
            "id": "direct",
            "displayName": "Direct",
            "allowedTargetScope": "notSpecified",
            "expiration": {"type": "afterDuration", "duration": "P365D"},
        }
    )
    target = user(i)
    grant = ResourceGrant(
        resource_id="finance-read",
        display_name="Finance Read",
        type=ResourceType.GROUP,
        origin_id=GROUP,
        role="Member",
    )
    return AccessRequestInput(
        request_id=request_id_for(package, target),
        request_type=RequestType.ADMIN_ADD,
        package=PackageSnapshot(
            id=package,
            display_name=package,
            catalog_id="bench",
            catalog_display_name="Bench",
            grants=[grant],
        ),
        policy=policy,
        target=target,
        requestor=Person(email="admin@contoso.example"),
        end=end,
        settings=Settings(notifications={"isEnabled": False}),
        submitted_at=datetime.now(UTC),
    )


async def start_assignments(
    client: Client, queue: str, count: int, end, package: str, first_user: int = 0
):
    semaphore = asyncio.Semaphore(50)

    async def one(i: int) -> None:
        async with semaphore:
            request = assignment(first_user + i, end(i), package)
            await client.start_workflow(
                AccessRequestWorkflow.run, request, id=request.request_id, task_queue=queue
            )

    await asyncio.gather(*(one(i) for i in range(count)))


async def deletes_by_user(emulator, count: int, wait_seconds: float) -> dict[str, float]:
    """user id -> time the emulator answered its membership DELETE. The times are the
    emulator's, so polling seldom (its log is long) costs the measure nothing."""
    deadline = time.monotonic() + wait_seconds
    while True:
        found = {
            e["path"].split("/members/")[1].split("/")[0]: e["time"]
            for e in await emulator.log("DELETE")
            if "/members/" in e["path"] and e["status"] < 300
        }
        if len(found) >= count or time.monotonic() > deadline:
            return found
        await asyncio.sleep(1.0)


async def adds_done(emulator, count: int) -> None:
    while True:
        adds = [e for e in await emulator.log("POST") if e["status"] < 300]
        if len(adds) >= count:
            return
        await asyncio.sleep(1.0)


def worker_process(env_vars: dict, queue: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "worker.py")],
        env={**os.environ, **env_vars, "TEMPORAL_TASK_QUEUE": queue, "LOG_LEVEL": "WARNING"},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def measure_lag(env, emulator, count: int, spread: float) -> tuple[list[float], list[float]]:
    graph = build_graph_client(GraphSettings(base_url=emulator.base_url))
    directory = DirectoryActivities(graph)
    settle = max(20.0, count / 10)  # time to deliver them all before the first end

    def ends(base: datetime):
        return lambda i: base + timedelta(seconds=spread * i / count)

    # ours: a worker process, as deployed
    worker = worker_process(
        {
            "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "GRAPH_BASE_URL": emulator.base_url,
        },
        "bench",
    )
    try:
        base = datetime.now(UTC) + timedelta(seconds=settle)
        await emulator.clear_log()
        await start_assignments(env.client, "bench", count, ends(base), "bench-lag")
        await adds_done(emulator, count)
        deleted = await deletes_by_user(emulator, count, settle + spread + 60)
        ours = [
            deleted[user(i).id] - ends(base)(i).timestamp()
            for i in range(count)
            if user(i).id in deleted
        ]
    finally:
        worker.terminate()
        worker.wait()
    await emulator.http.post("/_emulator/reset")
    await emulator.clear_log()
    async with Worker(
        env.client,
        task_queue="bench-bare-expiry",
        workflows=[BareExpiryWorkflow],
        activities=directory.all(),
    ):
        base = datetime.now(UTC) + timedelta(seconds=settle)
        for i in range(count):
            await env.client.start_workflow(
                BareExpiryWorkflow.run,
                args=[user(i).id, ends(base)(i)],
                id=f"bare-expiry-{uuid.uuid4()}",
                task_queue="bench-bare-expiry",
            )
        deleted = await deletes_by_user(emulator, count, settle + spread + 60)
        bare = [
            deleted[user(i).id] - ends(base)(i).timestamp()
            for i in range(count)
            if user(i).id in deleted
        ]
    return ours, bare


async def measure_capacity(
    env, emulator, count: int, first_user: int = 0
) -> tuple[float, float, int, float]:
    """RSS with `count` assignments asleep, and the seconds from their common end to the last
    role revoked. The end is set far enough ahead for all of them to be delivered first."""
    await emulator.http.post("/_emulator/reset")
    await emulator.clear_log()
    worker = worker_process(
        {
            "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "GRAPH_BASE_URL": emulator.base_url,
        },
        "bench",
    )
    try:
        started = time.monotonic()
        end = datetime.now(UTC) + timedelta(seconds=60 + count / DELIVERIES_PER_SECOND)
        await start_assignments(
            env.client, "bench", count, lambda i: end, "bench-cap", first_user=first_user
        )
        await adds_done(emulator, count)
        deliver_seconds = time.monotonic() - started
        if datetime.now(UTC) >= end:
            raise RuntimeError("delivery took longer than the margin before the common end")
        await asyncio.sleep(2)
        rss = rss_mib(worker.pid)
        deleted = await deletes_by_user(
            emulator, count, (end - datetime.now(UTC)).total_seconds() + 3600
        )
        drain = max(deleted.values()) - end.timestamp() if deleted else float("nan")
    finally:
        worker.terminate()
        worker.wait()
    return rss, drain, len(deleted), deliver_seconds


async def run(lag_count: int = 200, spread: float = 3.0, active: int = 10_000) -> list[tuple]:
    rows = []
    async with bench_stack(users=lag_count + active) as (env, emulator):
        ours, bare = await measure_lag(env, emulator, lag_count, spread)
        for name, fraction in (("p50", 0.5), ("p99", 0.99)):
            mine, base = percentile(ours, fraction), percentile(bare, fraction)
            rows.append(
                (
                    f"revocation lag {name} ({len(ours)} of {lag_count} ending in {spread:.0f} s)",
                    f"{mine * 1000:.0f} ms (baseline {base * 1000:.0f} ms)",
                    f"{mine / base:.2f}x baseline" if base > 0 else "-",
                )
            )
        if active:
            rss, drain, drained, delivered_in = await measure_capacity(
                env, emulator, active, first_user=lag_count
            )
            rows.append((f"worker RSS with {active} active assignments", f"{rss:.0f} MiB", "-"))
            rows.append(
                (
                    f"{active} assignments ending at the same second: last role revoked after",
                    f"{drain:.1f} s ({drained} revoked; delivering them took {delivered_in:.0f} s)",
                    "-",
                )
            )
    return rows
