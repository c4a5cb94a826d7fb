"""What the CLI integration tests check of a command run and of the emulator, in one place."""

from __future__ import annotations

import asyncio
import inspect
import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.integration.cli_catalog import CLI_GROUP, REPORTS_SP
from tests.integration.conftest import Stack

USER_IDS = {
    "alice@contoso.example": "00000000-0000-4000-8000-0000000a11ce",
    "bob@contoso.example": "00000000-0000-4000-8000-000000000b0b",
    "carol@contoso.example": "00000000-0000-4000-8000-0000000ca401",
    "dana@contoso.example": "00000000-0000-4000-8000-0000000da4a0",
    "frank@contoso.example": "00000000-0000-4000-8000-0000000f4a4c",
    "admin@contoso.example": "00000000-0000-4000-8000-0000000ad314",
}


def run_together(stack: Stack, *commands: tuple[str, ...]) -> list[subprocess.CompletedProcess]:
    """Independent commands, each a process of its own, run at once (each spends most of its
    second importing), their results in the order given."""
    with ThreadPoolExecutor(len(commands)) as pool:
        return list(pool.map(lambda args: stack.cli(*args), commands))


def succeeded(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, (result.args, result.stdout, result.stderr)
    return result.stdout


def parsed(result: subprocess.CompletedProcess):
    """The `--json` output of a command that succeeded."""
    return json.loads(succeeded(result))


def parsed_refusal(result: subprocess.CompletedProcess) -> dict:
    """The `--json` output of a refused command: {"refused": rule, "message": ...}."""
    assert result.returncode == 1, (result.args, result.stdout, result.stderr)
    return json.loads(result.stdout)


def assert_refused(result: subprocess.CompletedProcess, rule: str, *words: str) -> None:
    """Exit 1, and the message names the rule (and says what is wrong)."""
    assert result.returncode == 1, (result.args, result.stdout, result.stderr)
    assert f"[{rule}]" in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)


def assert_usage_error(result: subprocess.CompletedProcess, *words: str) -> None:
    """Exit 2, and the message says what is wrong (rich wraps it in a box: unwrap)."""
    assert result.returncode == 2, (result.args, result.stdout, result.stderr)
    text = " ".join(result.stderr.replace("│", " ").split())
    for word in words:
        assert word in text, (word, text)


async def eventually(probe, what: str, seconds: float = 30.0):
    """The first truthy answer of `probe` (plain or async) within `seconds`: for what
    Temporal visibility shows a moment after the workflow has moved."""
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within {seconds} s; last: {last!r}")


async def listed(stack: Stack, condition, **filters) -> list[dict]:
    """The rows `list_requests(**filters)` answers once `condition(ids)` holds."""

    async def probe():
        rows = await stack.access.list_requests(**filters)
        return rows if condition({row["id"] for row in rows}) else None

    return await eventually(probe, f"list {filters}")


def group_members(stack: Stack, group_id: str = CLI_GROUP) -> set[str]:
    answer = httpx.get(f"{stack.graph_base_url}/groups/{group_id}/members").json()
    return {user["id"] for user in answer["value"]}


def app_role_holders(stack: Stack, service_principal: str = REPORTS_SP) -> set[str]:
    url = f"{stack.graph_base_url}/servicePrincipals/{service_principal}/appRoleAssignedTo"
    return {a["principalId"] for a in httpx.get(url).json()["value"]}


def mail_subjects(stack: Stack, to: str) -> list[str]:
    answer = httpx.get(f"{stack.graph_root}/_emulator/outbox", params={"to": to}).json()
    return [mail["subject"] for mail in answer["value"]]
