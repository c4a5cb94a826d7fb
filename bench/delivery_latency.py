"""Last approval -> delivered, against a bare Temporal workflow making the same three Graph
calls in the same run (issue: deliver within a second of the last approval).

Both are timed from the moment the approval (or the baseline's signal) is sent to the moment
the emulator answered the last of the three directory writes, one request at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from temporalio.worker import Worker

from activities.directory import DirectoryActivities
from activities.directory_models import AppRoleInput, GroupMemberInput
from activities.graph_client import GraphSettings, build_graph_client
from bench.baseline import BareDeliveryWorkflow
from bench.catalog import ONE_STAGE, PACKAGE, bench_catalog
from bench.stack import APPROVER, bench_stack, percentile
from starter.client import AccessClient
from worker import create_worker, workflow_tuning

GROUP_A = "6f1b6c2e-0000-4000-8000-000000000001"
GROUP_B = "6f1b6c2e-0000-4000-8000-000000000005"
REPORTS = "9a0e1f3d-0000-4000-8000-000000000002"
VIEWER = "1b2c3d4e-0000-4000-8000-000000000003"


async def writes_done(emulator, count: int) -> float:
    """Wait for `count` successful directory writes; the time the last one was answered."""
    while True:
        writes = [
            e for e in await emulator.log()
            if e["method"] == "POST" and e["status"] < 300 and "sendMail" not in e["path"]
        ]  # fmt: skip
        if len(writes) >= count:
            return max(e["time"] for e in writes[:count])
        await asyncio.sleep(0.005)


async def mail_about(emulator, to: str, about: str) -> None:
    """Until `to` has been sent a mail that names `about`."""
    while True:
        mails = (await emulator.http.get("/_emulator/outbox", params={"to": to})).json()
        if any(about in f"{m.get('subject')} {m.get('body')}" for m in mails["value"]):
            return
        await asyncio.sleep(0.005)


async def measure_ours(env, emulator, requests: int) -> list[float]:
    access = AccessClient(env.client, "bench-ours")
    latencies = []
    graph = build_graph_client(GraphSettings(base_url=emulator.base_url))
    # the worker as deployed (see worker.workflow_tuning)
    worker = create_worker(env.client, bench_catalog(), graph, "bench-ours", **workflow_tuning())
    async with worker:
        for i in range(requests):
            user = f"user{i:04d}@contoso.example"
            request_id = await access.request_access(PACKAGE, user, policy=ONE_STAGE)
            while (await access.status(request_id)).stage is None:
                await asyncio.sleep(0.01)
            # An approver decides after the mail that asks them to (the baseline sends none),
            # and, as for the baseline, once the workflow has settled into its wait.
            await mail_about(emulator, APPROVER, user)
            await asyncio.sleep(0.05)
            await emulator.clear_log()
            started = time.time()
            await access.approve(request_id, APPROVER)
            latencies.append(await writes_done(emulator, 3) - started)
            while (await access.status(request_id)).state != "delivered":
                await asyncio.sleep(0.01)
    return latencies


async def measure_baseline(env, emulator, requests: int) -> list[float]:
    directory = DirectoryActivities(build_graph_client(GraphSettings(base_url=emulator.base_url)))
    latencies = []
    async with Worker(
        env.client,
        task_queue="bench-bare",
        workflows=[BareDeliveryWorkflow],
        activities=directory.all(),
    ):
        for i in range(requests):
            user_id = f"00000000-0000-4000-8000-{i:012d}"
            calls = [
                GroupMemberInput(group_id=GROUP_A, user_id=user_id),
                GroupMemberInput(group_id=GROUP_B, user_id=user_id),
                AppRoleInput(
                    service_principal_id=REPORTS, app_role_id=VIEWER, principal_id=user_id
                ),
            ]
            handle = await env.client.start_workflow(
                BareDeliveryWorkflow.run, calls, id=f"bare-{uuid.uuid4()}", task_queue="bench-bare"
            )
            await asyncio.sleep(0.05)  # let the workflow reach its wait, as a pending request has
            await emulator.clear_log()
            started = time.time()
            await handle.signal(BareDeliveryWorkflow.start_delivery)
            latencies.append(await writes_done(emulator, 3) - started)
            await handle.result()
    return latencies


async def run(requests: int) -> list[tuple[str, str, str]]:
    async with bench_stack(users=requests) as (env, emulator):
        baseline = await measure_baseline(env, emulator, requests)
        # the baseline wrote these memberships: start ours from the same directory
        await emulator.http.post("/_emulator/reset")
        ours = await measure_ours(env, emulator, requests)
    rows = []
    for name, fraction in (("p50", 0.5), ("p99", 0.99)):
        mine, bare = percentile(ours, fraction), percentile(baseline, fraction)
        rows.append(
            (
                f"last approval -> delivered {name} ({requests} requests, 3 resources)",
                f"{mine * 1000:.0f} ms (baseline {bare * 1000:.0f} ms)",
                f"{mine / bare:.2f}x baseline",
            )
        )
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    for row in asyncio.run(run(args.requests)):
        print(" | ".join(row))
