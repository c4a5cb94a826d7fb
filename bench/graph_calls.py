"""Graph calls per delivery, counted in the emulator's call log.

Two deliveries of `bench-three` (three resources), each approved by one approver: one for a
member already in the directory, one for an address never seen before (a new guest, invited at
delivery). The log is cleared just before the approval, so what it holds once the request is
delivered and the worker has gone quiet is the delivery: the goal is one write per resource,
plus the invitation for a new guest. Mail (sendMail) is notification, not delivery: listed and
counted apart. What intake and the approval stage cost before that is printed too.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter

from activities.graph_client import GraphSettings, build_graph_client
from bench.catalog import GUESTS, ONE_STAGE, PACKAGE, bench_catalog
from bench.figures import Figure
from bench.stack import APPROVER, bench_stack
from starter.client import AccessClient
from worker import create_worker, workflow_tuning

QUEUE = "bench-calls"
RESOURCES = 3
NEW_GUEST = "new.guest@partner-bench.example"
_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ADDRESS = re.compile(r"[^/'()]+@[^/'()]+")


def template(call: dict) -> str:
    """`POST /groups/{id}/members/$ref`: the call with its ids and addresses taken out."""
    path = _ADDRESS.sub("{address}", _ID.sub("{id}", call["path"]))
    query = ",".join(sorted(call.get("query") or {}))
    inside = " (in $batch)" if call.get("batchId") else ""
    return f"{call['method']} {path}{'?' + query if query else ''}{inside}"


def kind(call: dict) -> str:
    """write (grants a role), invitation, mail, or other (a read, or anything else)."""
    if call["path"].endswith("/sendMail"):
        return "mail"
    if call["method"] == "POST" and call["path"].rstrip("/") == "/invitations":
        return "invitation"
    if call["method"] in ("POST", "PATCH", "PUT") and call["path"] != "/$batch":
        return "write"
    return "other"


async def quiet_log(emulator, settle: float = 1.0) -> list[dict]:
    """The log once nothing has been added to it for `settle` seconds (mail comes last)."""
    seen, quiet = -1, 0.0
    while quiet < settle:
        calls = await emulator.log()
        quiet = quiet + 0.1 if len(calls) == seen else 0.0
        seen = len(calls)
        await asyncio.sleep(0.1)
    return calls


async def until(access: AccessClient, request_id: str, condition):
    for _ in range(3000):
        status = await access.status(request_id)
        if condition(status):
            return status
        await asyncio.sleep(0.02)
    raise RuntimeError(f"{request_id} stalled: {status.state}")


async def one_delivery(access: AccessClient, emulator, target: str, policy: str) -> tuple:
    """(calls before the approval, calls of the delivery) for one request."""
    await emulator.clear_log()
    request_id = await access.request_access(PACKAGE, target, policy=policy)
    await until(access, request_id, lambda s: s.stage is not None)
    before = await quiet_log(emulator, settle=0.5)
    await emulator.clear_log()
    await access.approve(request_id, APPROVER)
    ended = ("delivered", "partiallyDelivered", "deliveryFailed")
    status = await until(access, request_id, lambda s: s.state in ended)
    if status.state != "delivered":
        raise RuntimeError(f"{target}: the bench delivery ended {status.state}")
    return before, await quiet_log(emulator)


def describe(title: str, calls: list[dict]) -> None:
    print(f"  {title}: {len(calls)} Graph call(s)")
    for name, count in sorted(Counter(template(c) for c in calls).items()):
        print(f"    {count} x {name}")


def figure(who: str, calls: list[dict], expected: int, invitations: int) -> Figure:
    kinds = Counter(kind(c) for c in calls)
    counted = [c for c in calls if kind(c) != "mail"]
    extra = Counter(
        template(c) + (f" (right after {template(calls[i - 1])})" if i else "")
        for i, c in enumerate(calls)
        if kind(c) == "other"
    )
    for name, allowed in (("write", RESOURCES), ("invitation", invitations)):
        surplus = kinds[name] - allowed
        if surplus > 0:
            extra[f"{surplus} more {name}(s) than needed"] += 1
    note = f"{who}: " + (
        "extra: " + "; ".join(f"{n} x {name}" for name, n in sorted(extra.items()))
        if extra
        else "no extra calls"
    )
    if kinds["mail"]:
        note += f"; besides, {kinds['mail']} sendMail (notification, not counted)"
    return Figure(
        metric=f"Graph calls per delivery, {who}",
        ours=len(counted),
        unit="calls",
        goal=f"<= {expected}",
        met=len(counted) <= expected,
        note=note,
    )


async def run() -> list[Figure]:
    async with bench_stack(users=1) as (env, emulator):
        graph = build_graph_client(GraphSettings(base_url=emulator.base_url))
        access = AccessClient(env.client, QUEUE)
        async with create_worker(env.client, bench_catalog(), graph, QUEUE, **workflow_tuning()):
            member = await one_delivery(access, emulator, "user0000@contoso.example", ONE_STAGE)
            guest = await one_delivery(access, emulator, NEW_GUEST, GUESTS)
    print("Graph calls (emulator log), by method and path:")
    for who, (before, delivery) in (("member", member), ("new guest", guest)):
        describe(f"{who}, request to approval pending (intake, approvers, mail)", before)
        describe(f"{who}, approval to delivered (the delivery)", delivery)
    return [
        figure("member, 3 resources", member[1], RESOURCES, invitations=0),
        figure("new guest, 3 resources", guest[1], RESOURCES + 1, invitations=1),
    ]


if __name__ == "__main__":
    from bench.figures import quiet_logs, table

    quiet_logs()
    print(table(asyncio.run(run())))
