"""The benchmark stack: the real dev server (file database, as `make dev` runs it) and the Graph
emulator as a separate process, with a generated tenant big enough for hundreds of requests."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import yaml
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from workflows import search_attributes

BIN = Path(sys.executable).parent
EXAMPLES = Path(__file__).parents[1] / "examples"
APPROVER = "approver@contoso.example"


def bench_tenant(users: int) -> dict:
    """The example tenant plus `users` members (user0000@...) and one approver."""
    tenant = yaml.safe_load((EXAMPLES / "tenant.yaml").read_text())
    for i in range(users):
        tenant["users"].append(
            {
                "id": f"00000000-0000-4000-8000-{i:012d}",
                "displayName": f"Bench User {i}",
                "userPrincipalName": f"user{i:04d}@contoso.example",
                "mail": f"user{i:04d}@contoso.example",
                "manager": "bob@contoso.example",
            }
        )
    tenant["users"].append(
        {
            "id": "00000000-0000-4000-8000-00000000a990",
            "displayName": "Bench Approver",
            "userPrincipalName": APPROVER,
            "mail": APPROVER,
        }
    )
    return tenant


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Emulator:
    def __init__(self, root: str, process: subprocess.Popen) -> None:
        self.root = root
        self.process = process
        self.http = httpx.AsyncClient(base_url=root, timeout=30)

    @property
    def base_url(self) -> str:
        return f"{self.root}/v1.0"

    async def log(self, method: str | None = None) -> list[dict]:
        params = {"method": method} if method else None
        answer = (await self.http.get("/_emulator/log", params=params)).json()
        return answer.get("value", answer) if isinstance(answer, dict) else answer

    async def clear_log(self) -> None:
        await self.http.delete("/_emulator/log")


@asynccontextmanager
async def bench_stack(users: int, latency_ms: int = 0):
    with tempfile.TemporaryDirectory() as scratch:
        tenant_file = Path(scratch) / "tenant.yaml"
        tenant_file.write_text(yaml.safe_dump(bench_tenant(users)))
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(BIN / "temporal"),
            dev_server_database_filename=str(Path(scratch) / "temporal.db"),
            dev_server_log_level="error",  # the figures, not the server's shutdown warnings
            dev_server_extra_args=[
                "--sqlite-pragma", "journal_mode=WAL",
                "--sqlite-pragma", "synchronous=NORMAL",
            ],
            search_attributes=search_attributes.ALL,
            data_converter=pydantic_data_converter,
        )  # fmt: skip
        port = free_port()
        process = subprocess.Popen(
            [
                str(BIN / "graph-emulator"), "--tenant", str(tenant_file), "--port", str(port),
                "--latency-ms", str(latency_ms),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        emulator = Emulator(f"http://127.0.0.1:{port}", process)
        try:
            for _ in range(200):
                try:
                    httpx.get(f"{emulator.root}/_emulator/health", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.05)
            yield env, emulator
        finally:
            await emulator.http.aclose()
            process.terminate()
            process.wait()
            await env.shutdown()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]
