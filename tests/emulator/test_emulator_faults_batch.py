"""Fault injection (429 with Retry-After, 503, 504, latency), the call log, the absence of the
SDK's RetryHandler in our client, and JSON batching through msgraph-sdk."""

from __future__ import annotations

import time

import pytest
from kiota_abstractions.authentication import AnonymousAuthenticationProvider
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.reference_create import ReferenceCreate

# msgraph-core's batch module imports `deprecated` without declaring it as a dependency.
pytest.importorskip("deprecated", reason="msgraph-core batching needs the 'deprecated' package")
from msgraph_core.requests.batch_request_content import BatchRequestContent  # noqa: E402
from msgraph_core.requests.batch_request_content_collection import (  # noqa: E402
    BatchRequestContentCollection,
)
from msgraph_core.requests.batch_request_item import BatchRequestItem  # noqa: E402

ALICE = "00000000-0000-4000-8000-0000000a11ce"
BOB = "00000000-0000-4000-8000-000000000b0b"
ERIN = "00000000-0000-4000-8000-0000000e4140"
FINANCE_READ = "6f1b6c2e-0000-4000-8000-000000000001"
SALES = "6f1b6c2e-0000-4000-8000-000000000005"


def ref(object_id: str) -> ReferenceCreate:
    return ReferenceCreate(
        odata_id=f"https://graph.microsoft.com/v1.0/directoryObjects/{object_id}"
    )


async def test_429_with_retry_after_is_not_retried_by_our_client(graph, control):
    control.add_fault(
        method="GET", pathRegex=f"^/users/{ALICE}$", status=429, retryAfterSeconds=7, count=1
    )
    with pytest.raises(ODataError) as err:
        await graph.users.by_user_id(ALICE).get()
    assert err.value.response_status_code == 429
    assert err.value.error.code == "TooManyRequests"
    assert err.value.response_headers["Retry-After"] == "7"
    # No RetryHandler: one call reached the emulator; the rule is spent, the next call works.
    assert len(control.log(path_regex=ALICE)) == 1
    assert (await graph.users.by_user_id(ALICE).get()).id == ALICE
    assert control.faults() == []


async def test_default_sdk_client_would_retry_429_itself(emulator_server, control):
    adapter = GraphRequestAdapter(AnonymousAuthenticationProvider())
    adapter.base_url = emulator_server.base_url
    default_client = GraphServiceClient(request_adapter=adapter)
    control.add_fault(pathRegex=f"^/users/{BOB}$", status=429, retryAfterSeconds=1, count=1)
    try:
        assert (await default_client.users.by_user_id(BOB).get()).id == BOB
    finally:
        await adapter._http_client.aclose()
    calls = control.log(path_regex=BOB)
    assert [c["status"] for c in calls] == [429, 200]
    assert calls[1]["time"] - calls[0]["time"] >= 0.9  # it waited for Retry-After


@pytest.mark.parametrize(
    ("status", "code"), [(503, "serviceNotAvailable"), (504, "UnknownError"), (500, None)]
)
async def test_server_errors(graph, control, status, code):
    control.add_fault(pathRegex="^/groups/", status=status, count=1)
    with pytest.raises(ODataError) as err:
        await graph.groups.by_group_id(FINANCE_READ).get()
    assert err.value.response_status_code == status
    if code:
        assert err.value.error.code == code


async def test_fault_with_custom_code_and_message(graph, control):
    control.add_fault(
        method="POST",
        pathRegex="/members/\\$ref$",
        status=403,
        errorCode="Authorization_RequestDenied",
        errorMessage="Insufficient privileges to complete the operation.",
    )
    with pytest.raises(ODataError) as err:
        await graph.groups.by_group_id(FINANCE_READ).members.ref.post(ref(ALICE))
    assert err.value.response_status_code == 403
    assert err.value.error.code == "Authorization_RequestDenied"
    # GETs do not match the POST-only rule.
    assert (await graph.groups.by_group_id(FINANCE_READ).get()).id == FINANCE_READ


async def test_latency_only_fault(graph, control):
    control.add_fault(pathRegex="^/sites/", latencyMs=300, count=1)
    site = "contoso.sharepoint.example,5a1e0000-0000-4000-8000-000000000001,5a1e0000-0000-4000-8000-000000000002"  # noqa: E501
    started = time.monotonic()
    await graph.sites.by_site_id(site).get()
    assert time.monotonic() - started >= 0.3


async def test_call_log_records_every_call(graph, control):
    control.clear_log()
    await graph.users.by_user_id(ALICE).get()
    await graph.groups.by_group_id(FINANCE_READ).members.ref.post(ref(ALICE))
    calls = control.log()
    assert [(c["method"], c["path"], c["status"]) for c in calls] == [
        ("GET", f"/users/{ALICE}", 200),
        ("POST", f"/groups/{FINANCE_READ}/members/$ref", 204),
    ]
    assert calls[0]["time"] <= calls[1]["time"]


def add_member_item(graph, group: str, user: str, item_id: str) -> BatchRequestItem:
    info = graph.groups.by_group_id(group).members.ref.to_post_request_information(ref(user))
    return BatchRequestItem(request_information=info, id=item_id)


async def test_batch_runs_each_request_through_routing(graph, control):
    batch = BatchRequestContent()
    batch.add_request("1", add_member_item(graph, FINANCE_READ, ERIN, "1"))
    batch.add_request("2", add_member_item(graph, FINANCE_READ, ERIN, "2"))  # duplicate
    info = graph.users.by_user_id(ALICE).to_get_request_information()
    batch.add_request("3", BatchRequestItem(request_information=info, id="3"))
    response = await graph.batch.post(batch)
    assert response.get_response_status_codes() == {"1": 204, "2": 400, "3": 200}
    members = await graph.groups.by_group_id(FINANCE_READ).members.get()
    assert ERIN in {m.id for m in members.value}
    # Sub-requests are logged one by one, with the batch they came in.
    paths = [(c["method"], c["path"]) for c in control.log()]
    assert paths.count(("POST", f"/groups/{FINANCE_READ}/members/$ref")) == 2
    assert ("POST", "/$batch") in paths


async def test_batch_sub_response_can_be_throttled(graph, control):
    control.add_fault(
        method="POST", pathRegex=f"^/groups/{SALES}/", status=429, retryAfterSeconds=3
    )
    batch = BatchRequestContent()
    batch.add_request("a", add_member_item(graph, FINANCE_READ, ALICE, "a"))
    batch.add_request("b", add_member_item(graph, SALES, ALICE, "b"))
    response = await graph.batch.post(batch)
    assert response.get_response_status_codes() == {"a": 204, "b": 429}
    throttled = response.get_response_by_id("b")
    assert throttled.headers["Retry-After"] == "3"


async def test_batch_depends_on_a_failed_request(graph, control):
    batch = BatchRequestContent()
    unknown_group = "6f1b6c2e-0000-4000-8000-0000000000ff"
    batch.add_request("1", add_member_item(graph, unknown_group, ALICE, "1"))
    second = add_member_item(graph, FINANCE_READ, ALICE, "2")
    second.set_depends_on(["1"])
    batch.add_request("2", second)
    response = await graph.batch.post(batch)
    assert response.get_response_status_codes() == {"1": 404, "2": 424}


async def test_more_than_20_requests_are_split_by_the_sdk_and_refused_by_graph(graph, control):
    collection = BatchRequestContentCollection()
    for n in range(25):
        info = graph.users.by_user_id(ALICE).to_get_request_information()
        collection.add_batch_request_item(BatchRequestItem(request_information=info, id=str(n)))
    await graph.batch.post(collection)
    assert len(control.log(path_regex="^/\\$batch$")) == 2  # 20 + 5

    # Forced past the SDK's own check, the emulator answers 400 as Graph does.
    oversized = BatchRequestContent()
    for n in range(21):
        info = RequestInformation(Method.GET, "{+baseurl}/users/" + ALICE, {})
        info.path_parameters["baseurl"] = graph.request_adapter.base_url
        oversized._requests[str(n)] = BatchRequestItem(request_information=info, id=str(n))
    with pytest.raises(ODataError) as err:
        await graph.batch.post(oversized, error_map={"XXX": ODataError})
    assert err.value.response_status_code == 400
    assert "20" in err.value.error.message
