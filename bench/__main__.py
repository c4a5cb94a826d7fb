"""`make bench`: every benchmark in one run, one table (paste it into the README)."""

from __future__ import annotations

import argparse
import asyncio

from activities.log import configure_logging
from bench import delivery_latency


async def main(requests: int) -> None:
    rows = await delivery_latency.run(requests)
    width = max(len(r[0]) for r in rows)
    print(f"| {'measure'.ljust(width)} | value | against the baseline |")
    print(f"|{'-' * (width + 2)}|---|---|")
    for measure, value, ratio in rows:
        print(f"| {measure.ljust(width)} | {value} | {ratio} |")


if __name__ == "__main__":
    configure_logging("console", "WARNING")  # the figures, not every Graph call
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    asyncio.run(main(parser.parse_args().requests))
