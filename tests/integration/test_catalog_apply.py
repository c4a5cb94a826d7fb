"""Review schedules on the real dev server: `accessctl catalog apply` creates, updates and
deletes them to match the file, changes nothing when run twice, and a schedule's review finds
the delivered assignments through Temporal visibility and is decided through the CLI."""

from __future__ import annotations

import asyncio
import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from temporalio.client import (
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    ScheduleSpec,
)
from temporalio.service import RPCError, RPCStatusCode

from entitlements.reviews import review_actor, review_id_for
from tests.factories import BOB, CAROL, DANA, example_catalog, package, policy
from tests.integration.conftest import TASK_QUEUE, Stack

SALES_SCHEDULE = "review:sales-team:everyone"
FINANCE_SCHEDULE = "review:finance-reports:employees"


def write_catalog(path: Path, *, recurrence="monthly", duration="P14D", finance_reviewed=True):
    """The example catalog; General recurs in Paris time and reviews Sales team from
    2027-01-04 09:00 UTC (10:00 in Paris), dana reviewing."""
    data = example_catalog()
    general = next(c for c in data["catalogs"] if c["id"] == "general")
    general["timeZone"] = "Europe/Paris"
    policy(data, "sales-team", "everyone")["reviewSettings"] = {
        "schedule": {
            "startDateTime": "2027-01-04T09:00:00Z",
            "recurrence": recurrence,
            "duration": duration,
        },
        "primaryReviewers": [{"type": "singleUser", "user": DANA}],
        "expirationBehavior": "keepAccess",
    }
    if not finance_reviewed:
        policy(data, "finance-reports", "employees").pop("reviewSettings")
    assert package(data, "sales-team")  # the package the stack's worker also knows
    path.write_text(yaml.safe_dump(data))
    return path


async def describe(stack: Stack, schedule_id: str):
    return await stack.env.client.get_schedule_handle(schedule_id).describe()


async def delete_schedules(stack: Stack, *ids: str) -> None:
    for schedule_id in ids:
        try:
            await stack.env.client.get_schedule_handle(schedule_id).delete()
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise


def applied(stack: Stack, path: Path) -> dict:
    result = stack.cli("catalog", "apply", str(path), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


async def test_catalog_apply_follows_the_file_and_changes_nothing_twice(stack: Stack, tmp_path):
    foreign = "review:someone-else:manual"  # a schedule accessctl did not create
    await stack.env.client.create_schedule(
        foreign,
        Schedule(
            action=ScheduleActionStartWorkflow("Other", id="other", task_queue="elsewhere"),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(days=365))]),
        ),
    )
    path = write_catalog(tmp_path / "catalog.yaml")
    try:
        first = stack.cli("catalog", "apply", str(path))
        assert first.returncode == 0, first.stderr
        assert f"created {SALES_SCHEDULE}: monthly from 2027-01-04 10:00 Europe/Paris" in (
            first.stdout
        )
        assert f"created {FINANCE_SCHEDULE}: quarterly" in first.stdout

        sales = await describe(stack, SALES_SCHEDULE)
        assert sales.schedule.spec.time_zone_name == "Europe/Paris"
        upcoming = sales.info.next_action_times
        assert upcoming[0] == datetime(2027, 1, 4, 9, tzinfo=UTC)  # 10:00 in Paris, in winter
        assert upcoming[1] == datetime(2027, 2, 4, 9, tzinfo=UTC)
        assert upcoming[6] == datetime(2027, 7, 4, 8, tzinfo=UTC)  # still 10:00 in summer
        assert sales.schedule.policy.catchup_window == timedelta(hours=1)
        assert sales.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
        action = sales.schedule.action
        assert (action.workflow, action.id, action.task_queue) == (
            "AccessReviewWorkflow",
            SALES_SCHEDULE,
            TASK_QUEUE,
        )
        finance = await describe(stack, FINANCE_SCHEDULE)
        assert finance.info.next_action_times[:2] == [
            datetime(2027, 1, 4, 9, tzinfo=UTC),
            datetime(2027, 4, 4, 9, tzinfo=UTC),
        ]

        second = stack.cli("catalog", "apply", str(path))
        assert second.returncode == 0, second.stderr
        assert second.stdout.strip() == f"no changes: 2 review schedule(s) match {path}"
        again = applied(stack, path)
        assert (again["created"], again["updated"], again["deleted"]) == ({}, {}, [])
        assert sorted(again["unchanged"]) == [FINANCE_SCHEDULE, SALES_SCHEDULE]
        assert (await describe(stack, SALES_SCHEDULE)).info.last_updated_at is None

        write_catalog(path, recurrence="weekly")  # 2027-01-04 is a Monday
        changed = stack.cli("catalog", "apply", str(path))
        assert changed.returncode == 0, changed.stderr
        # the review's snapshot of its settings holds the schedule too
        assert (
            changed.stdout.strip() == f"updated {SALES_SCHEDULE}: when it recurs, review settings"
        )
        weekly = (await describe(stack, SALES_SCHEDULE)).info.next_action_times
        assert weekly[:3] == [datetime(2027, 1, d, 9, tzinfo=UTC) for d in (4, 11, 18)]
        assert applied(stack, path)["updated"] == {}

        write_catalog(path, recurrence="weekly", duration="P7D")
        assert applied(stack, path)["updated"] == {SALES_SCHEDULE: ["review settings"]}

        write_catalog(path, recurrence="weekly", duration="P7D", finance_reviewed=False)
        removed = stack.cli("catalog", "apply", str(path))
        assert removed.returncode == 0, removed.stderr
        assert removed.stdout.strip() == f"deleted {FINANCE_SCHEDULE}"
        with pytest.raises(RPCError) as gone:
            await describe(stack, FINANCE_SCHEDULE)
        assert gone.value.status == RPCStatusCode.NOT_FOUND
        await describe(stack, foreign)  # not ours: left alone
        assert applied(stack, path)["deleted"] == []
    finally:
        await delete_schedules(stack, SALES_SCHEDULE, FINANCE_SCHEDULE, foreign)


async def wait_delivered_in_visibility(stack: Stack, request_ids: set[str]) -> None:
    for _ in range(300):
        rows = await stack.access.list_requests(package="sales-team", state="delivered")
        if request_ids <= {row["id"] for row in rows}:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{request_ids} never listed as delivered")


async def running_reviews(stack: Stack) -> list[str]:
    query = "WorkflowType = 'AccessReviewWorkflow' AND ExecutionStatus = 'Running'"
    return [
        execution.id
        async for execution in stack.env.client.list_workflows(query)
        if execution.id.startswith(f"{SALES_SCHEDULE}-")
    ]


async def test_a_scheduled_review_is_decided_and_reported_through_the_cli(stack: Stack, tmp_path):
    bob_request = await stack.access.request_access("sales-team", BOB)
    carol_request = await stack.access.request_access("sales-team", CAROL)
    await wait_delivered_in_visibility(stack, {bob_request, carol_request})
    # long enough for the CLI to list and decide on a loaded machine, short enough to wait for
    path = write_catalog(tmp_path / "catalog.yaml", duration="PT45S")
    try:
        assert SALES_SCHEDULE in applied(stack, path)["created"]
        schedule = stack.env.client.get_schedule_handle(SALES_SCHEDULE)
        await schedule.trigger()
        await schedule.trigger()  # overlap SKIP: one review per policy at a time
        info = (await schedule.describe()).info
        for _ in range(300):
            if info.num_actions + info.num_actions_skipped_overlap == 2:
                break
            await asyncio.sleep(0.1)
            info = (await schedule.describe()).info
        assert (info.num_actions, info.num_actions_skipped_overlap) == (1, 1)
        reviews: list[str] = []
        for _ in range(300):
            reviews = await running_reviews(stack)
            if reviews:
                break
            await asyncio.sleep(0.1)
        assert len(reviews) == 1
        review_id = reviews[0]
        assert review_id == info.recent_actions[0].action.workflow_id

        rows: list[dict] = []
        for _ in range(300):
            listed = stack.cli("review", "list", "--reviewer", DANA, "--json")
            assert listed.returncode == 0, listed.stderr
            rows = [r for r in json.loads(listed.stdout) if r["review_id"] == review_id]
            if rows:
                break
            await asyncio.sleep(0.2)
        assert {r["target"]: r["request_id"] for r in rows} == {
            BOB: bob_request,
            CAROL: carol_request,
        }
        view = json.loads(stack.cli("review", "report", review_id, "--json").stdout)["review"]
        period_start = datetime.fromisoformat(view["period_start"])
        assert review_id == review_id_for("sales-team", "everyone", period_start)

        shown = stack.cli("review", "list", "--reviewer", DANA)
        assert shown.returncode == 0, shown.stderr
        assert review_id in shown.stdout and BOB in shown.stdout and CAROL in shown.stdout

        refused = stack.cli("review", "decide", review_id, CAROL, "approve", "--as", BOB)
        assert refused.returncode == 1
        assert "notAReviewer" in refused.stderr
        denied = stack.cli(
            "review", "decide", review_id, BOB, "deny", "--as", DANA,
            "--justification", "left the sales team",
        )  # fmt: skip
        assert denied.returncode == 0, denied.stderr
        assert f"deny: {BOB} ({bob_request}) by {DANA}" in denied.stdout

        report = {}
        for _ in range(600):
            shown = stack.cli("review", "report", review_id, "--json")
            report = json.loads(shown.stdout)
            if report["review"]["phase"] == "completed":
                break
            await asyncio.sleep(0.2)
        assert report["review"]["phase"] == "completed"
        rows = {row["target"]: row for row in report["rows"]}
        assert (rows[BOB]["decision"], rows[BOB]["decided_by"]) == ("deny", DANA)
        assert rows[BOB]["applied"] == "removed"
        assert (rows[CAROL]["decision"], rows[CAROL]["applied"]) == ("", "kept")

        bob = await stack.access.wait(bob_request)
        assert bob.state == "removed"
        assert bob.ended_by == review_actor(review_id)
        assert (await stack.access.status(carol_request)).state == "delivered"

        human = stack.cli("review", "report", review_id)
        assert human.returncode == 0, human.stderr
        totals = report["totals"]  # bob denied; carol (and any other sales member) unreviewed
        assert (totals["denied"], totals["removed"], totals["approved"]) == (1, 1, 0)
        assert (
            f"{totals['items']} assignment(s): 0 approved, 1 denied, "
            f"{totals['items'] - 1} not reviewed; {totals['items'] - 1} kept, 1 removed"
        ) in human.stdout
        out = tmp_path / "report.csv"
        written = stack.cli("review", "report", review_id, "--csv", str(out))
        assert written.returncode == 0, written.stderr
        table = {r["target"]: r for r in csv.DictReader(out.open())}
        assert (table[BOB]["decision"], table[BOB]["justification"]) == (
            "deny",
            "left the sales team",
        )
        assert table[CAROL]["applied"] == "kept"
    finally:
        await delete_schedules(stack, SALES_SCHEDULE, FINANCE_SCHEDULE)
        status = await stack.access.status(carol_request)
        if status.state == "delivered":  # leave the stack as other tests expect it
            await stack.access.remove(carol_request, "admin@contoso.example", "test cleanup")
