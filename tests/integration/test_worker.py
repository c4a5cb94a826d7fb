"""The worker process: refuses a bad catalog, logs JSON with the request's context, never a
secret, and stops gracefully on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time

from tests.integration.conftest import BIN, ROOT, Stack, start_worker


def test_an_invalid_catalog_stops_the_worker_with_the_validators_messages(tmp_path, worker_env):
    broken = tmp_path / "catalog.yaml"
    broken.write_text(
        (ROOT / "examples" / "catalog.yaml")
        .read_text()
        .replace("{resource: finance-read, role: Member}", "{resource: payroll, role: Member}")
    )
    result = subprocess.run(
        [str(BIN / "python"), str(ROOT / "worker.py")],
        env={**worker_env, "ACCESSCTL_CATALOG": str(broken)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "refusing to start" in result.stderr
    assert "unknown resource 'payroll'" in result.stderr


def test_sigterm_stops_the_worker_gracefully(tmp_path, worker_env):
    log = tmp_path / "worker.log"
    worker = start_worker({**worker_env, "TEMPORAL_TASK_QUEUE": "sigterm-test"}, log)
    for _ in range(100):
        if "worker started" in log.read_text():
            break
        time.sleep(0.1)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    events = [
        json.loads(line)["event"] for line in log.read_text().splitlines() if line.startswith("{")
    ]
    assert events[-1] == "worker stopped"


async def test_activity_log_lines_are_json_with_request_package_and_user(stack: Stack):
    request_id = await stack.access.request_access("sales-team", "dana@contoso.example")
    for _ in range(300):
        if (await stack.access.status(request_id)).state == "delivered":
            break
        await asyncio.sleep(0.1)
    text = stack.worker_log.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    graph_calls = [e for e in lines if e.get("event") == "graph call" and "request_id" in e]
    grants = [e for e in graph_calls if e["request_id"] == request_id and "resource" in e]
    assert grants, "the grant made in the user's workflow logs the request it serves"
    for line in graph_calls:
        assert line["request_id"].startswith("access:")
        assert line["package"] and line["user"]
        assert line["request_id"] == f"access:{line['package']}:{line['user']}"
