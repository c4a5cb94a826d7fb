"""The bad-input corpus through `accessctl`, against the time-skipping server with the real
worker: each command is refused with exit 1 and one line `refused: <why> [<rule>]` on stderr,
never a traceback, and both requests are as they were."""

from __future__ import annotations

import asyncio
import json

import pytest
import pytest_asyncio
from typer.testing import CliRunner

from starter.cli import app
from tests.factories import ALICE, BOB, CAROL, DANA, ERIN, GRACE
from tests.workflows.bad_input_world import bad_input_world
from tests.workflows.test_invite_cli import accessctl

PENDING, DELIVERED = "{pending}", "{delivered}"
HOSTILE = "erin@contoso.example\r\nBcc: spy@evil.example"
GOOD = ["--answer", "cost-center=CC-1234"]

CORPUS = [
    (["request", "sales-team", "--for", HOSTILE], "textInvalid", "the target contains"),
    (["request", "payroll", "--for", DANA], "unknownPackage", "'payroll'"),
    (["request", "sales-team", "--for", "nobody@"], "invalidEmail", "'nobody@'"),
    (["request", "sales-team", "--for", DANA, "--by", "ghost@contoso.example"], "unknownUser",
     "requestor 'ghost@contoso.example'"),
    (["request", "finance-reports", "--for", BOB, "--answer", "cost-center=CC-12"],
     "answerInvalid", "'cost-center' does not match"),
    (["request", "finance-reports", "--for", BOB, *GOOD, "--justification", "ok\x1b[2J"],
     "textInvalid", "U+001B"),
    (["request", "finance-reports", "--for", BOB, *GOOD, "--justification", "x" * 100_000],
     "textInvalid", "100000 characters long"),
    (["approve", PENDING, "--as", DANA], "notAnApprover", DANA),
    (["approve", PENDING, "--as", ALICE.upper()], "selfApproval", "their own access"),
    (["deny", PENDING, "--as", CAROL, "--justification", "no\x00"], "textInvalid", "U+0000"),
    (["cancel", PENDING, "--as", BOB], "notRequestor", "did not make this request"),
    (["approve", DELIVERED, "--as", CAROL], "notPending", "not waiting for an approval"),
    (["extend", DELIVERED, "--as", ERIN, "--end", "2099-01-01T00:00:00Z"], "scheduleInvalid",
     "past what policy 'everyone' allows"),
    (["extend", DELIVERED, "--as", GRACE], "notTarget", "who holds this access"),
    (["remove", DELIVERED, "--as", GRACE], "notRequestor", "may not remove"),
    (["status", "access:key:nobody@contoso.example"], "requestNotFound",
     "no request 'access:key:nobody@contoso.example'"),  # printed as typed, not as an emoji
    (["status", "user:00000000-0000-4000-8000-0000000e4140"], "requestNotFound",
     "request ids are access:PACKAGE:USER"),
    (["audit", "--user", "x' OR WorkflowType != '"], "textInvalid", "cannot contain quotes"),
    (["reprocess", "x" * 5000], "textInvalid", "5000 characters long"),
]  # fmt: skip


@pytest_asyncio.fixture
async def world(time_env, graph, task_queue):
    async with bad_input_world(time_env, graph, task_queue) as built:
        yield built


def cli_env(world) -> dict[str, str]:
    return {
        "TEMPORAL_ADDRESS": world.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": "default",
        "TEMPORAL_TASK_QUEUE": world.task_queue,
    }


async def run_cli(world, args: list[str]):
    """`accessctl` in this process; in a thread, as the command runs its own event loop."""
    args = [a.format(pending=world.pending, delivered=world.delivered) for a in args]
    return await asyncio.to_thread(CliRunner().invoke, app, args, env=cli_env(world))


async def test_each_bad_command_is_refused_with_its_rule_and_changes_nothing(world):
    before = await world.snapshot()
    for args, rule, named in CORPUS:
        result = await run_cli(world, args)
        assert result.exit_code == 1, (args[:3], result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), args[:3]
        [line] = result.stderr.splitlines()
        assert line.startswith("refused: ") and line.endswith(f"[{rule}]"), (args[:3], line)
        assert named in line, (args[:3], line)
    assert await world.snapshot() == before


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["extend", DELIVERED, "--as", ERIN, "--end", "tomorrow"], "not an ISO 8601 date"),
        (["extend", DELIVERED, "--as", ERIN, "--end", "2027-01-01T00:00"], "needs a time zone"),
        (["request", "finance-reports", "--for", BOB, "--answer", "CC-1234"], "QUESTION_ID=VALUE"),
    ],
)
async def test_a_malformed_option_is_a_usage_error(world, args, why):
    before = await world.snapshot()
    result = await run_cli(world, args)
    assert result.exit_code == 2
    assert why in " ".join(result.stderr.replace("│", " ").split())
    assert await world.snapshot() == before


async def test_the_installed_command_refuses_a_hostile_address_as_json(world, time_env):
    code, stdout, stderr = await accessctl(
        time_env, world.task_queue, "request", "sales-team", "--for", HOSTILE, "--json"
    )
    assert code == 1 and "Traceback" not in stderr
    assert json.loads(stdout) == {
        "refused": "textInvalid",
        "message": "the target contains the control character U+000D",
    }
