"""The commands people script against, as a subprocess on the real stack (dev server, worker,
emulator): what each does, what it refuses (exit 1, the rule named), usage errors (exit 2),
and the `--json` each prints. The packages are the `cli-tests` catalog's (cli_catalog.py)."""

from __future__ import annotations

import pytest

from entitlements.refusals import RequestRefused
from entitlements.status import RequestState
from tests.factories import ADMIN, ALICE, BOB, CAROL, DANA, FRANK
from tests.integration.cli_checks import (
    USER_IDS,
    app_role_holders,
    assert_refused,
    assert_usage_error,
    group_members,
    listed,
    mail_subjects,
    parsed,
    parsed_refusal,
    run_together,
    succeeded,
)
from tests.integration.conftest import Stack
from tests.waiting import wait_for

DELIVERED_MAIL = "You now have access to CLI tools"


def requested(stack: Stack, package: str, user: str) -> str:
    return succeeded(stack.cli("request", package, "--for", user)).strip()


async def test_cancel_by_the_requestor_only_while_pending(stack: Stack):
    request_id = requested(stack, "cli-approval", CAROL)
    assert request_id == f"access:cli-approval:{CAROL}"
    await wait_for(stack.access, request_id, lambda s: s.stage is not None)

    assert_refused(stack.cli("cancel", request_id, "--as", BOB), "notRequestor", BOB)
    assert (await stack.access.status(request_id)).state == RequestState.PENDING_APPROVAL

    assert succeeded(stack.cli("cancel", request_id, "--as", CAROL)).strip() == (
        f"canceled: {request_id}"
    )
    status = parsed(stack.cli("status", request_id, "--json"))
    assert (status["state"], status["ended_by"]) == ("canceled", CAROL)
    assert status["stage"] is None and status["decisions"] == []
    # ended: a script reads the refusal from stdout
    refusal = parsed_refusal(stack.cli("cancel", request_id, "--as", CAROL, "--json"))
    assert refusal == {
        "refused": "notPending",
        "message": f"request '{request_id}' has ended: it is canceled",
    }


async def test_deny_by_an_approver_not_by_the_requestor_nor_anyone_else(stack: Stack):
    request_id = requested(stack, "cli-approval", BOB)  # bob's manager is dana
    await wait_for(stack.access, request_id, lambda s: s.stage is not None)

    assert_refused(stack.cli("deny", request_id, "--as", CAROL), "notAnApprover", DANA)
    assert_refused(stack.cli("deny", request_id, "--as", BOB), "selfApproval")
    assert (await stack.access.status(request_id)).decisions == []

    decision = parsed(
        stack.cli("deny", request_id, "--as", DANA, "--justification", "Not this quarter", "--json")
    )
    assert (decision["stage"], decision["by"], decision["decision"]) == (1, DANA, "deny")
    assert decision["justification"] == "Not this quarter"
    status = await wait_for(stack.access, request_id, lambda s: s.state == RequestState.DENIED)
    assert status.denial_reason == f"denied by {DANA} at stage 1"
    assert not any(r.state == "delivered" for r in status.resources)  # nothing granted
    shown = succeeded(stack.cli("status", request_id))
    assert f"state       denied (denied by {DANA} at stage 1)" in shown
    assert "decision    stage 1 deny by dana@contoso.example" in shown


async def test_list_filters_and_remove_by_an_administrator_or_the_target(stack: Stack):
    carol = requested(stack, "cli-tools", CAROL)
    frank = requested(stack, "cli-tools", FRANK)
    for request_id in (carol, frank):
        await wait_for(stack.access, request_id, lambda s: s.state == RequestState.DELIVERED)
    assert {USER_IDS[CAROL], USER_IDS[FRANK]} <= group_members(stack)
    assert {USER_IDS[CAROL], USER_IDS[FRANK]} <= app_role_holders(stack)
    assert DELIVERED_MAIL in mail_subjects(stack, CAROL)

    # list: visibility follows the workflows by a moment
    await listed(stack, lambda ids: {carol, frank} <= ids, package="cli-tools", state="delivered")
    rows = parsed(stack.cli("list", "--package", "cli-tools", "--state", "delivered", "--json"))
    assert {carol, frank} <= {row["id"] for row in rows}
    assert {(row["package"], row["state"]) for row in rows} == {("cli-tools", "delivered")}
    mine = parsed(stack.cli("list", "--user", CAROL.upper(), "--json"))
    assert carol in {row["id"] for row in mine}
    assert {row["user"] for row in mine} == {CAROL}
    table = succeeded(stack.cli("list", "--package", "cli-tools", "--user", FRANK))
    assert frank in table and carol not in table and "1 request(s)" in table

    assert_refused(stack.cli("reprocess", carol), "nothingToReprocess", "delivered")
    assert_refused(stack.cli("remove", carol, "--as", FRANK), "notRequestor", FRANK)
    assert (await stack.access.status(carol)).state == RequestState.DELIVERED

    removed = stack.cli("remove", carol, "--as", ADMIN, "--reason", "Left the project")
    assert succeeded(removed).strip() == f"removed: {carol}"
    assert parsed(stack.cli("remove", frank, "--as", FRANK, "--json")) == {
        "id": frank, "removed": True, "by": FRANK, "reason": None,
    }  # fmt: skip
    for request_id in (carol, frank):
        await wait_for(stack.access, request_id, lambda s: s.state == RequestState.REMOVED)
    assert not {USER_IDS[CAROL], USER_IDS[FRANK]} & group_members(stack)
    assert not {USER_IDS[CAROL], USER_IDS[FRANK]} & app_role_holders(stack)
    status = parsed(stack.cli("status", carol, "--json"))
    assert (status["ended_by"], status["end_reason"]) == (ADMIN, "Left the project")
    assert {r["state"] for r in status["resources"]} == {"revoked"}

    await listed(stack, lambda ids: {carol, frank} <= ids, package="cli-tools", state="removed")
    still = parsed(stack.cli("list", "--package", "cli-tools", "--state", "delivered", "--json"))
    assert not {carol, frank} & {row["id"] for row in still}


async def test_assign_directly_with_no_approval_and_no_mail(stack: Stack):
    assert_refused(
        stack.cli("assign", "cli-tools", "--for", BOB, "--as", CAROL, "--policy", "admins"),
        "notAdministrator",
        CAROL,
    )
    assert_refused(
        stack.cli("assign", "cli-tools", "--for", BOB, "--as", ADMIN), "choosePolicy", "admins"
    )
    assigned = stack.cli(
        "assign", "cli-tools", "--for", BOB, "--as", ADMIN, "--policy", "admins", "--json"
    )
    request_id = parsed(assigned)
    assert request_id == f"access:cli-tools:{BOB}"
    status = await wait_for(stack.access, request_id, lambda s: s.state == RequestState.DELIVERED)
    assert (status.request_type, status.requestor.key, status.policy_id) == (
        "adminAdd",
        ADMIN,
        "admins",
    )
    assert status.decisions == []
    assert USER_IDS[BOB] in group_members(stack) and USER_IDS[BOB] in app_role_holders(stack)
    assert DELIVERED_MAIL not in mail_subjects(stack, BOB)
    assert_refused(
        stack.cli("assign", "cli-tools", "--for", BOB, "--as", ADMIN, "--policy", "admins"),
        "openRequestExists",
        request_id,
    )


async def test_guest_status_of_a_guest_invited_by_delivery(stack: Stack):
    ivy = "ivy@fabrikam-partners.example"  # Fabrikam staff, not in the directory yet
    request_id = requested(stack, "cli-partners", ivy)
    status = await wait_for(stack.access, request_id, lambda s: s.state == RequestState.DELIVERED)
    assert status.target.id and status.target.is_external

    view = parsed(stack.cli("guest", "status", ivy, "--json"))
    assert (view["lifecycle"], view["managed_guest"]) == ("active", True)
    assert view["user"]["id"] == status.target.id
    assert view["live_assignments"] == [request_id]
    by_id = succeeded(stack.cli("guest", "status", status.target.id))
    assert "lifecycle        active" in by_id and request_id in by_id
    assert_refused(stack.cli("guest", "status", "nobody@fabrikam.example"), "unknownUser")


async def test_unknown_and_malformed_names_are_refused_with_what_is_wrong(stack: Stack):
    """What tests/workflows/test_bad_input_cli.py does not run: unknown ids through updates on
    the real server, a direct assignment and an invitation to no one, missing options."""
    unknown = f"access:cli-tools:{ALICE}"  # alice never asked for it
    refusals = {
        ("approve", unknown, "--as", BOB): ("requestNotFound", unknown),
        ("cancel", "no-such-request", "--as", BOB): ("requestNotFound", "no-such-request"),
        ("assign", "cli-tools", "--for", "nobody", "--as", ADMIN, "--policy", "admins"): (
            "unknownUser",
            "nobody",
        ),
        ("invite", "not-an-address"): ("invalidEmail", "not-an-address"),
    }
    usage_errors = {
        ("pending",): ("--approver",),
        ("remove", unknown): ("--as",),
        ("list", "--state", "approved"): ("--state", "pendingApproval"),
    }
    results = run_together(stack, *refusals, *usage_errors)
    for (rule, *words), result in zip(refusals.values(), results[: len(refusals)], strict=True):
        assert_refused(result, rule, *words)
    for words, result in zip(usage_errors.values(), results[len(refusals) :], strict=True):
        assert_usage_error(result, *words)
    with pytest.raises(RequestRefused):  # nothing was started for alice
        await stack.access.status(unknown)
