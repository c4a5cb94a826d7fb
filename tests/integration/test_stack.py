"""The stack as `make dev` runs it: dev server, emulator and worker as processes, the CLI in
a subprocess. Alice asks for finance reports, Bob (her manager) approves, she gets access."""

from __future__ import annotations

import json

import httpx

from tests.factories import ALICE, BOB, CAROL, FINANCE_READ
from tests.integration.conftest import Stack


def members(stack: Stack, group_id: str) -> set[str]:
    answer = httpx.get(f"{stack.graph_base_url}/groups/{group_id}/members").json()
    return {user["mail"] for user in answer["value"]}


async def wait_until(stack: Stack, request_id: str, condition, polls: int = 300):
    import asyncio

    status = None
    for _ in range(polls):
        status = await stack.access.status(request_id)
        if condition(status):
            return status
        await asyncio.sleep(0.1)
    raise AssertionError(f"{request_id}: {status}")


async def test_the_first_commands_make_dev_prints_work(stack: Stack):
    requested = stack.cli(
        "request", "finance-reports", "--for", ALICE,
        "--justification", "Quarter close", "--answer", "cost-center=CC-1234",
    )  # fmt: skip
    assert requested.returncode == 0, requested.stderr
    request_id = requested.stdout.strip()
    assert request_id == f"access:finance-reports:{ALICE}"
    await wait_until(stack, request_id, lambda s: s.stage is not None)

    pending = stack.cli("pending", "--approver", BOB, "--json")
    assert pending.returncode == 0, pending.stderr
    assert [row["id"] for row in json.loads(pending.stdout)] == [request_id]
    assert json.loads(stack.cli("pending", "--approver", CAROL, "--json").stdout) == []

    refused = stack.cli("approve", request_id, "--as", ALICE)
    assert refused.returncode == 1
    assert "selfApproval" in refused.stderr

    approved = stack.cli("approve", request_id, "--as", BOB)
    assert approved.returncode == 0, approved.stderr
    assert "approved: stage 1" in approved.stdout

    delivered = await wait_until(stack, request_id, lambda s: s.state == "delivered")
    assert ALICE in members(stack, FINANCE_READ)
    assert delivered.end is not None

    shown = stack.cli("status", request_id)
    assert shown.returncode == 0
    assert "state       delivered" in shown.stdout
    as_json = json.loads(stack.cli("status", request_id, "--json").stdout)
    assert as_json["state"] == "delivered"
    assert {r["state"] for r in as_json["resources"]} == {"delivered"}
    assert any("You now have access" in mail["subject"] for mail in stack.outbox(ALICE))


async def test_a_second_request_names_the_open_one(stack: Stack):
    first = stack.cli("request", "sales-team", "--for", "erin@contoso.example")
    assert first.returncode == 0, first.stderr
    second = stack.cli("request", "sales-team", "--for", "erin@contoso.example")
    assert second.returncode == 1
    assert first.stdout.strip() in second.stderr
    assert "openRequestExists" in second.stderr


def test_usage_errors_exit_2(stack: Stack):
    result = stack.cli("request", "finance-reports")  # no --for
    assert result.returncode == 2
