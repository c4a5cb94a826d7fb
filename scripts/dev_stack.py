"""`make dev`: the whole local stack on loopback, until Ctrl-C.

Starts the Temporal dev server (Web UI on :8233, SQLite file under .data/ so state survives a
restart, the project's search attributes registered), the Graph emulator seeded with
examples/tenant.yaml (its state also under .data/), and the worker loaded with
examples/catalog.yaml; prints where to look and what to try; stops everything on Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DATA = ROOT / ".data"

TEMPORAL_PORT = int(os.environ.get("TEMPORAL_PORT", "7233"))
UI_PORT = int(os.environ.get("TEMPORAL_UI_PORT", "8233"))
GRAPH_PORT = int(os.environ.get("GRAPH_PORT", "8900"))
HOST = "127.0.0.1"

FIRST_STEPS = f"""
  accessctl is up.
    Temporal Web UI   http://{HOST}:{UI_PORT}
    Temporal          {HOST}:{TEMPORAL_PORT}
    Graph emulator    http://{HOST}:{GRAPH_PORT}/v1.0   (mail sent: http://{HOST}:{GRAPH_PORT}/_emulator/outbox)
    Logs              .data/*.log

  Try, in another terminal (Alice asks for finance reports; Bob, her manager, approves):
    . .venv/bin/activate
    accessctl request finance-reports --for alice@contoso.example \\
        --justification "Quarter close" --answer cost-center=CC-1234
    accessctl pending --approver bob@contoso.example
    accessctl approve access:finance-reports:alice@contoso.example --as bob@contoso.example
    accessctl status access:finance-reports:alice@contoso.example

  Ctrl-C stops everything.
"""


def search_attribute_flags() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from workflows.search_attributes import cli_types

    return [f"--search-attribute={name}={kind}" for name, kind in cli_types().items()]


def wait_for_port(port: int, what: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}; see .data/*.log")
        with socket.socket() as probe:
            if probe.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"{what} did not listen on {HOST}:{port} within {seconds:.0f} s")


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((HOST, port)) != 0


def start(name: str, command: list[str], env: dict | None = None) -> subprocess.Popen:
    log = open(DATA / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
    print(f"  starting {name}: {' '.join(command[:3])} ...", flush=True)
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order
    )


def stop(processes: list[tuple[str, subprocess.Popen]]) -> None:
    for name, process in reversed(processes):  # worker first, Temporal last
        if process.poll() is None:
            print(f"  stopping {name}", flush=True)
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main() -> int:
    DATA.mkdir(exist_ok=True)
    for port, what in ((TEMPORAL_PORT, "Temporal"), (UI_PORT, "the UI"), (GRAPH_PORT, "Graph")):
        if not port_is_free(port):
            raise SystemExit(f"port {port} for {what} is in use: is another `make dev` running?")
    processes: list[tuple[str, subprocess.Popen]] = []
    interrupted = False

    def on_signal(signum, frame):  # noqa: ARG001
        nonlocal interrupted
        interrupted = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        temporal = start(
            "temporal",
            [
                str(BIN / "temporal"), "server", "start-dev",
                "--ip", HOST, "--port", str(TEMPORAL_PORT), "--ui-port", str(UI_PORT),
                "--db-filename", str(DATA / "temporal.db"),
                "--sqlite-pragma", "journal_mode=WAL", "--sqlite-pragma", "synchronous=NORMAL",
                "--log-level", "error",
                *search_attribute_flags(),
            ],
        )  # fmt: skip
        processes.append(("temporal", temporal))
        graph = start(
            "graph-emulator",
            [
                str(BIN / "graph-emulator"), "--tenant", str(ROOT / "examples" / "tenant.yaml"),
                "--host", HOST, "--port", str(GRAPH_PORT),
                "--state-file", str(DATA / "graph-state.json"),
            ],
        )  # fmt: skip
        processes.append(("graph-emulator", graph))
        wait_for_port(TEMPORAL_PORT, "Temporal", temporal)
        wait_for_port(UI_PORT, "the Temporal UI", temporal)
        wait_for_port(GRAPH_PORT, "the Graph emulator", graph)
        worker = start(
            "worker",
            [str(BIN / "python"), str(ROOT / "worker.py")],
            env={
                "TEMPORAL_ADDRESS": f"{HOST}:{TEMPORAL_PORT}",
                "GRAPH_BASE_URL": f"http://{HOST}:{GRAPH_PORT}/v1.0",
                "ACCESSCTL_CATALOG": str(ROOT / "examples" / "catalog.yaml"),
                "LOG_FORMAT": "console",
            },
        )
        processes.append(("worker", worker))
        time.sleep(1)
        if worker.poll() is not None:
            raise SystemExit("the worker exited; see .data/worker.log")
        print(FIRST_STEPS, flush=True)
        while not interrupted:
            for name, process in processes:
                if process.poll() is not None:
                    print(f"  {name} exited with {process.returncode}; see .data/{name}.log")
                    interrupted = True
            time.sleep(0.5)
    finally:
        stop(processes)
    print("  stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
