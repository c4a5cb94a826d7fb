"""Policy choice and refusals before anything starts, through AccessClient on the time-skipping
server with the real intake activity and the Graph emulator (SEMANTICS.md "Who may request").

Every refusal names its rule and the thing at fault, and leaves no request workflow and no
directory write behind."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.service import RPCError, RPCStatusCode

from entitlements.refusals import RequestRefused, Rule
from entitlements.status import RequestState
from tests.factories import (
    ADMIN,
    ALICE,
    BOB,
    CAROL,
    FRANK,
    GRACE,
    SALES,
    add_policy,
    example_catalog,
    load,
    package,
    policy,
    running_worker,
    simple_policy,
    stage,
)
from tests.waiting import POLLS, wait_for

RESEARCHER = "sam@fabrikam-research.example"  # a verified domain of Fabrikam's tenant only
PARTNER = "kim@fabrikam-partners.example"  # Fabrikam's plain domain
LEAD = "lead@fabrikam.example"  # Fabrikam's external sponsor, not in the directory
LITWARE_USER = "lee@litware.example"  # a proposed connected organization
GOOD_ANSWERS = {"cost-center": "CC-1234"}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
READ_ONLY_POSTS = ("/checkMemberGroups",)  # Graph serves these queries as POST


def request_id(package_id: str, who: str) -> str:
    return f"access:{package_id}:{who.strip().lower()}"


def directory_writes(graph) -> list[str]:
    return [
        f"{call['method']} {call['path']}"
        for call in graph.control.log()
        if call["method"] in WRITE_METHODS and not call["path"].endswith(READ_ONLY_POSTS)
    ]


async def latest_run(client, workflow_id: str) -> str | None:
    try:
        return (await client.get_workflow_handle(workflow_id).describe()).run_id
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def expect_refusal(
    access, graph, package_id: str, target: str, *, admin: str | None = None, **ask
) -> RequestRefused:
    """Ask for `package_id` for `target` (a direct assignment when `admin` is given); the ask
    must be refused, and must have started and changed nothing: no new run of the request's
    workflow (the test server serves the whole session, so an earlier test's closed run of the
    same id may exist: compare runs, not existence) and no directory write."""
    workflow_id = request_id(package_id, target)
    before = await latest_run(access.client, workflow_id)
    with pytest.raises(RequestRefused) as refusal:
        if admin is None:
            await access.request_access(package_id, target, **ask)
        else:
            await access.assign(package_id, target, admin=admin, **ask)
    assert await latest_run(access.client, workflow_id) == before
    assert directory_writes(graph) == []
    return refusal.value


async def pending_and_notified(access, graph, request: str):
    """The request's status once it waits for a decision and its approvers have their mail;
    the emulator's log is cleared then, so later writes are someone else's."""
    status = await wait_for(access, request, lambda s: s.stage is not None)
    approvers = [person.key for person in status.stage.approvers]
    for _ in range(POLLS):
        if all(graph.control.outbox(to=approver) for approver in approvers):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"the approvers of {request} were never told: {approvers}")
    graph.control.clear_log()
    return status


def with_pending_approvals(data: dict) -> dict:
    """Both finance-reports and sales-team wait for carol, so requests stay open."""
    simple_policy(data, "finance-reports", "employees", stage())
    simple_policy(data, "sales-team", "everyone", stage())
    return data


# ---- who asks, and for what -----------------------------------------------------------------

APPLICATION = {"justification": "quarter close", "answers": GOOD_ANSWERS}  # what employees asks


async def test_an_unknown_package_is_refused(time_env, graph, task_queue):
    async with running_worker(time_env.client, graph, load(example_catalog()), task_queue) as a:
        refused = await expect_refusal(a, graph, "finance-report", ALICE)
        assert refused.rule == Rule.UNKNOWN_PACKAGE
        assert "'finance-report'" in refused.message


@pytest.mark.parametrize(
    ("target", "rule"),
    [
        ("nobody", Rule.UNKNOWN_USER),  # neither a directory user nor an address
        ("00000000-0000-4000-8000-00000000dead", Rule.UNKNOWN_USER),  # no such object id
        ("nobody@", Rule.INVALID_EMAIL),
    ],
)
async def test_an_unknown_target_is_refused(time_env, graph, task_queue, target, rule):
    async with running_worker(time_env.client, graph, load(example_catalog()), task_queue) as a:
        refused = await expect_refusal(a, graph, "finance-reports", target, **APPLICATION)
        assert refused.rule == rule
        assert f"'{target}'" in refused.message


async def test_a_requestor_outside_the_directory_is_refused(time_env, graph, task_queue):
    async with running_worker(time_env.client, graph, load(example_catalog()), task_queue) as a:
        ghost = "ghost@contoso.example"
        refused = await expect_refusal(
            a, graph, "finance-reports", ALICE, requestor=ghost, **APPLICATION
        )
        assert refused.rule == Rule.UNKNOWN_USER
        assert f"requestor '{ghost}'" in refused.message


async def test_nothing_in_an_unpublished_catalog_can_be_requested(time_env, graph, task_queue):
    data = example_catalog()
    data["catalogs"][0]["state"] = "unpublished"  # finance
    async with running_worker(time_env.client, graph, load(data), task_queue) as a:
        refused = await expect_refusal(a, graph, "finance-reports", ALICE, **APPLICATION)
        assert refused.rule == Rule.CATALOG_UNPUBLISHED
        assert "'finance'" in refused.message


async def test_a_policy_with_new_requests_disabled_refuses(time_env, graph, task_queue):
    data = example_catalog()
    policy(data, "finance-reports", "employees")["requestorSettings"]["acceptRequests"] = False
    async with running_worker(time_env.client, graph, load(data), task_queue) as a:
        refused = await expect_refusal(a, graph, "finance-reports", ALICE, **APPLICATION)
        assert refused.rule == Rule.REQUESTS_DISABLED
        assert "'employees'" in refused.message
        assert "'finance-reports'" in refused.message


async def test_a_package_for_direct_assignment_only_refuses_requests(time_env, graph, task_queue):
    async with running_worker(time_env.client, graph, load(example_catalog()), task_queue) as a:
        refused = await expect_refusal(a, graph, "finance-write", ALICE)
        assert refused.rule == Rule.NO_MATCHING_POLICY
        assert "'finance-write'" in refused.message
        assert ALICE in refused.message


# ---- connected organizations and external users --------------------------------------------


@pytest.mark.parametrize(
    "external",
    [RESEARCHER, PARTNER, GRACE],
    ids=["tenant-verified-domain", "plain-domain", "existing-guest"],
)
async def test_fabrikam_people_get_the_partner_policy_and_their_sponsor_approves(
    time_env, graph, task_queue, external
):
    async with running_worker(time_env.client, graph, load(example_catalog()), task_queue) as a:
        request = await a.request_access("finance-reports", external)
        status = await wait_for(a, request, lambda s: s.stage is not None)
        assert status.policy_id == "fabrikam-partners"
        assert status.state == RequestState.PENDING_APPROVAL
        assert [p.key for p in status.stage.approvers] == [LEAD]  # not bob, the fallback
        assert status.target.key == external
        assert status.target.in_directory == (external == GRACE)  # no one invited yet


async def test_without_external_sponsors_the_internal_sponsor_approves(time_env, graph, task_queue):
    data = example_catalog()
    data["connectedOrganizations"][0]["externalSponsors"] = []  # fabrikam
    async with running_worker(time_env.client, graph, load(data), task_queue) as a:
        request = await a.request_access("finance-reports", RESEARCHER)
        status = await wait_for(a, request, lambda s: s.stage is not None)
        assert status.policy_id == "fabrikam-partners"
        assert [p.key for p in status.stage.approvers] == [BOB]


@pytest.mark.parametrize(
    ("external", "named"),
    [
        (LITWARE_USER, "connected organization 'litware' (proposed)"),
        ("max@northwind.example", "(an external user)"),  # a tenant, but no connected org
        ("pat@elsewhere.example", "(an external user)"),
    ],
)
async def test_all_configured_organizations_never_admits_a_proposed_or_unknown_one(
    time_env, graph, task_queue, external, named
):
    data = example_catalog()
    add_policy(data, "finance-reports", "partners", "allConfiguredConnectedOrganizationUsers")
    async with running_worker(time_env.client, graph, load(data), task_queue) as a:
        refused = await expect_refusal(a, graph, "finance-reports", external)
        assert refused.rule == Rule.NO_MATCHING_POLICY
        assert "'finance-reports'" in refused.message
        assert named in refused.message


async def test_a_proposed_organization_matches_all_external_users(time_env, graph, task_queue):
    data = example_catalog()
    add_policy(data, "finance-reports", "partners", "allConfiguredConnectedOrganizationUsers")
    add_policy(data, "finance-reports", "anyone-external", "allExternalUsers")
    async with running_worker(time_env.client, graph, load(data), task_queue) as a:
        request = await a.request_access("finance-reports", LITWARE_USER)
        assert (await a.status(request)).policy_id == "anyone-external"


async def test_the_invitation_deny_list_refuses_a_denied_domain(time_env, graph, task_queue):
    data = example_catalog()  # deniedDomains: [competitor.example]
    add_policy(data, "finance-reports", "anyone-external", "allExternalUsers")
    async with running_worker(time_env.client, graph, load(data), task_queue) as a:
        refused = await expect_refusal(a, graph, "finance-reports", "ceo@competitor.example")
        assert refused.rule == Rule.INVITATION_DOMAIN
        assert "the domain competitor.example is on the invitation deny list" in refused.message


async def test_the_invitation_allow_list_refuses_other_domains(time_env, graph, task_queue):
    data = example_catalog()
    data["settings"]["invitations"] |= {"allowedDomains": ["fabrikam.example"], "deniedDomains": []}
    async with running_worker(time_env.client, graph, load(data), task_queue) as a:
        refused = await expect_refusal(a, graph, "finance-reports", PARTNER)
        assert refused.rule == Rule.INVITATION_DOMAIN
        assert "fabrikam-partners.example is not on the invitation allow list" in refused.message
        # a guest already in the directory needs no invitation
        request = await a.request_access("finance-reports", GRACE)
        assert (await a.status(request)).policy_id == "fabrikam-partners"


# ---- several policies ------------------------------------------------------------------------


async def test_several_policies_of_one_tier_make_the_requestor_choose(time_env, graph, task_queue):
    data = example_catalog()
    simple_policy(data, "finance-reports", "employees")
    add_policy(data, "finance-reports", "employees-fast", "allMemberUsers")
    async with running_worker(time_env.client, graph, load(data), task_queue) as a:
        refused = await expect_refusal(a, graph, "finance-reports", ALICE)
        assert refused.rule == Rule.CHOOSE_POLICY
        assert "employees, employees-fast" in refused.message
        request = await a.request_access("finance-reports", ALICE, policy="employees-fast")
        assert (await a.status(request)).policy_id == "employees-fast"


async def test_a_chosen_policy_outside_the_best_tier_is_refused(time_env, graph, task_queue):
    data = example_catalog()
    simple_policy(data, "finance-reports", "employees")
    analysts = {"type": "singleUser", "user": ALICE}
    add_policy(data, "finance-reports", "analysts", "specificDirectoryUsers", analysts)
    async with running_worker(time_env.client, graph, load(data), task_queue) as a:
        refused = await expect_refusal(a, graph, "finance-reports", ALICE, policy="employees")
        assert refused.rule == Rule.NO_MATCHING_POLICY
        assert "'employees'" in refused.message
        assert "more specific policies take precedence: analysts" in refused.message
        unknown = await expect_refusal(a, graph, "finance-reports", ALICE, policy="interns")
        assert unknown.rule == Rule.UNKNOWN_POLICY
        assert "'interns'" in unknown.message
        request = await a.request_access("finance-reports", ALICE)
        assert (await a.status(request)).policy_id == "analysts"
        others = await a.request_access("finance-reports", BOB)
        assert (await a.status(others)).policy_id == "employees"


# ---- separation of duties ----------------------------------------------------------------


async def test_a_member_of_an_incompatible_group_is_refused(time_env, graph, task_queue):
    async with running_worker(time_env.client, graph, load(example_catalog()), task_queue) as a:
        refused = await expect_refusal(a, graph, "finance-reports", FRANK, **APPLICATION)
        assert refused.rule == Rule.SEPARATION_OF_DUTIES
        assert f"member of group {SALES}" in refused.message
        assert "'finance-reports'" in refused.message


@pytest.mark.parametrize(
    ("held", "wanted"),
    [
        ("finance-reports", "sales-team"),  # sales-team names finance-reports
        ("sales-team", "finance-reports"),  # and the rule holds the other way round too
    ],
)
async def test_an_open_request_for_an_incompatible_package_refuses(
    time_env, graph, task_queue, held, wanted
):
    catalog = load(with_pending_approvals(example_catalog()))
    async with running_worker(time_env.client, graph, catalog, task_queue) as a:
        first = await a.request_access(held, ALICE)
        await pending_and_notified(a, graph, first)
        refused = await expect_refusal(a, graph, wanted, ALICE)
        assert refused.rule == Rule.SEPARATION_OF_DUTIES
        assert f"access package '{held}'" in refused.message
        assert f"incompatible with '{wanted}'" in refused.message


async def test_an_ended_incompatible_request_no_longer_refuses(time_env, graph, task_queue):
    catalog = load(with_pending_approvals(example_catalog()))
    async with running_worker(time_env.client, graph, catalog, task_queue) as a:
        first = await a.request_access("sales-team", ALICE)
        await pending_and_notified(a, graph, first)
        await a.deny(first, CAROL)
        await a.wait(first)
        request = await a.request_access("finance-reports", ALICE)
        assert (await a.status(request)).state == RequestState.PENDING_APPROVAL


# ---- what the requestor typed ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("justification", "answers", "rule", "named"),
    [
        ("quarter close", {}, Rule.QUESTION_UNANSWERED, "'cost-center'"),
        ("quarter close", {"cost-center": "  "}, Rule.QUESTION_UNANSWERED, "'cost-center'"),
        ("quarter close", {"cost-center": "CC-12"}, Rule.ANSWER_INVALID, "'cost-center'"),
        ("quarter close", {**GOOD_ANSWERS, "team": "x"}, Rule.ANSWER_INVALID, "'team'"),
        (None, GOOD_ANSWERS, Rule.JUSTIFICATION_REQUIRED, "'employees'"),
        ("close\x1b[2J", GOOD_ANSWERS, Rule.TEXT_INVALID, "U+001B"),
        ("x" * 2001, GOOD_ANSWERS, Rule.TEXT_INVALID, "2001 characters"),
    ],
    ids=[
        "unanswered",
        "blank",
        "regex",
        "unknown-question",
        "no-justification",
        "control-char",
        "too-long",
    ],
)
async def test_what_the_requestor_typed_is_checked(
    time_env, graph, task_queue, justification, answers, rule, named
):
    async with running_worker(time_env.client, graph, load(example_catalog()), task_queue) as a:
        refused = await expect_refusal(
            a, graph, "finance-reports", ALICE, justification=justification, answers=answers
        )
        assert refused.rule == rule
        assert named in refused.message


async def test_a_custom_schedule_needs_a_policy_that_allows_one(time_env, graph, task_queue):
    async with running_worker(time_env.client, graph, load(example_catalog()), task_queue) as a:
        end = datetime.now(UTC) + timedelta(days=7)
        refused = await expect_refusal(a, graph, "finance-reports", RESEARCHER, end=end)
        assert refused.rule == Rule.CUSTOM_SCHEDULE_NOT_ALLOWED
        assert "'fabrikam-partners'" in refused.message


async def test_an_end_past_the_policy_limit_is_refused(time_env, graph, task_queue):
    async with running_worker(time_env.client, graph, load(example_catalog()), task_queue) as a:
        end = datetime.now(UTC) + timedelta(days=91)  # employees: P90D
        refused = await expect_refusal(a, graph, "finance-reports", ALICE, end=end, **APPLICATION)
        assert refused.rule == Rule.SCHEDULE_INVALID
        assert "past what policy 'employees' allows" in refused.message
        within = end - timedelta(days=2)
        request = await a.request_access("finance-reports", ALICE, end=within, **APPLICATION)
        assert (await a.status(request)).state == RequestState.PENDING_APPROVAL


# ---- one open request per user and package ------------------------------------------------


async def test_a_second_open_request_is_refused_naming_the_first(time_env, graph, task_queue):
    catalog = load(with_pending_approvals(example_catalog()))
    async with running_worker(time_env.client, graph, catalog, task_queue) as a:
        first = await a.request_access("finance-reports", ALICE)
        before = await pending_and_notified(a, graph, first)
        first_run = await latest_run(time_env.client, first)
        second = await expect_refusal(a, graph, "finance-reports", ALICE)
        assert second.rule == Rule.OPEN_REQUEST_EXISTS
        assert first in second.message
        assert await latest_run(time_env.client, first) == first_run
        assert await a.status(first) == before
        # once the first has ended, a new request is welcome
        await a.deny(first, CAROL)
        assert (await a.wait(first)).state == RequestState.DENIED
        again = await a.request_access("finance-reports", ALICE)
        assert again == first
        assert await latest_run(time_env.client, again) != first_run
        assert (await wait_for(a, again, lambda s: s.stage is not None)).decisions == []


# ---- direct assignment -------------------------------------------------------------------


async def test_only_an_administrator_may_assign_directly(time_env, graph, task_queue):
    data = example_catalog()
    # an end date that will not pass while this suite is in use (a passed one refuses)
    expiration = policy(data, "finance-write", "admins-only")["expiration"]
    expiration["endDateTime"] = "2099-12-31T00:00:00Z"
    async with running_worker(time_env.client, graph, load(data), task_queue) as a:
        refused = await expect_refusal(a, graph, "finance-write", ALICE, admin=BOB)
        assert refused.rule == Rule.NOT_ADMINISTRATOR
        assert f"{BOB} is not an entitlement management administrator" in refused.message
        request = await a.assign("finance-write", ALICE, admin=ADMIN)
        accepted = await a.status(request)
        assert (accepted.request_type, accepted.requestor.key) == ("adminAdd", ADMIN)
        assert accepted.policy_id == "admins-only"


def test_the_example_catalog_is_what_these_tests_assume():
    """The refusals above lean on these facts of examples/catalog.yaml."""
    data = example_catalog()
    assert data["settings"]["invitations"]["deniedDomains"] == ["competitor.example"]
    assert data["settings"]["administrators"] == [ADMIN]
    assert package(data, "finance-reports")["incompatibleGroups"] == [SALES]
    assert package(data, "sales-team")["incompatibleAccessPackages"] == ["finance-reports"]
    assert [o["state"] for o in data["connectedOrganizations"]] == ["configured", "proposed"]
