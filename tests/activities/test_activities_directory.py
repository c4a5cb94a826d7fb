"""Every directory activity against the emulator, called through ActivityEnvironment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.exceptions import ApplicationError

from activities.directory_models import (
    AppRoleInput,
    CheckMemberGroupsInput,
    FindTenantInput,
    FindUserInput,
    GetManagerInput,
    GroupMemberInput,
    GroupRef,
    InviteGuestInput,
    SendMailInput,
    SetSignInBlockedInput,
    SiteAccessInput,
    UserRef,
)

ALICE = "00000000-0000-4000-8000-0000000a11ce"
BOB = "00000000-0000-4000-8000-000000000b0b"
CAROL = "00000000-0000-4000-8000-0000000ca401"
DANA = "00000000-0000-4000-8000-0000000da4a0"
ERIN = "00000000-0000-4000-8000-0000000e4140"
FRANK = "00000000-0000-4000-8000-0000000f4a4c"
GRACE = "00000000-0000-4000-8000-00000006ace0"
FINANCE_READ = "6f1b6c2e-0000-4000-8000-000000000001"
FINANCE_SITE_MEMBERS = "6f1b6c2e-0000-4000-8000-000000000004"
SALES = "6f1b6c2e-0000-4000-8000-000000000005"
FINANCE_APPROVERS = "6f1b6c2e-0000-4000-8000-000000000009"
UNKNOWN_GROUP = "6f1b6c2e-0000-4000-8000-0000000000ff"
REPORTS = "9a0e1f3d-0000-4000-8000-000000000002"
VIEWER = "1b2c3d4e-0000-4000-8000-000000000003"
EDITOR = "1b2c3d4e-0000-4000-8000-000000000007"
SITE = (
    "contoso.sharepoint.example,5a1e0000-0000-4000-8000-000000000001,"
    "5a1e0000-0000-4000-8000-000000000002"
)


def member_ids(control, group_id: str, prop: str = "_members") -> set[str]:
    group = next(g for g in control.state()["groups"] if g["id"] == group_id)
    return set(group[prop])


# ---------------------------------------------------------------------------- invitations
async def test_invite_new_guest_then_again_returns_same_user(env, directory, control):
    invite = InviteGuestInput(
        email="ann@fabrikam.example",
        display_name="Ann Example",
        redirect_url="https://myapps.contoso.example",
    )
    control.clear_log()
    first = await env.run(directory.invite_guest, invite)
    assert first.is_guest and first.account_enabled
    assert first.status == "PendingAcceptance" and first.display_name == "Ann Example"
    assert [(c["method"], c["path"]) for c in control.log()] == [("POST", "/invitations")]
    again = await env.run(directory.invite_guest, invite)
    assert again.id == first.id
    assert control.outbox() == []


async def test_invite_existing_guest_returns_seeded_id(env, directory, control):
    guest = await env.run(
        directory.invite_guest,
        InviteGuestInput(email="Grace@Fabrikam.example", redirect_url="https://myapps.example"),
    )
    assert guest.id == GRACE and guest.status == "Accepted"


async def test_invite_with_mail_goes_to_outbox(env, directory, control):
    await env.run(
        directory.invite_guest,
        InviteGuestInput(
            email="bo@northwind.example",
            redirect_url="https://myapps.example",
            send_invitation_message=True,
            message="Welcome to Contoso's finance reports.",
        ),
    )
    [mail] = control.outbox(to="bo@northwind.example")
    assert "finance reports" in mail["body"]


async def test_invite_blocked_domain_is_permanent(env, directory, control):
    control.set_b2b_policy(blocked_domains=["competitor.example"])
    with pytest.raises(ApplicationError) as err:
        await env.run(
            directory.invite_guest,
            InviteGuestInput(email="eve@competitor.example", redirect_url="https://x.example"),
        )
    assert err.value.non_retryable and err.value.type == "GraphError:BadRequest"
    assert err.value.details[0]["status"] == 400
    assert "competitor.example" in err.value.details[0]["message"]


# ------------------------------------------------------------------------------- users
@pytest.mark.parametrize(
    "find",
    [
        FindUserInput(email="GRACE@fabrikam.example"),
        FindUserInput(
            user_principal_name="grace_fabrikam.example#EXT#@contoso.onmicrosoft.example"
        ),
        FindUserInput(user_id=GRACE),
    ],
)
async def test_find_guest(env, directory, control, find):
    user = await env.run(directory.find_user, find)
    assert user.id == GRACE and user.is_external and user.user_type == "Guest"
    assert user.account_enabled is True and user.mail == "grace@fabrikam.example"


async def test_find_member_and_nobody(env, directory, control):
    alice = await env.run(directory.find_user, FindUserInput(email="alice@contoso.example"))
    assert alice.id == ALICE and not alice.is_external and alice.user_type == "Member"
    assert await env.run(directory.find_user, FindUserInput(email="o'neil@x.example")) is None
    assert await env.run(directory.find_user, FindUserInput(user_id=UNKNOWN_GROUP)) is None


async def test_block_and_unblock_sign_in(env, directory, control):
    for blocked in (True, False):
        block = SetSignInBlockedInput(user_id=GRACE, blocked=blocked)
        assert await env.run(directory.set_sign_in_blocked, block) is None
        grace = await env.run(directory.find_user, FindUserInput(user_id=GRACE))
        assert grace.account_enabled is not blocked


async def test_block_unknown_user_is_permanent(env, directory, control):
    with pytest.raises(ApplicationError) as err:
        block = SetSignInBlockedInput(user_id=UNKNOWN_GROUP, blocked=True)
        await env.run(directory.set_sign_in_blocked, block)
    assert err.value.non_retryable
    assert err.value.type == "GraphError:Request_ResourceNotFound"


async def test_delete_user_twice_is_success(env, directory, control):
    assert (await env.run(directory.delete_user, UserRef(user_id=GRACE))).changed is True
    assert (await env.run(directory.delete_user, UserRef(user_id=GRACE))).changed is False
    assert await env.run(directory.find_user, FindUserInput(user_id=GRACE)) is None


async def test_manager_levels_and_no_manager(env, directory, control):
    bob = await env.run(directory.get_manager, GetManagerInput(user_id=ALICE))
    assert bob.id == BOB and bob.mail == "bob@contoso.example"
    dana = await env.run(directory.get_manager, GetManagerInput(user_id=ALICE, level=2))
    assert dana.id == DANA
    assert await env.run(directory.get_manager, GetManagerInput(user_id=DANA)) is None
    assert await env.run(directory.get_manager, GetManagerInput(user_id=BOB, level=2)) is None
    assert await env.run(directory.get_manager, GetManagerInput(user_id=ERIN, level=2)) is None


async def test_last_sign_in(env, directory, control):
    alice = await env.run(directory.get_last_sign_in, UserRef(user_id=ALICE))
    assert alice.last_sign_in == datetime(2026, 11, 20, 8, 15, tzinfo=UTC)
    erin = await env.run(directory.get_last_sign_in, UserRef(user_id=ERIN))
    assert erin.last_sign_in is None


# ------------------------------------------------------------------------------ groups
async def test_add_member_twice_is_success(env, directory, control):
    add = GroupMemberInput(group_id=FINANCE_READ, user_id=ALICE)
    assert (await env.run(directory.add_group_member, add)).changed is True
    assert (await env.run(directory.add_group_member, add)).changed is False
    assert member_ids(control, FINANCE_READ) == {DANA, ALICE}


async def test_remove_non_member_is_success(env, directory, control):
    remove = GroupMemberInput(group_id=FINANCE_APPROVERS, user_id=CAROL)
    assert (await env.run(directory.remove_group_member, remove)).changed is True
    assert (await env.run(directory.remove_group_member, remove)).changed is False
    assert member_ids(control, FINANCE_APPROVERS) == {FRANK}


async def test_add_to_unknown_group_is_permanent(env, directory, control):
    with pytest.raises(ApplicationError) as err:
        await env.run(
            directory.add_group_member, GroupMemberInput(group_id=UNKNOWN_GROUP, user_id=ALICE)
        )
    assert err.value.non_retryable
    assert "Request_ResourceNotFound" in err.value.message
    assert err.value.details[0] == {
        "status": 404,
        "code": "Request_ResourceNotFound",
        "message": f"Resource '{UNKNOWN_GROUP}' does not exist or one of its queried "
        "reference-property objects are not present.",
        "requestId": err.value.details[0]["requestId"],
    }


async def test_owners(env, directory, control):
    owner = GroupMemberInput(group_id=FINANCE_SITE_MEMBERS, user_id=CAROL)
    assert (await env.run(directory.add_group_owner, owner)).changed is True
    assert (await env.run(directory.add_group_owner, owner)).changed is False
    assert member_ids(control, FINANCE_SITE_MEMBERS, "_owners") == {DANA, CAROL}
    assert (await env.run(directory.remove_group_owner, owner)).changed is True
    assert (await env.run(directory.remove_group_owner, owner)).changed is False


async def test_list_group_members_follows_pages(env, directory, control):
    for user in (ALICE, BOB, CAROL, ERIN):
        await env.run(
            directory.add_group_member, GroupMemberInput(group_id=FINANCE_READ, user_id=user)
        )
    control.settings(pageSize=2)
    control.clear_log()
    result = await env.run(directory.list_group_members, GroupRef(group_id=FINANCE_READ))
    assert {m.id for m in result.members} == {DANA, ALICE, BOB, CAROL, ERIN}
    alice = next(m for m in result.members if m.id == ALICE)
    assert alice.mail == "alice@contoso.example" and alice.account_enabled is True
    assert len(control.log(path_regex="/members$")) == 3  # 2 + 2 + 1


async def test_check_member_groups(env, directory, control):
    result = await env.run(
        directory.check_member_groups,
        CheckMemberGroupsInput(
            user_id=FRANK, group_ids=[FINANCE_READ, SALES, FINANCE_APPROVERS, UNKNOWN_GROUP]
        ),
    )
    assert result.group_ids == [SALES, FINANCE_APPROVERS]
    many = [f"6f1b6c2e-0000-4000-8000-{n:012d}" for n in range(100, 130)] + [SALES]
    result = await env.run(
        directory.check_member_groups, CheckMemberGroupsInput(user_id=FRANK, group_ids=many)
    )
    assert result.group_ids == [SALES]
    assert len(control.log(path_regex="checkMemberGroups$")) == 3  # 20 ids per call


# --------------------------------------------------------------------- apps and sites
async def test_assign_app_role_twice_then_unassign_twice(env, directory, control):
    role = AppRoleInput(service_principal_id=REPORTS, app_role_id=VIEWER, principal_id=ALICE)
    first = await env.run(directory.assign_app_role, role)
    assert first.changed is True and first.assignment_id
    again = await env.run(directory.assign_app_role, role)
    assert again.changed is False and again.assignment_id == first.assignment_id

    other = AppRoleInput(service_principal_id=REPORTS, app_role_id=EDITOR, principal_id=ALICE)
    await env.run(directory.assign_app_role, other)
    for user in (BOB, CAROL, DANA):
        await env.run(
            directory.assign_app_role,
            AppRoleInput(service_principal_id=REPORTS, app_role_id=VIEWER, principal_id=user),
        )
    control.settings(pageSize=2)  # the assignment is found across pages
    assert (await env.run(directory.unassign_app_role, role)).changed is True
    assert (await env.run(directory.unassign_app_role, role)).changed is False
    left = {(a["principalId"], a["appRoleId"]) for a in control.state()["appRoleAssignments"]}
    assert (ALICE, VIEWER) not in left and (ALICE, EDITOR) in left and len(left) == 4


async def test_assign_unknown_app_role_is_permanent(env, directory, control):
    role = AppRoleInput(
        service_principal_id=REPORTS,
        app_role_id="1b2c3d4e-0000-4000-8000-0000000000ff",
        principal_id=ALICE,
    )
    with pytest.raises(ApplicationError) as err:
        await env.run(directory.assign_app_role, role)
    assert err.value.non_retryable and err.value.type == "GraphError:Request_BadRequest"
    assert "not found on application" in err.value.message


async def test_site_access_through_its_group(env, directory, control):
    member = SiteAccessInput(site_id=SITE, group_id=FINANCE_SITE_MEMBERS, user_id=ALICE)
    owner = SiteAccessInput(site_id=SITE, group_id=FINANCE_SITE_MEMBERS, user_id=BOB, role="Owner")
    assert (await env.run(directory.grant_site_access, member)).changed is True
    assert (await env.run(directory.grant_site_access, owner)).changed is True
    assert ALICE in member_ids(control, FINANCE_SITE_MEMBERS)
    assert BOB in member_ids(control, FINANCE_SITE_MEMBERS, "_owners")
    assert (await env.run(directory.revoke_site_access, member)).changed is True
    assert (await env.run(directory.revoke_site_access, member)).changed is False
    assert (await env.run(directory.revoke_site_access, owner)).changed is True


# -------------------------------------------------------------------- mail and tenants
async def test_send_mail_lands_in_outbox(env, directory, control):
    await env.run(
        directory.send_mail,
        SendMailInput(
            sender="access@contoso.example",
            to=["alice@contoso.example"],
            cc=["bob@contoso.example"],
            subject="Access delivered: Finance reports",
            body="<p>You now have <b>Finance reports</b>.</p>",
        ),
    )
    [mail] = control.outbox(to="alice@contoso.example")
    assert mail["from"] == "access@contoso.example"
    assert mail["ccRecipients"] == ["bob@contoso.example"]
    assert mail["subject"] == "Access delivered: Finance reports"
    assert mail["contentType"] == "html" and "<b>Finance reports</b>" in mail["body"]


async def test_find_tenant_by_domain(env, directory, control):
    fabrikam = await env.run(
        directory.find_tenant_by_domain, FindTenantInput(domain="fabrikam-research.example")
    )
    assert fabrikam.tenant_id == "f0000000-0000-4000-8000-0000000fab01"
    assert fabrikam.display_name == "Fabrikam"
    assert (
        await env.run(directory.find_tenant_by_domain, FindTenantInput(domain="gmail.example"))
        is None
    )


# ---------------------------------------------------------------- throttling and outages
async def test_429_gives_retryable_error_with_retry_after(env, directory, control):
    control.add_fault(
        method="POST", pathRegex="/members/\\$ref$", status=429, retryAfterSeconds=17, count=1
    )
    add = GroupMemberInput(group_id=FINANCE_READ, user_id=ALICE)
    with pytest.raises(ApplicationError) as err:
        await env.run(directory.add_group_member, add)
    assert not err.value.non_retryable
    assert err.value.type == "GraphThrottled"
    assert err.value.next_retry_delay == timedelta(seconds=17)
    assert err.value.details[0]["code"] == "TooManyRequests"
    # The rule is spent: the next attempt (Temporal's retry) goes through.
    assert (await env.run(directory.add_group_member, add)).changed is True


async def test_503_is_retryable(env, directory, control):
    control.add_fault(pathRegex="^/users/", status=503, count=1)
    with pytest.raises(ApplicationError) as err:
        await env.run(directory.get_manager, GetManagerInput(user_id=ALICE))
    assert not err.value.non_retryable
    assert err.value.type == "GraphUnavailable"
    assert err.value.next_retry_delay is None  # no Retry-After: Temporal's backoff applies


async def test_connection_refused_is_retryable(env):
    from activities.directory import DirectoryActivities
    from activities.graph_client import GraphSettings, build_graph_client

    client = build_graph_client(GraphSettings(base_url="http://127.0.0.1:9/v1.0"))
    try:
        with pytest.raises(ApplicationError) as err:
            await env.run(DirectoryActivities(client).delete_user, UserRef(user_id=GRACE))
    finally:
        await client.request_adapter._http_client.aclose()
    assert not err.value.non_retryable
    assert err.value.type == "GraphConnectionError"


def test_all_lists_every_activity(directory):
    names = {fn.__temporal_activity_definition.name for fn in directory.all()}
    assert names == {
        "invite_guest",
        "find_user",
        "add_group_member",
        "remove_group_member",
        "add_group_owner",
        "remove_group_owner",
        "assign_app_role",
        "unassign_app_role",
        "grant_site_access",
        "revoke_site_access",
        "set_sign_in_blocked",
        "delete_user",
        "get_manager",
        "list_group_members",
        "check_member_groups",
        "send_mail",
        "find_tenant_by_domain",
        "get_last_sign_in",
    }
