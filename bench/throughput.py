"""Auto-approved requests delivered per second, against a bare Temporal baseline.

N requests under a policy with no approval stage are started as fast as the client can (up to
`CLIENT_CONCURRENCY` at once); the figure is N over the time from the first start to the last
role written (the emulator's log). The baseline starts N bare workflows that make the same
Graph calls (the target looked up by address, one write per resource, the "you have access"
mail) on the same stack.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from temporalio.worker import Worker

from activities.directory import DirectoryActivities
from activities.directory_models import AppRoleInput, GroupMemberInput
from activities.graph_client import GraphSettings, build_graph_client
from bench.baseline import BareAutoRequestWorkflow
from bench.catalog import AUTO, PACKAGE, SALES, bench_catalog
from bench.figures import Figure
from bench.stack import bench_stack
from starter.client import AccessClient
from worker import create_worker, workflow_tuning

QUEUE = "bench-throughput"
BARE_QUEUE = "bench-throughput-bare"
CLIENT_CONCURRENCY = 100
FINANCE_READ = "6f1b6c2e-0000-4000-8000-000000000001"
REPORTS = "9a0e1f3d-0000-4000-8000-000000000002"
VIEWER = "1b2c3d4e-0000-4000-8000-000000000003"
WRITES = r"(/members/\$ref|/appRoleAssignedTo)$"
GOAL_RATIO = 0.7


def email(i: int) -> str:
    return f"user{i:04d}@contoso.example"


def writes(i: int) -> list[AppRoleInput | GroupMemberInput]:
    user_id = f"00000000-0000-4000-8000-{i:012d}"
    return [
        GroupMemberInput(group_id=FINANCE_READ, user_id=user_id),
        GroupMemberInput(group_id=SALES, user_id=user_id),
        AppRoleInput(service_principal_id=REPORTS, app_role_id=VIEWER, principal_id=user_id),
    ]


async def last_write(emulator, count: int, within: float) -> float:
    """The time the `count`th successful role write was answered."""
    deadline = time.monotonic() + within
    while True:
        answer = await emulator.http.get(
            "/_emulator/log", params={"method": "POST", "pathRegex": WRITES}
        )
        done = [c["time"] for c in answer.json()["value"] if c["status"] < 300]
        if len(done) >= count:
            return sorted(done)[count - 1]
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(done)} of {count} roles written in {within:.0f} s")
        await asyncio.sleep(0.2)


async def started_at_once(count: int, start) -> float:
    """Start `count` items through `start(i)`, CLIENT_CONCURRENCY at a time; the first start."""
    gate = asyncio.Semaphore(CLIENT_CONCURRENCY)

    async def one(i: int) -> None:
        async with gate:
            await start(i)

    first = time.time()
    await asyncio.gather(*(one(i) for i in range(count)))
    return first


async def measure_ours(env, emulator, count: int) -> float:
    access = AccessClient(env.client, QUEUE)
    graph = build_graph_client(GraphSettings(base_url=emulator.base_url))
    # the worker as deployed (see worker.workflow_tuning)
    async with create_worker(env.client, bench_catalog(), graph, QUEUE, **workflow_tuning()):
        first = await started_at_once(
            count, lambda i: access.request_access(PACKAGE, email(i), policy=AUTO)
        )
        last = await last_write(emulator, count * 3, within=60 + count)
    return count / (last - first)


async def measure_baseline(env, emulator, count: int) -> float:
    directory = DirectoryActivities(build_graph_client(GraphSettings(base_url=emulator.base_url)))
    async with Worker(
        env.client,
        task_queue=BARE_QUEUE,
        workflows=[BareAutoRequestWorkflow],
        activities=directory.all(),
    ):
        first = await started_at_once(
            count,
            lambda i: env.client.start_workflow(
                BareAutoRequestWorkflow.run,
                args=[email(i), writes(i)],
                id=f"bare-auto-{uuid.uuid4()}",
                task_queue=BARE_QUEUE,
            ),
        )
        last = await last_write(emulator, count * 3, within=60 + count)
    return count / (last - first)


async def run(requests: int = 200) -> list[Figure]:
    async with bench_stack(users=requests) as (env, emulator):
        baseline = await measure_baseline(env, emulator, requests)
        await emulator.http.post("/_emulator/reset")  # the same memberships, written again
        ours = await measure_ours(env, emulator, requests)
    return [
        Figure(
            metric=f"auto-approved requests delivered per second ({requests}, 3 resources)",
            ours=ours,
            unit="/s",
            baseline=baseline,
            goal=f">= {GOAL_RATIO}x baseline",
            met=ours >= GOAL_RATIO * baseline,
        )
    ]


if __name__ == "__main__":
    import argparse

    from bench.figures import quiet_logs, table

    quiet_logs()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    print(table(asyncio.run(run(parser.parse_args().requests))))
