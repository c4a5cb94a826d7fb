"""Direct assignment in bulk from a CSV file, on the time-skipping server with the real
workflows and activities against the in-process Graph emulator.

What an administrator relies on: every good row ends with the package delivered (the group
memberships in the directory), every bad row is reported with the rule's message and stops
nobody else, a user is never assigned twice (a repeated row, the same person named two ways,
someone who already has it), pages hand over without losing or repeating a row, and someone
who is not an administrator assigns nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from entitlements.bulk_assignment import AssignmentStatus, parse_assignment_csv
from entitlements.refusals import RequestRefused, Rule
from entitlements.status import RequestState
from starter.assignments import AssignmentClient
from tests.factories import (
    ADMIN,
    ALICE,
    BOB,
    CAROL,
    DANA,
    ERIN,
    FINANCE_READ,
    GRACE,
    add_policy,
    example_catalog,
    group_members,
    load,
    running_worker,
)
from tests.waiting import wait_for
from tests.workflows.test_invitations import run_ids

DANA_ID = "00000000-0000-4000-8000-0000000da4a0"
NOBODY_ID = "00000000-0000-4000-8000-00000000dead"


def catalog():
    """The example catalog; finance-reports gets a third policy, `direct`: 30 days at most."""
    data = example_catalog()
    expiration = {"type": "afterDuration", "duration": "P30D"}
    add_policy(data, "finance-reports", "direct", "notSpecified", expiration=expiration)
    return load(data)


def delivered(status) -> bool:
    return status.state == RequestState.DELIVERED


async def test_good_rows_are_delivered_and_each_bad_row_names_its_problem(
    time_env, graph, task_queue
):
    now = datetime.now(UTC)
    carol_end = (now + timedelta(days=10)).replace(microsecond=0)
    text = (
        "UserPrincipalName,End\n"
        f"{ALICE},\n"  # 2
        f"{BOB.upper()},\n"  # 3
        f"{CAROL},{carol_end.isoformat()}\n"  # 4: her own end
        f"{DANA_ID},\n"  # 5: by object id
        f"{ERIN},\n"  # 6
        "frank@contoso.example,\n"  # 7: in Sales, which finance-reports excludes
        "spy@competitor.example,\n"  # 8: a domain the catalog may not invite
        f"{NOBODY_ID},\n"  # 9: no such user
        f"{ALICE},\n"  # 10: again
        f"{GRACE},\n"  # 11: assigned before the file
        f"{ADMIN},next week\n"  # 12
        f"access@contoso.example,{(now + timedelta(days=60)).isoformat()}\n"  # 13: past P30D
    )
    async with running_worker(time_env.client, graph, catalog(), task_queue) as access:
        before = await access.assign("finance-reports", GRACE, admin=ADMIN, policy="direct")
        assignments = AssignmentClient.of(access)
        handle = await assignments.start_bulk(
            parse_assignment_csv(text), "finance-reports", admin=ADMIN, policy="direct",
            source="people.csv",
        )  # fmt: skip
        result = await assignments.result(handle.id)
        rows = {r.line: r for r in result.rows}
        good = [rows[line] for line in (2, 3, 4, 5, 6)]
        statuses = [await wait_for(access, r.request_id, delivered) for r in good]
        await wait_for(access, before, delivered)
        metadata = await handle.query("__temporal_workflow_metadata")

    assert list(rows) == list(range(2, 14))  # every row, once, in file order
    assert (result.total, result.done) == (12, 12)
    assert (result.assigned, result.already_assigned, result.refused, result.invalid) == (
        5,
        1,
        4,
        2,
    )
    assert result.failed == 0
    assert {r.status for r in good} == {AssignmentStatus.ASSIGNED}
    assert [s.target.key for s in statuses] == [ALICE, BOB, CAROL, DANA, ERIN]
    assert {(s.request_type, s.requestor.key, s.policy_id) for s in statuses} == {
        ("adminAdd", ADMIN, "direct")
    }
    assert statuses[2].end == carol_end
    members = group_members(graph, FINANCE_READ)
    assert {ALICE, BOB, CAROL, DANA, ERIN, GRACE} <= members
    assert not members & {"frank@contoso.example", ADMIN, "access@contoso.example"}

    def problem(line: int) -> tuple:
        return rows[line].status, rows[line].rule

    assert problem(7) == (AssignmentStatus.REFUSED, Rule.SEPARATION_OF_DUTIES)
    assert "incompatible with access package 'finance-reports'" in rows[7].error
    assert problem(8) == (AssignmentStatus.REFUSED, Rule.INVITATION_DOMAIN)
    assert "spy@competitor.example cannot be invited" in rows[8].error
    assert problem(9) == (AssignmentStatus.REFUSED, Rule.UNKNOWN_USER)
    assert f"'{NOBODY_ID}' is not a user of this directory" in rows[9].error
    assert problem(10) == (AssignmentStatus.INVALID, None)
    assert rows[10].error == "duplicate of line 2"
    assert problem(11) == (AssignmentStatus.ALREADY_ASSIGNED, Rule.OPEN_REQUEST_EXISTS)
    assert before in rows[11].error
    assert problem(12) == (AssignmentStatus.INVALID, None)
    assert rows[12].error == "end 'next week' is not an ISO 8601 date and time"
    assert problem(13) == (AssignmentStatus.REFUSED, Rule.SCHEDULE_INVALID)
    assert "past what policy 'direct' allows" in rows[13].error
    assert metadata.current_details == (
        "Assigning finance-reports to 12 users from people.csv, finished: 12 rows done: "
        "5 assigned, 1 already assigned, 4 refused, 2 invalid, 0 failed"
    )


async def test_pages_hand_over_every_row_once_and_a_user_named_twice_is_assigned_once(
    time_env, graph, task_queue
):
    users = [DANA, ALICE, BOB, CAROL, ERIN, ADMIN, "access@contoso.example", GRACE]
    text = "Email\n" + "".join(f"{u}\n" for u in users) + f"{DANA_ID}\n"  # Dana again, last
    owners_before = group_members(graph, FINANCE_READ, "owners")
    async with running_worker(time_env.client, graph, catalog(), task_queue) as access:
        assignments = AssignmentClient.of(access)
        handle = await assignments.start_bulk(
            parse_assignment_csv(text), "finance-write", admin=ADMIN, page_size=3, concurrency=2
        )
        result = await assignments.result(handle.id)
        for row in result.rows[:-1]:
            await wait_for(access, row.request_id, delivered)
        runs = await run_ids(time_env.client, handle.id, handle.first_execution_run_id)
        final = await assignments.progress(handle.id)

    assert len(runs) == 3  # 9 rows, 3 a page
    assert [r.line for r in result.rows] == list(range(2, 11))
    assigned = result.rows[:-1]
    assert [r.user for r in assigned] == users
    assert {r.status for r in assigned} == {AssignmentStatus.ASSIGNED}
    assert len({r.request_id for r in assigned}) == len(users)
    again = result.rows[-1]
    assert (again.status, again.request_id) == (
        AssignmentStatus.ALREADY_ASSIGNED,
        None,
    )
    assert f"access:finance-write:{DANA}" in again.error
    assert group_members(graph, FINANCE_READ, "owners") - owners_before == set(users)
    assert (final.done, final.assigned, final.page, final.pages, final.finished) == (
        9,
        8,
        3,
        3,
        True,
    )


async def test_someone_not_an_administrator_assigns_nothing(time_env, graph, task_queue):
    text = f"User\n{ALICE}\n{ERIN}\n"
    async with running_worker(time_env.client, graph, catalog(), task_queue) as access:
        assignments = AssignmentClient.of(access)
        handle = await assignments.start_bulk(
            parse_assignment_csv(text), "finance-reports", admin=BOB, policy="direct"
        )
        with pytest.raises(RequestRefused) as refused:
            await assignments.result(handle.id)
        unknown = await assignments.start_bulk(
            parse_assignment_csv(text), "finance-nothing", admin=ADMIN
        )
        with pytest.raises(RequestRefused) as no_package:
            await assignments.result(unknown.id)
    assert refused.value.rule == Rule.NOT_ADMINISTRATOR
    assert f"{BOB} is not an entitlement management administrator" in refused.value.message
    assert no_package.value.rule == Rule.UNKNOWN_PACKAGE
    assert not group_members(graph, FINANCE_READ) & {ALICE, ERIN}
    assert graph.control.log(method="POST") == []  # nothing written
