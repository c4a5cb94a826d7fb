"""`graph-emulator`: serve the emulated Microsoft Graph v1.0 on a local port."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from .app import create_app
from .emulator import Emulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="graph-emulator", description="A local stand-in for Microsoft Graph v1.0."
    )
    parser.add_argument("--tenant", default="examples/tenant.yaml", help="tenant seed YAML")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument(
        "--state-file", default=None, help="JSON file that keeps the state across restarts"
    )
    parser.add_argument("--latency-ms", type=int, default=0, help="delay added to every Graph call")
    parser.add_argument(
        "--block-domain",
        action="append",
        default=[],
        help="a domain the B2B policy blocks for invitations (repeatable)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    emulator = Emulator(
        args.tenant,
        state_file=args.state_file,
        latency_ms=args.latency_ms,
        blocked_domains=args.block_domain,
    )
    logging.getLogger("graph_emulator").info(
        "Graph emulator for tenant %s on http://%s:%d/v1.0 (controls under /_emulator/)",
        emulator.directory.tenant["displayName"],
        args.host,
        args.port,
    )
    uvicorn.run(create_app(emulator), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
