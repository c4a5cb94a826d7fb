"""The delivery-latency and revocation benchmarks as figures with their goals (issue 7).

bench/delivery_latency.py and bench/revocation.py measure; this module runs their measurements
in the same order as their own `run` and states the goals: last approval -> delivered p50
within 1.5x the baseline and p99 under 1 s; revocation lag p99 under 1 s; worker RSS with N
active assignments measured.
"""

from __future__ import annotations

from bench import delivery_latency, revocation
from bench.figures import Figure
from bench.stack import bench_stack, percentile

P50_GOAL_RATIO = 1.5
P99_GOAL_SECONDS = 1.0
LAG_SPREAD_SECONDS = 3.0


async def delivery(requests: int) -> list[Figure]:
    async with bench_stack(users=requests) as (env, emulator):
        baseline = await delivery_latency.measure_baseline(env, emulator, requests)
        await emulator.http.post("/_emulator/reset")  # the baseline wrote these memberships
        ours = await delivery_latency.measure_ours(env, emulator, requests)
    what = f"last approval -> delivered {{}} ({requests} requests, 3 resources)"
    p50, base50 = percentile(ours, 0.5), percentile(baseline, 0.5)
    p99, base99 = percentile(ours, 0.99), percentile(baseline, 0.99)
    return [
        Figure(
            what.format("p50"),
            p50 * 1000,
            "ms",
            base50 * 1000,
            goal=f"<= {P50_GOAL_RATIO}x baseline",
            met=p50 <= P50_GOAL_RATIO * base50,
        ),
        Figure(
            what.format("p99"),
            p99 * 1000,
            "ms",
            base99 * 1000,
            goal=f"< {P99_GOAL_SECONDS * 1000:.0f} ms",
            met=p99 < P99_GOAL_SECONDS,
        ),
    ]


async def revocations(lag_count: int, active: int) -> list[Figure]:
    figures = []
    async with bench_stack(users=lag_count + active) as (env, emulator):
        ours, bare = await revocation.measure_lag(env, emulator, lag_count, LAG_SPREAD_SECONDS)
        what = f"revocation lag {{}} ({len(ours)} of {lag_count} ending within 3 s)"
        for name, fraction in (("p50", 0.5), ("p99", 0.99)):
            mine, base = percentile(ours, fraction), percentile(bare, fraction)
            goal = name == "p99"
            figures.append(
                Figure(
                    what.format(name),
                    mine * 1000,
                    "ms",
                    base * 1000,
                    goal=f"< {P99_GOAL_SECONDS * 1000:.0f} ms" if goal else "-",
                    met=mine < P99_GOAL_SECONDS if goal else None,
                )
            )
        if active:
            rss, drain, drained, delivered_in = await revocation.measure_capacity(
                env, emulator, active, first_user=lag_count
            )
            figures.append(
                Figure(
                    f"worker RSS with {active:,} active assignments",
                    rss,
                    "MiB",
                    goal="measured",
                    note=(
                        f"delivering them took {delivered_in:.0f} s; when all {active:,} end at "
                        f"the same second, the last role is revoked after {drain:.1f} s "
                        f"({drained:,} revoked)"
                    ),
                )
            )
    return figures
