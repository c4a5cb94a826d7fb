"""Users through msgraph-sdk: read by id or UPN, $select, $filter, PATCH, soft delete and
restore, manager, memberOf, checkMemberGroups, unknown segments."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.user import User
from msgraph.generated.users.item.check_member_groups.check_member_groups_post_request_body import (  # noqa: E501
    CheckMemberGroupsPostRequestBody,
)
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder

ALICE = "00000000-0000-4000-8000-0000000a11ce"
BOB = "00000000-0000-4000-8000-000000000b0b"
DANA = "00000000-0000-4000-8000-0000000da4a0"
ERIN = "00000000-0000-4000-8000-0000000e4140"
GRACE = "00000000-0000-4000-8000-00000006ace0"
GRACE_UPN = "grace_fabrikam.example#EXT#@contoso.onmicrosoft.example"
FINANCE_READ = "6f1b6c2e-0000-4000-8000-000000000001"
FINANCE_SITE_MEMBERS = "6f1b6c2e-0000-4000-8000-000000000004"
SALES = "6f1b6c2e-0000-4000-8000-000000000005"


def select(*props: str) -> RequestConfiguration:
    query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(select=list(props))
    return RequestConfiguration(query_parameters=query)


def filtered(expression: str, *props: str) -> RequestConfiguration:
    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        filter=expression, select=list(props) or None
    )
    return RequestConfiguration(query_parameters=query)


async def test_get_user_by_id_and_by_upn(graph, control):
    by_id = await graph.users.by_user_id(ALICE).get()
    by_upn = await graph.users.by_user_id("Alice@Contoso.example").get()
    assert by_id.id == by_upn.id == ALICE
    assert by_id.display_name == "Alice Adams"
    assert by_id.mail == "alice@contoso.example"
    # Like Graph, accountEnabled and userType are not default properties.
    assert by_id.account_enabled is None and by_id.user_type is None


async def test_guest_upn_with_ext_marker_is_addressable(graph, control):
    user = await graph.users.by_user_id(GRACE_UPN).get(select("id", "userType", "otherMails"))
    assert user.id == GRACE
    assert user.user_type == "Guest"
    assert user.other_mails == ["grace@fabrikam.example"]


async def test_select_sign_in_activity(graph, control):
    user = await graph.users.by_user_id(ALICE).get(select("id", "signInActivity"))
    assert user.sign_in_activity.last_sign_in_date_time == datetime(2026, 11, 20, 8, 15, tzinfo=UTC)
    never = await graph.users.by_user_id(ERIN).get(select("id", "signInActivity"))
    assert never.sign_in_activity is None


async def test_select_unknown_property_is_bad_request(graph, control):
    with pytest.raises(ODataError) as err:
        await graph.users.by_user_id(ALICE).get(select("shoeSize"))
    assert err.value.response_status_code == 400
    assert "shoeSize" in err.value.error.message


async def test_unknown_user_is_not_found(graph, control):
    with pytest.raises(ODataError) as err:
        await graph.users.by_user_id("nobody@contoso.example").get()
    assert err.value.response_status_code == 404
    assert err.value.error.code == "Request_ResourceNotFound"
    assert err.value.error.message == (
        "Resource 'nobody@contoso.example' does not exist or one of its queried "
        "reference-property objects are not present."
    )


@pytest.mark.parametrize(
    "expression",
    [
        "mail eq 'GRACE@fabrikam.example'",
        "otherMails/any(x:x eq 'grace@FABRIKAM.example')",
        f"userPrincipalName eq '{GRACE_UPN}'",
        "mail eq 'nobody@x.example' or otherMails/any(m:m eq 'grace@fabrikam.example')",
    ],
)
async def test_find_users_by_filter(graph, control, expression):
    page = await graph.users.get(filtered(expression, "id", "mail", "userType"))
    assert [u.id for u in page.value] == [GRACE]
    assert page.value[0].user_type == "Guest"


async def test_filter_matching_nobody_and_unsupported_property(graph, control):
    page = await graph.users.get(filtered("mail eq 'nobody@nowhere.example'"))
    assert page.value == []
    with pytest.raises(ODataError) as err:
        await graph.users.get(filtered("shoeSize eq 'x'"))
    assert err.value.response_status_code == 400
    assert err.value.error.code == "Request_UnsupportedQuery"


async def test_users_are_paged_with_next_link(graph, control):
    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(top=4, select=["id"])
    page = await graph.users.get(RequestConfiguration(query_parameters=query))
    seen = [u.id for u in page.value]
    while page.odata_next_link:
        page = await graph.users.with_url(page.odata_next_link).get()
        seen.extend(u.id for u in page.value)
    assert len(seen) == len(set(seen)) == 9


async def test_patch_account_enabled(graph, control):
    assert await graph.users.by_user_id(GRACE).patch(User(account_enabled=False)) is None
    user = await graph.users.by_user_id(GRACE).get(select("id", "accountEnabled"))
    assert user.account_enabled is False
    assert control.log(method="PATCH")[0]["status"] == 204


async def test_soft_delete_and_restore_user(graph, control):
    await graph.users.by_user_id(GRACE).delete()
    with pytest.raises(ODataError) as err:
        await graph.users.by_user_id(GRACE).get()
    assert err.value.response_status_code == 404
    with pytest.raises(ODataError) as err:  # deleting again: 404 as well
        await graph.users.by_user_id(GRACE).delete()
    assert err.value.error.code == "Request_ResourceNotFound"

    restored = await graph.directory.deleted_items.by_directory_object_id(GRACE).restore.post()
    assert restored.id == GRACE
    user = await graph.users.by_user_id(GRACE_UPN).get()
    assert user.id == GRACE


async def test_manager_and_no_manager(graph, control):
    manager = await graph.users.by_user_id(ALICE).manager.get()
    assert isinstance(manager, User)
    assert manager.id == BOB and manager.display_name == "Bob Brown"
    with pytest.raises(ODataError) as err:
        await graph.users.by_user_id(DANA).manager.get()
    assert err.value.response_status_code == 404
    assert err.value.error.code == "Request_ResourceNotFound"
    assert err.value.error.message == (
        "Resource 'manager' does not exist or one of its queried reference-property objects "
        "are not present."
    )


async def test_member_of_and_check_member_groups(graph, control):
    groups = await graph.users.by_user_id(DANA).member_of.get()
    assert {g.id for g in groups.value} == {FINANCE_READ, FINANCE_SITE_MEMBERS}
    body = CheckMemberGroupsPostRequestBody(group_ids=[FINANCE_READ, SALES])
    answer = await graph.users.by_user_id(DANA).check_member_groups.post(body)
    assert answer.value == [FINANCE_READ]


async def test_unknown_segment_is_bad_request(graph, control):
    with pytest.raises(ODataError) as err:
        await graph.users.by_user_id(ALICE).photo.get()
    assert err.value.response_status_code == 400
    assert err.value.error.code == "BadRequest"
    assert err.value.error.message == "Resource not found for the segment 'photo'."
