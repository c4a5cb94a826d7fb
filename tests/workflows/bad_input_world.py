"""A small world for bad-input tests on the time-skipping server: one request waiting for its
approver and one delivered assignment, and a way to say that nothing changed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import HealthCheck, settings
from temporalio.client import Client

from entitlements.status import RequestState
from starter.client import AccessClient
from tests.factories import (
    ALICE,
    CAROL,
    ERIN,
    example_catalog,
    load,
    policy,
    running_worker,
    simple_policy,
    stage,
)
from tests.waiting import POLLS, wait_for

# Each example runs against the same running world; refusals must leave it as it was, so
# sharing it across examples is the point, not an accident.
CORPUS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
COST_CENTER = {
    "id": "cost-center",
    "text": "Cost center",
    "isRequired": True,
    "regexPattern": "^CC-[0-9]{4}$",
}
GOOD_ANSWERS = {"cost-center": "CC-1234"}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
READ_ONLY_POSTS = ("/checkMemberGroups",)  # Graph serves these queries as POST


@dataclass
class World:
    access: AccessClient
    graph: object
    pending: str  # alice's finance-reports, waiting for carol
    delivered: str  # erin's sales-team, extendable up to policy_end
    policy_end: datetime
    client: Client  # the raw Temporal client, for callers that skip AccessClient
    task_queue: str

    def directory_writes(self) -> list[str]:
        return [
            f"{call['method']} {call['path']}"
            for call in self.graph.control.log()
            if call["method"] in WRITES and not call["path"].endswith(READ_ONLY_POSTS)
        ]

    async def snapshot(self) -> tuple:
        """Everything a refusal must leave alone: both requests' status and audit trail, and
        the directory (no write of any kind)."""
        return (
            await self.access.status(self.pending),
            await self.access.audit(self.pending),
            await self.access.status(self.delivered),
            await self.access.audit(self.delivered),
            self.directory_writes(),
        )


def world_catalog(now: datetime):
    data = example_catalog()
    employees = simple_policy(data, "finance-reports", "employees", stage())  # carol decides
    employees["questions"] = [COST_CENTER]
    sales = policy(data, "sales-team", "everyone")
    sales["expiration"] = {
        "type": "afterDuration",
        "duration": "P30D",
        "endDateTime": (now + timedelta(days=45)).isoformat(),
    }
    sales["requestorSettings"] = {
        "enableTargetsToSelfUpdateAccess": True,
        "enableTargetsToSelfRemoveAccess": True,
        "allowCustomAssignmentSchedule": True,
    }
    admin_only = policy(data, "finance-write", "admins-only")
    admin_only["expiration"]["endDateTime"] = "2099-12-31T00:00:00Z"
    return load(data), now + timedelta(days=45)


async def mailed(graph, to: str, subject: str = "") -> None:
    """Wait until a mail whose subject holds `subject` has reached `to`."""
    for _ in range(POLLS):
        if any(subject in mail["subject"] for mail in graph.control.outbox(to=to)):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no mail {subject!r} ever reached {to}")


@asynccontextmanager
async def bad_input_world(time_env, graph, task_queue) -> AsyncIterator[World]:
    catalog, policy_end = world_catalog(await time_env.get_current_time())
    async with running_worker(time_env.client, graph, catalog, task_queue) as access:
        pending = await access.request_access("finance-reports", ALICE, answers=GOOD_ANSWERS)
        delivered = await access.request_access("sales-team", ERIN)
        await wait_for(access, pending, lambda s: s.stage is not None)
        await wait_for(access, delivered, lambda s: s.state == RequestState.DELIVERED)
        await mailed(graph, CAROL)  # the last writes of the setup: approver and delivery mail
        await mailed(graph, ERIN)
        yield World(access, graph, pending, delivered, policy_end, time_env.client, task_queue)
