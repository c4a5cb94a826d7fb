"""Waiting for a request to reach a state, by polling its status query (no timed assertions)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from entitlements.status import RequestStatus

POLLS = 600  # at 50 ms: long enough for a loaded CI machine, short enough to fail clearly


async def wait_for(access, request_id: str, condition: Callable[[RequestStatus], bool]):
    status = None
    for _ in range(POLLS):
        status = await access.status(request_id)
        if condition(status):
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"{request_id} never met the condition; last status: {status}")
