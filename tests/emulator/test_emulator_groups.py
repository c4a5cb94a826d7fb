"""Groups through msgraph-sdk: members and owners ($ref add and remove, with Graph's errors),
paging, soft delete and restore."""

from __future__ import annotations

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.groups.item.members.members_request_builder import MembersRequestBuilder
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.reference_create import ReferenceCreate

ALICE = "00000000-0000-4000-8000-0000000a11ce"
CAROL = "00000000-0000-4000-8000-0000000ca401"
DANA = "00000000-0000-4000-8000-0000000da4a0"
FRANK = "00000000-0000-4000-8000-0000000f4a4c"
FINANCE_READ = "6f1b6c2e-0000-4000-8000-000000000001"
FINANCE_SITE_MEMBERS = "6f1b6c2e-0000-4000-8000-000000000004"
FINANCE_APPROVERS = "6f1b6c2e-0000-4000-8000-000000000009"
UNKNOWN = "6f1b6c2e-0000-4000-8000-0000000000ff"


def ref(object_id: str) -> ReferenceCreate:
    return ReferenceCreate(
        odata_id=f"https://graph.microsoft.com/v1.0/directoryObjects/{object_id}"
    )


async def member_ids(graph, group_id: str) -> set[str]:
    page = await graph.groups.by_group_id(group_id).members.get()
    return {m.id for m in page.value}


async def test_get_group(graph, control):
    group = await graph.groups.by_group_id(FINANCE_SITE_MEMBERS).get()
    assert group.display_name == "Finance Site Members"
    assert group.group_types == ["Unified"]
    assert group.mail_enabled is True


async def test_add_member_then_duplicate(graph, control):
    members = graph.groups.by_group_id(FINANCE_READ).members
    await members.ref.post(ref(ALICE))
    assert await member_ids(graph, FINANCE_READ) == {DANA, ALICE}

    with pytest.raises(ODataError) as err:
        await members.ref.post(ref(ALICE))
    assert err.value.response_status_code == 400
    assert err.value.error.code == "Request_BadRequest"
    assert err.value.error.message == (
        "One or more added object references already exist for the following modified "
        "properties: 'members'."
    )


async def test_add_member_unknown_group_or_user(graph, control):
    with pytest.raises(ODataError) as err:
        await graph.groups.by_group_id(UNKNOWN).members.ref.post(ref(ALICE))
    assert err.value.response_status_code == 404
    assert err.value.error.code == "Request_ResourceNotFound"
    assert err.value.error.message == (
        f"Resource '{UNKNOWN}' does not exist or one of its queried reference-property "
        "objects are not present."
    )
    ghost = "00000000-0000-4000-8000-00000000dead"
    with pytest.raises(ODataError) as err:
        await graph.groups.by_group_id(FINANCE_READ).members.ref.post(ref(ghost))
    assert err.value.response_status_code == 404
    assert ghost in err.value.error.message


async def test_remove_member_then_not_a_member(graph, control):
    members = graph.groups.by_group_id(FINANCE_APPROVERS).members
    await members.by_directory_object_id(CAROL).ref.delete()
    assert await member_ids(graph, FINANCE_APPROVERS) == {FRANK}
    with pytest.raises(ODataError) as err:
        await members.by_directory_object_id(CAROL).ref.delete()
    assert err.value.response_status_code == 404
    assert err.value.error.code == "Request_ResourceNotFound"


async def test_owners(graph, control):
    owners = graph.groups.by_group_id(FINANCE_SITE_MEMBERS).owners
    await owners.ref.post(ref(CAROL))
    page = await owners.get()
    assert {o.id for o in page.value} == {DANA, CAROL}
    with pytest.raises(ODataError) as err:
        await owners.ref.post(ref(CAROL))
    assert "'owners'" in err.value.error.message
    await owners.by_directory_object_id(CAROL).ref.delete()
    with pytest.raises(ODataError) as err:
        await owners.by_directory_object_id(CAROL).ref.delete()
    assert err.value.response_status_code == 404


async def test_members_are_paged(graph, control):
    members = graph.groups.by_group_id(FINANCE_APPROVERS).members
    query = MembersRequestBuilder.MembersRequestBuilderGetQueryParameters(top=1, select=["id"])
    page = await members.get(RequestConfiguration(query_parameters=query))
    assert len(page.value) == 1 and page.odata_next_link
    rest = await members.with_url(page.odata_next_link).get()
    assert rest.odata_next_link is None
    assert {page.value[0].id, rest.value[0].id} == {CAROL, FRANK}


async def test_soft_delete_and_restore_group_keeps_members(graph, control):
    await graph.groups.by_group_id(FINANCE_APPROVERS).delete()
    with pytest.raises(ODataError) as err:
        await graph.groups.by_group_id(FINANCE_APPROVERS).get()
    assert err.value.response_status_code == 404
    with pytest.raises(ODataError) as err:
        await graph.groups.by_group_id(FINANCE_APPROVERS).members.ref.post(ref(ALICE))
    assert err.value.response_status_code == 404

    deleted = await graph.directory.deleted_items.by_directory_object_id(FINANCE_APPROVERS).get()
    assert deleted.id == FINANCE_APPROVERS and deleted.deleted_date_time is not None
    await graph.directory.deleted_items.by_directory_object_id(FINANCE_APPROVERS).restore.post()
    assert await member_ids(graph, FINANCE_APPROVERS) == {CAROL, FRANK}


async def test_restore_unknown_object_is_not_found(graph, control):
    with pytest.raises(ODataError) as err:
        await graph.directory.deleted_items.by_directory_object_id(ALICE).restore.post()
    assert err.value.response_status_code == 404
