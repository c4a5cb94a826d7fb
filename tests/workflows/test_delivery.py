"""Delivery, on the time-skipping server with the real activities and the Graph emulator.

What a user relies on once a request is approved: every resource role lands in the directory
(and is visible per resource when one cannot), an external user is invited first, throttling is
waited out at Graph's pace, and a role shared by two assignments lives as long as either does.
"""

from __future__ import annotations

import asyncio
import re
from itertools import pairwise

import httpx
import pytest

from entitlements.refusals import RequestRefused, Rule
from entitlements.status import RequestState, ResourceState
from tests.factories import (
    ADMIN,
    ALICE,
    FINANCE_APPROVERS,
    FINANCE_READ,
    FINANCE_SITE_GROUP,
    REPORTS_SP,
    app_role_holders,
    example_catalog,
    load,
    running_worker,
    simple_policy,
)
from tests.waiting import wait_for

ALICE_ID = "00000000-0000-4000-8000-0000000a11ce"
ANN = "ann@fabrikam-partners.example"  # Fabrikam staff by domain, not in the directory
MEMBER_REF = r"/groups/[^/]+/members/\$ref$"
MEMBER_REMOVAL = r"/groups/[^/]+/members/[^/]+/\$ref$"
APP_ROLE_ASSIGNMENT = r"/servicePrincipals/[^/]+/appRoleAssignedTo$"
DELIVERED_SUBJECT = "You now have access to"


@pytest.fixture
def env(time_env):
    """The time-skipping server with time held still. Nothing here waits on a timer, and
    otherwise any client call that awaits a result (the intake does) lets the server jump to
    the next deadline: an assignment's end, or the test server's 10-year run timeout."""
    with time_env.auto_time_skipping_disabled():
        yield time_env


async def delivered_mail(graph, address: str) -> list[dict]:
    """The "access delivered" mail to `address`, once there is some (it follows the state)."""
    for _ in range(200):
        mail = [m for m in graph.control.outbox(to=address) if DELIVERED_SUBJECT in m["subject"]]
        if mail:
            return mail
        await asyncio.sleep(0.05)
    return []


def member_ids(graph, group_id: str) -> set[str]:
    response = httpx.get(f"{graph.base_url}/groups/{group_id}/members")
    response.raise_for_status()
    return {member["id"] for member in response.json()["value"]}


NOT_WRITES = ("/sendMail", "/checkMemberGroups")  # mail, and a read Graph answers to POST


def graph_writes(graph) -> list[dict]:
    """The directory changes the emulator answered, in order."""
    return [
        call
        for call in graph.control.log()
        if call["method"] in ("POST", "PATCH", "DELETE") and not call["path"].endswith(NOT_WRITES)
    ]


def with_packages(*packages: dict):
    """The example catalog plus these packages in the Finance catalog, where the Finance
    Approvers group is also a resource. Every policy added here: any member, no approval,
    no end (so no expiry timer can fire while a test waits)."""
    data = example_catalog()
    finance = next(c for c in data["catalogs"] if c["id"] == "finance")
    finance["resources"].append(
        {"id": "approvers", "type": "group", "originId": FINANCE_APPROVERS, "displayName": "FA"}
    )
    for spec in packages:
        finance["accessPackages"].append(
            {
                "id": spec["id"],
                "displayName": spec["id"].replace("-", " ").capitalize(),
                "resourceRoleScopes": spec["scopes"],
                "assignmentPolicies": [
                    {
                        "id": "members",
                        "displayName": "Any member, no approval",
                        "allowedTargetScope": "allMemberUsers",
                        "expiration": {"type": "noExpiration"},
                        "requestorSettings": {"enableTargetsToSelfRemoveAccess": True},
                    }
                ],
            }
        )
    return load(data)


def finance_reports_without_approval(policy_id: str = "employees"):
    data = example_catalog()
    simple_policy(data, "finance-reports", policy_id)
    return load(data)


READ = {"resource": "finance-read", "role": "Member"}
APPROVERS = {"resource": "approvers", "role": "Member"}
VIEWER = {"resource": "reports", "role": "Reports.Viewer"}


def settled(status) -> bool:
    return status.state not in (RequestState.PENDING_APPROVAL, RequestState.DELIVERING)


def by_name(status) -> dict:
    return {r.display_name: r for r in status.resources}


async def test_an_internal_user_gets_two_groups_and_an_app_role(env, graph, task_queue):
    catalog = with_packages({"id": "finance-tools", "scopes": [READ, APPROVERS, VIEWER]})
    async with running_worker(env.client, graph, catalog, task_queue) as access:
        request_id = await access.request_access("finance-tools", ALICE)
        done = await wait_for(access, request_id, settled)
        assert done.state == RequestState.DELIVERED
        assert {(r.display_name, r.state) for r in done.resources} == {
            ("Finance Read", ResourceState.DELIVERED),
            ("FA", ResourceState.DELIVERED),
            ("Reports", ResourceState.DELIVERED),
        }
        assert done.delivered_at is not None
        assert ALICE_ID in member_ids(graph, FINANCE_READ)
        assert ALICE_ID in member_ids(graph, FINANCE_APPROVERS)
        assert ALICE_ID in app_role_holders(graph, REPORTS_SP)
        writes = graph_writes(graph)
        assert sorted(
            (c["method"], re.sub(r"[0-9a-f-]{36}", "{id}", c["path"])) for c in writes
        ) == [
            ("POST", "/groups/{id}/members/$ref"),
            ("POST", "/groups/{id}/members/$ref"),
            ("POST", "/servicePrincipals/{id}/appRoleAssignedTo"),
        ]
        mail = await delivered_mail(graph, ALICE)
        assert [m["subject"] for m in mail] == [f"{DELIVERED_SUBJECT} Finance tools"]


async def test_an_external_user_is_invited_then_granted(env, graph, task_queue):
    catalog = finance_reports_without_approval("fabrikam-partners")
    async with running_worker(env.client, graph, catalog, task_queue) as access:
        request_id = await access.request_access("finance-reports", ANN)
        done = await wait_for(access, request_id, settled)
        assert done.state == RequestState.DELIVERED, done.resources
        guests = [u for u in graph.control.state()["users"] if u.get("mail") == ANN]
        assert len(guests) == 1
        guest = guests[0]
        assert guest["userType"] == "Guest"
        assert "#EXT#" in guest["userPrincipalName"]
        assert done.target.id == guest["id"]
        assert guest["id"] in member_ids(graph, FINANCE_READ)
        assert guest["id"] in app_role_holders(graph, REPORTS_SP)
        # sendInvitationMessage false: the "access delivered" mail is the only one ann gets
        assert len(await delivered_mail(graph, ANN)) == 1
        assert graph.control.outbox(kind="invitation") == []
        assert len(graph.control.outbox(to=ANN)) == 1
        writes = [c["path"] for c in graph_writes(graph)]
        assert writes[0] == "/invitations"
        assert writes.count("/invitations") == 1
        grants = [
            p for p in writes if re.search(MEMBER_REF, p) or re.search(APP_ROLE_ASSIGNMENT, p)
        ]
        assert len(grants) == 3  # Finance Read, the site's group, Reports.Viewer


async def test_throttling_is_waited_out_at_the_pace_graph_asks(env, graph, task_queue):
    storm = 5
    graph.control.add_fault(
        method="POST",
        pathRegex=f"/groups/{FINANCE_READ}/members/\\$ref",
        status=429,
        retryAfterSeconds=1,
        count=storm,
    )
    catalog = finance_reports_without_approval()
    async with running_worker(env.client, graph, catalog, task_queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        done = await wait_for(access, request_id, settled)
        assert done.state == RequestState.DELIVERED
        assert {r.state for r in done.resources} == {ResourceState.DELIVERED}
        assert ALICE_ID in member_ids(graph, FINANCE_READ)
        attempts = graph.control.log(method="POST", path_regex=f"/groups/{FINANCE_READ}/")
        assert [a["status"] for a in attempts] == [429] * storm + [204]
        gaps = [later["time"] - earlier["time"] for earlier, later in pairwise(attempts)]
        assert min(gaps) >= 0.9, gaps  # Retry-After: 1 honoured before every retry


async def test_a_deleted_group_is_reported_and_reprocessed_after_restore(env, graph, task_queue):
    httpx.delete(f"{graph.base_url}/groups/{FINANCE_READ}").raise_for_status()
    catalog = finance_reports_without_approval()
    async with running_worker(env.client, graph, catalog, task_queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        partial = await wait_for(access, request_id, settled)
        assert partial.state == RequestState.PARTIALLY_DELIVERED
        resources = by_name(partial)
        failed = resources["Finance Read"]
        assert failed.state == ResourceState.FAILED
        assert failed.error_code == "Request_ResourceNotFound"
        assert failed.error_message == (
            f"Resource '{FINANCE_READ}' does not exist or one of its queried "
            "reference-property objects are not present."
        )
        assert resources["Reports"].state == ResourceState.DELIVERED
        assert resources["Finance Site"].state == ResourceState.DELIVERED
        assert "Finance Read" in partial.waiting_for

        restore = f"{graph.base_url}/directory/deletedItems/{FINANCE_READ}/restore"
        httpx.post(restore).raise_for_status()
        after = await access.reprocess(request_id)
        assert after.state == RequestState.DELIVERED
        assert {r.state for r in after.resources} == {ResourceState.DELIVERED}
        assert by_name(after)["Finance Read"].error_code is None
        assert ALICE_ID in member_ids(graph, FINANCE_READ)
        # told once, now that every resource is in (reprocess answers after the mail is sent)
        mail = [m for m in graph.control.outbox(to=ALICE) if DELIVERED_SUBJECT in m["subject"]]
        assert len(mail) == 1


async def test_reprocess_is_refused_once_removal_has_begun(env, graph, task_queue):
    httpx.delete(f"{graph.base_url}/groups/{FINANCE_READ}").raise_for_status()
    catalog = finance_reports_without_approval()
    async with running_worker(env.client, graph, catalog, task_queue) as access:
        request_id = await access.request_access("finance-reports", ALICE)
        partial = await wait_for(access, request_id, settled)
        assert partial.state == RequestState.PARTIALLY_DELIVERED
        # the revocation takes a while: Graph answers the site group's removal slowly
        graph.control.add_fault(method="DELETE", pathRegex=MEMBER_REMOVAL, latencyMs=1000, count=2)
        await access.remove(request_id, ADMIN)
        with pytest.raises(RequestRefused) as refused:
            await access.reprocess(request_id)
        assert refused.value.rule == Rule.NOTHING_TO_REPROCESS
        await wait_for(access, request_id, lambda s: s.state == RequestState.REMOVED)
        assert ALICE_ID not in app_role_holders(graph, REPORTS_SP)
        assert ALICE_ID not in member_ids(graph, FINANCE_SITE_GROUP)


async def test_a_shared_group_stays_until_its_last_assignment_ends(env, graph, task_queue):
    catalog = with_packages(
        {"id": "finance-basics", "scopes": [READ]},
        {"id": "finance-tools", "scopes": [READ, VIEWER]},
    )
    async with running_worker(env.client, graph, catalog, task_queue) as access:
        basics = await access.request_access("finance-basics", ALICE)
        assert (await wait_for(access, basics, settled)).state == RequestState.DELIVERED
        tools = await access.request_access("finance-tools", ALICE)
        assert (await wait_for(access, tools, settled)).state == RequestState.DELIVERED
        member_posts = graph.control.log(method="POST", path_regex=f"/groups/{FINANCE_READ}/")
        assert len(member_posts) == 1  # one role, granted once

        await access.remove(basics, ADMIN, "no longer needed")
        first = await wait_for(access, basics, lambda s: s.state == RequestState.REMOVED)
        assert by_name(first)["Finance Read"].state == ResourceState.KEPT
        assert first.ended_by == ADMIN
        assert ALICE_ID in member_ids(graph, FINANCE_READ)
        assert graph.control.log(method="DELETE") == []

        await access.remove(tools, ADMIN)
        second = await wait_for(access, tools, lambda s: s.state == RequestState.REMOVED)
        assert {r.state for r in second.resources} == {ResourceState.REVOKED}
        assert ALICE_ID not in member_ids(graph, FINANCE_READ)
        assert ALICE_ID not in app_role_holders(graph, REPORTS_SP)


async def test_removal_racing_a_delivery_of_the_same_group_leaves_it_granted(
    env, graph, task_queue
):
    catalog = with_packages(
        {"id": "finance-basics", "scopes": [READ]},
        {"id": "finance-tools", "scopes": [READ, APPROVERS, VIEWER]},
    )
    async with running_worker(env.client, graph, catalog, task_queue) as access:
        basics = await access.request_access("finance-basics", ALICE)
        await wait_for(access, basics, lambda s: s.state == RequestState.DELIVERED)
        # tools' delivery is slow (Graph answers its app role after a while); basics is
        # removed meanwhile
        graph.control.add_fault(
            method="POST", pathRegex=APP_ROLE_ASSIGNMENT, latencyMs=500, count=1
        )
        tools = await access.request_access("finance-tools", ALICE)
        await access.remove(basics, ADMIN)
        removed, delivered = await asyncio.gather(
            wait_for(access, basics, lambda s: s.state == RequestState.REMOVED),
            wait_for(access, tools, settled),
        )
        assert delivered.state == RequestState.DELIVERED
        assert ALICE_ID in member_ids(graph, FINANCE_READ)
        assert ALICE_ID in member_ids(graph, FINANCE_APPROVERS)
        assert ALICE_ID in app_role_holders(graph, REPORTS_SP)
        assert by_name(removed)["Finance Read"].state in (
            ResourceState.KEPT,  # the removal came after tools' grant
            ResourceState.REVOKED,  # the removal came first; tools granted it again
        )
        # and once tools ends too, nothing of either is left
        await access.remove(tools, ADMIN)
        await wait_for(access, tools, lambda s: s.state == RequestState.REMOVED)
        assert ALICE_ID not in member_ids(graph, FINANCE_READ)
        assert ALICE_ID not in member_ids(graph, FINANCE_APPROVERS)
        assert ALICE_ID not in app_role_holders(graph, REPORTS_SP)


async def test_a_delivery_racing_a_removal_of_the_same_group_leaves_it_granted(
    env, graph, task_queue
):
    catalog = with_packages(
        {"id": "finance-basics", "scopes": [READ]},
        {"id": "finance-tools", "scopes": [READ, VIEWER]},
    )
    async with running_worker(env.client, graph, catalog, task_queue) as access:
        basics = await access.request_access("finance-basics", ALICE)
        await wait_for(access, basics, lambda s: s.state == RequestState.DELIVERED)
        # basics' removal is slow (Graph answers the member removal after a while); tools,
        # which grants the same group, is requested meanwhile
        graph.control.add_fault(method="DELETE", pathRegex=MEMBER_REMOVAL, latencyMs=1000, count=1)
        await access.remove(basics, ADMIN)
        tools = await access.request_access("finance-tools", ALICE)
        removed, delivered = await asyncio.gather(
            wait_for(access, basics, lambda s: s.state == RequestState.REMOVED),
            wait_for(access, tools, settled),
        )
        assert delivered.state == RequestState.DELIVERED
        assert ALICE_ID in member_ids(graph, FINANCE_READ)
        assert ALICE_ID in app_role_holders(graph, REPORTS_SP)
        assert by_name(removed)["Finance Read"].state in (
            ResourceState.REVOKED,  # the removal came first; tools granted it again
            ResourceState.KEPT,  # tools' grant came first
        )
