"""The stack as a user runs it: the real Temporal dev server, the Graph emulator and the worker
as separate processes, driven through the client and the `accessctl` CLI."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import yaml
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from starter.client import AccessClient
from tests.conftest import DEV_SERVER, EXAMPLES
from tests.integration.cli_catalog import cli_tests_catalog
from workflows import search_attributes

ROOT = Path(__file__).parents[2]
BIN = Path(sys.executable).parent
TASK_QUEUE = "accessctl-integration"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered at {url}")


@dataclass
class Stack:
    env: WorkflowEnvironment
    temporal_address: str
    graph_root: str  # http://127.0.0.1:PORT (Graph under /v1.0, controls under /_emulator)
    worker_log: Path
    access: AccessClient

    @property
    def graph_base_url(self) -> str:
        return f"{self.graph_root}/v1.0"

    def cli_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "TEMPORAL_ADDRESS": self.temporal_address,
            "TEMPORAL_TASK_QUEUE": TASK_QUEUE,
            "ACCESSCTL_CATALOG": str(EXAMPLES / "catalog.yaml"),
        }

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """Run `accessctl` as a user would, in a subprocess."""
        return subprocess.run(
            [str(BIN / "accessctl"), *args],
            env=self.cli_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )

    def outbox(self, to: str) -> list[dict]:
        mails = httpx.get(f"{self.graph_root}/_emulator/outbox").json()
        mails = mails.get("value", mails) if isinstance(mails, dict) else mails
        return [m for m in mails if to in str(m).lower()]


async def start_dev_server(**options) -> WorkflowEnvironment:
    """`temporal server start-dev` with accessctl's search attributes; `options` go to
    `start_local` (a fixed `port`, a `dev_server_database_filename` to restart on)."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER),
        search_attributes=search_attributes.ALL,
        data_converter=pydantic_data_converter,
        **options,
    )


def start_emulator(log: Path) -> tuple[subprocess.Popen, str]:
    """The Graph emulator as a process on a free port: the process and its root URL."""
    port = free_port()
    emulator = subprocess.Popen(
        [
            str(BIN / "graph-emulator"),
            "--tenant", str(EXAMPLES / "tenant.yaml"),
            "--port", str(port),
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    graph_root = f"http://127.0.0.1:{port}"
    wait_until_serving(f"{graph_root}/_emulator/outbox", emulator)
    return emulator, graph_root


def worker_environment(address: str, graph_root: str, catalog: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TEMPORAL_ADDRESS": address,
        "TEMPORAL_TASK_QUEUE": TASK_QUEUE,
        "GRAPH_BASE_URL": f"{graph_root}/v1.0",
        "ACCESSCTL_CATALOG": str(catalog),
        "LOG_FORMAT": "json",
    }


def start_worker(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "python"), str(ROOT / "worker.py")],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


LAB_GROUP = "6f1b6c2e-0000-4000-8000-000000000004"


def integration_catalog(folder: Path) -> Path:
    """The example catalog plus `lab-sandbox`: 15 seconds of access, extendable, no approval,
    so a whole lifetime passes in real time on the real server."""
    data = yaml.safe_load((EXAMPLES / "catalog.yaml").read_text())
    data["catalogs"].append(
        {
            "id": "lab",
            "displayName": "Lab",
            "resources": [
                {"id": "lab-group", "type": "group", "originId": LAB_GROUP, "displayName": "Lab"}
            ],
            "accessPackages": [
                {
                    "id": "lab-sandbox",
                    "displayName": "Lab sandbox",
                    "resourceRoleScopes": [{"resource": "lab-group", "role": "Member"}],
                    "assignmentPolicies": [
                        {
                            "id": "members",
                            "displayName": "Members, 15 seconds at a time",
                            "allowedTargetScope": "allMemberUsers",
                            "expiration": {"type": "afterDuration", "duration": "PT15S"},
                            "requestorSettings": {
                                "enableTargetsToSelfUpdateAccess": True,
                                "enableTargetsToSelfRemoveAccess": True,
                            },
                        }
                    ],
                }
            ],
        }
    )
    data["catalogs"].append(cli_tests_catalog())  # the CLI tests' own packages
    path = folder / "catalog.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest_asyncio.fixture(scope="session")
async def stack(tmp_path_factory) -> AsyncIterator[Stack]:
    logs = tmp_path_factory.mktemp("stack")
    catalog = integration_catalog(logs)
    env = await start_dev_server()
    address = env.client.service_client.config.target_host
    emulator, graph_root = start_emulator(logs / "emulator.log")
    worker_log = logs / "worker.log"
    worker = start_worker(worker_environment(address, graph_root, catalog), worker_log)
    try:
        yield Stack(env, address, graph_root, worker_log, AccessClient(env.client, TASK_QUEUE))
    finally:
        stop(worker)
        stop(emulator)
        await env.shutdown()


@pytest.fixture
def worker_env(stack: Stack) -> dict:
    return {**stack.cli_env(), "GRAPH_BASE_URL": stack.graph_base_url, "LOG_FORMAT": "json"}
