"""Throttling as Graph does it (settings throttleLimit / throttleWindowMs): past the limit a
call answers 429 with Retry-After, each $batch sub-request counts, and the window slides."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

pytest.importorskip("deprecated", reason="msgraph-core batching needs the 'deprecated' package")
from msgraph_core.requests.batch_request_content import BatchRequestContent  # noqa: E402
from msgraph_core.requests.batch_request_item import BatchRequestItem  # noqa: E402

ALICE = "00000000-0000-4000-8000-0000000a11ce"
BOB = "00000000-0000-4000-8000-000000000b0b"


async def test_past_the_limit_calls_answer_429_with_retry_after_until_it_is_lifted(graph, control):
    assert control.settings()["throttleLimit"] == 0  # off unless asked for
    control.settings(throttleLimit=2, throttleWindowMs=60_000)
    control.clear_log()
    await graph.users.by_user_id(ALICE).get()
    await graph.users.by_user_id(BOB).get()
    with pytest.raises(ODataError) as throttled:
        await graph.users.by_user_id(ALICE).get()
    assert throttled.value.response_status_code == 429
    assert throttled.value.error.code == "TooManyRequests"
    assert 1 <= int(throttled.value.response_headers["Retry-After"]) <= 60
    assert [c["status"] for c in control.log()] == [200, 200, 429]

    control.settings(throttleLimit=0)
    assert (await graph.users.by_user_id(ALICE).get()).id == ALICE


async def test_the_window_slides_and_reset_turns_throttling_off(graph, control):
    control.settings(throttleLimit=1, throttleWindowMs=200)
    await graph.users.by_user_id(ALICE).get()
    await asyncio.sleep(0.3)  # the first call has left the window
    assert (await graph.users.by_user_id(BOB).get()).id == BOB
    control.reset()
    assert control.settings()["throttleLimit"] == 0


async def test_each_batch_sub_request_counts_as_one_call(graph, control):
    control.settings(throttleLimit=2, throttleWindowMs=60_000)
    batch = BatchRequestContent()
    for item_id, user in (("1", ALICE), ("2", BOB), ("3", ALICE)):
        info = graph.users.by_user_id(user).to_get_request_information()
        batch.add_request(item_id, BatchRequestItem(request_information=info, id=item_id))
    response = await graph.batch.post(batch)
    assert response.get_response_status_codes() == {"1": 200, "2": 200, "3": 429}
    assert response.get_response_by_id("3").headers["Retry-After"]


def test_invalid_throttle_settings_are_refused_and_change_nothing(control):
    control.settings(throttleLimit=5)
    answer = httpx.patch(f"{control.root_url}/_emulator/settings", json={"throttleLimit": -1})
    assert answer.status_code == 400
    assert "throttleLimit" in answer.json()["error"]["message"]
    assert control.settings()["throttleLimit"] == 5
