"""Bulk invitation of N new guests from a CSV file, against a Graph that is slow and throttles.

The emulator answers every call after `LATENCY_MS` (about what Graph takes) and throttles as
Graph does: past `THROTTLE_PER_SECOND` calls in a sliding second, 429 with Retry-After. The
bulk workflow runs as `accessctl invite --csv` starts it (pages of 100, 10 rows at once).
The figures: invitations per second from the start to the workflow's result, and the 429
answers the run caused. The throttle is a ceiling no client can pass: it allows at most
THROTTLE_PER_SECOND / (calls per new guest) invitations per second, which the note gives.
"""

from __future__ import annotations

import asyncio
import time

from activities.graph_client import GraphSettings, build_graph_client
from bench.catalog import bench_catalog
from bench.figures import Figure
from bench.stack import bench_stack
from entitlements.invitations import parse_invitation_csv
from starter.invitations import InvitationClient
from worker import create_worker, workflow_tuning

QUEUE = "bench-invitations"
LATENCY_MS = 50
THROTTLE_PER_SECOND = 20  # well below the ~200 calls/s that 10 rows at once would ask


def guests_csv(count: int) -> str:
    rows = [
        f"guest{i:04d}@partner-bench.example,Bench Guest {i},https://myapps.contoso.example"
        for i in range(count)
    ]
    return "\n".join(["UserPrincipalName,DisplayName,InviteRedirectUrl", *rows]) + "\n"


async def run(guests: int = 1000) -> list[Figure]:
    async with bench_stack(users=0, latency_ms=LATENCY_MS) as (env, emulator):
        await emulator.http.patch(
            "/_emulator/settings",
            json={"throttleLimit": THROTTLE_PER_SECOND, "throttleWindowMs": 1000},
        )
        await emulator.clear_log()
        graph = build_graph_client(GraphSettings(base_url=emulator.base_url))
        invitations = InvitationClient(env.client, QUEUE)
        async with create_worker(env.client, bench_catalog(), graph, QUEUE, **workflow_tuning()):
            started = time.monotonic()
            handle = await invitations.start_bulk(
                parse_invitation_csv(guests_csv(guests)), source="bench.csv"
            )
            result = await invitations.result(handle.id)
            seconds = time.monotonic() - started
        calls = await emulator.log()
    throttled = sum(1 for c in calls if c["status"] == 429)
    answered = len(calls) - throttled
    sent = sum(1 for c in calls if c["path"] == "/invitations" and c["status"] < 300)
    if sent != guests or result.invited + result.existing != guests:
        raise RuntimeError(
            f"{sent} invitations sent for {guests} guests; the result: "
            f"{result.model_dump(exclude={'rows'})}"
        )
    per_guest = answered / guests
    # A guest invited by this run is reported `existing` when its invitation went through and
    # the read after it was throttled: the retry finds the guest already there.
    misreported = (
        f"; {result.existing} invited by this run but reported existing" if result.existing else ""
    )
    label = f"{guests:,} guests, {LATENCY_MS} ms a call, {THROTTLE_PER_SECOND} calls/s"
    return [
        Figure(
            metric=f"bulk invitation ({label}): invitations per second",
            ours=guests / seconds,
            unit="/s",
            goal="measured",
            note=(
                f"{per_guest:.1f} Graph calls answered per new guest, so the throttle allows "
                f"at most {THROTTLE_PER_SECOND / per_guest:.1f} invitations/s; {guests:,} took "
                f"{seconds:.0f} s"
            ),
        ),
        Figure(
            metric=f"bulk invitation ({label}): 429 answers",
            ours=throttled,
            unit="answers",
            goal="measured",
            note=f"{throttled:,} of {len(calls):,} calls answered 429{misreported}",
        ),
    ]


if __name__ == "__main__":
    import argparse

    from bench.figures import quiet_logs, table

    quiet_logs()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--guests", type=int, default=1000)
    print(table(asyncio.run(run(parser.parse_args().guests))))
