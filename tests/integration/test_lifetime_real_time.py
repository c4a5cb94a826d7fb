"""A whole assignment lifetime in real seconds on the real dev server: request, extend, expire."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

import httpx

from tests.integration.conftest import LAB_GROUP, Stack

ERIN = "erin@contoso.example"


def lab_members(stack: Stack) -> set[str]:
    answer = httpx.get(f"{stack.graph_base_url}/groups/{LAB_GROUP}/members").json()
    return {user["mail"] for user in answer["value"]}


async def test_fifteen_seconds_of_access_extended_once_then_expired(stack: Stack):
    requested = stack.cli("request", "lab-sandbox", "--for", ERIN)
    assert requested.returncode == 0, requested.stderr
    request_id = requested.stdout.strip()
    for _ in range(100):
        status = await stack.access.status(request_id)
        if status.state == "delivered":
            break
        await asyncio.sleep(0.1)
    assert ERIN in lab_members(stack)
    first_end = status.end

    # an extension gives a fresh 15 seconds from when it is asked: ask near the end
    while datetime.now(first_end.tzinfo) < first_end - timedelta(seconds=5):
        await asyncio.sleep(0.2)
    refused = stack.cli("extend", request_id, "--as", "bob@contoso.example")
    assert refused.returncode == 1 and "notTarget" in refused.stderr
    extended = stack.cli("extend", request_id, "--as", ERIN, "--json")
    assert extended.returncode == 0, extended.stderr
    new_end = datetime.fromisoformat(json.loads(extended.stdout)["new_end"])
    assert new_end > first_end + timedelta(seconds=5)

    while datetime.now(new_end.tzinfo) < first_end + timedelta(seconds=2):
        await asyncio.sleep(0.5)
    assert (await stack.access.status(request_id)).state == "delivered"  # the old end passed
    assert ERIN in lab_members(stack)

    for _ in range(120):
        status = await stack.access.status(request_id)
        if status.state == "expired":
            break
        await asyncio.sleep(0.5)
    assert status.state == "expired"
    assert ERIN not in lab_members(stack)
    revoked_at = status.ended_at
    assert (revoked_at - new_end) < timedelta(seconds=2)  # on time, not by a cron job

    trail = stack.cli("audit", "--user", ERIN, "--package", "lab-sandbox", "--json")
    assert trail.returncode == 0, trail.stderr
    events = [e["event"] for e in json.loads(trail.stdout)]
    assert events[0] == "request.submitted"
    assert "assignment.extended" in events and events[-1] == "assignment.expired"
