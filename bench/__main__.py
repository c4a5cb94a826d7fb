"""`make bench`: every benchmark in one run, one table (paste it into the README)."""

from __future__ import annotations

import argparse
import asyncio

from activities.log import configure_logging
from bench import delivery_latency, revocation


async def main(requests: int, active: int) -> None:
    rows = await delivery_latency.run(requests)
    rows += await revocation.run(lag_count=requests, active=active)
    width = max(len(r[0]) for r in rows)
    print(f"| {'measure'.ljust(width)} | value | against the baseline |")
    print(f"|{'-' * (width + 2)}|---|---|")
    for measure, value, ratio in rows:
        print(f"| {measure.ljust(width)} | {value} | {ratio} |")


if __name__ == "__main__":
    configure_logging("console", "WARNING")  # the figures, not every Graph call
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--active", type=int, default=10_000, help="assignments asleep at once")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.active))
