"""`make bench`: every benchmark in one run, one table (paste it into the README).

`python -m bench --quick` runs each with small numbers, to check the scripts, not to quote.
A benchmark that fails is a row saying so; the others still run.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import traceback

from bench import assignment_events, bulk_invitations, graph_calls, latency_figures, throughput
from bench.figures import Figure, quiet_logs, table

FULL = {"requests": 200, "active": 10_000, "guests": 1_000}
QUICK = {"requests": 10, "active": 100, "guests": 50}
# A bench that stalls (a workflow stuck, say) becomes a failed row instead of hanging the run.
LIMIT_SECONDS = {"full": 2 * 3600, "quick": 600}


def benchmarks(requests: int, active: int, guests: int) -> list:
    """(name, coroutine factory), in the order the issue lists the figures."""
    return [
        ("delivery latency", lambda: latency_figures.delivery(requests)),
        ("auto-approved throughput", lambda: throughput.run(requests)),
        ("revocation", lambda: latency_figures.revocations(requests, active)),
        ("history events", assignment_events.run),
        ("Graph calls per delivery", graph_calls.run),
        ("bulk invitation", lambda: bulk_invitations.run(guests)),
    ]


async def main(requests: int, active: int, guests: int, limit: float) -> int:
    figures: list[Figure] = []
    failed = 0
    for name, bench in benchmarks(requests, active, guests):
        started = time.monotonic()
        print(f"-- {name} ...", flush=True)
        try:
            figures += await asyncio.wait_for(bench(), limit)
        except TimeoutError:
            failed += 1
            note = f"stalled: no figures after {limit:.0f} s"
            figures.append(Figure(name, float("nan"), "", goal="-", met=False, note=note))
        except Exception as error:  # noqa: BLE001 - one broken bench must not hide the others
            traceback.print_exc()
            failed += 1
            figures.append(
                Figure(name, float("nan"), "", goal="-", met=False, note=f"failed: {error!r}")
            )
        print(f"   {name}: {time.monotonic() - started:.0f} s", flush=True)
    print()
    print(table(figures))
    return 1 if failed else 0


if __name__ == "__main__":
    quiet_logs()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small numbers: check the scripts")
    parser.add_argument("--requests", type=int, help=f"requests per phase ({FULL['requests']})")
    parser.add_argument("--active", type=int, help=f"assignments asleep at once ({FULL['active']})")
    parser.add_argument("--guests", type=int, help=f"guests invited in bulk ({FULL['guests']})")
    arguments = parser.parse_args()
    sizes = QUICK if arguments.quick else FULL
    chosen = {k: getattr(arguments, k) or v for k, v in sizes.items()}
    limit = LIMIT_SECONDS["quick" if arguments.quick else "full"]
    sys.exit(asyncio.run(main(**chosen, limit=limit)))
