"""Access reviews on the time-skipping server, with the real activities and the Graph emulator.

The time-skipping server has neither Schedules nor a visibility list, so each review here is
started directly (as its Schedule would start it; `catalog apply` and the visibility listing
are tested against the dev server in tests/integration/test_catalog_apply.py) and finds its
assignments through a listed source given to the worker instead of visibility. Everything
after that is the real thing: reviewers resolved from the directory, mail through Graph,
removals through each assignment's own workflow.
"""

from __future__ import annotations

import asyncio
import csv
import io
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.api.enums.v1 import EventType

from activities.graph_client import GraphSettings, build_graph_client
from entitlements.refusals import RequestRefused, Rule
from entitlements.reviews import (
    AppliedOutcome,
    ListReviewTargets,
    ReviewDecisionInput,
    ReviewPhase,
    ReviewTarget,
    ReviewTargetPage,
    review_actor,
    review_input_for,
)
from entitlements.status import DecisionKind, RequestState
from starter.client import AccessClient
from starter.reviews import ReviewClient, report_csv
from tests.factories import (
    ALICE,
    BOB,
    CAROL,
    DANA,
    ERIN,
    FRANK,
    SALES,
    example_catalog,
    group_members,
    load,
    policy,
)
from tests.waiting import wait_for
from worker import create_worker
from workflows.access_review import AccessReviewPageWorkflow

STARTED = "Access review: who should keep access to Sales team?"
REMINDER = "Reminder: your access review of Sales team"
HISTORY_LIMIT = 10_000


class ListedAssignments:
    """The review's source of delivered assignments in place of visibility: a list, served in
    pages with a page token, as visibility serves them."""

    def __init__(self) -> None:
        self.targets: list[ReviewTarget] = []

    async def page(self, ask: ListReviewTargets) -> ReviewTargetPage:
        start = int(ask.next_page_token or 0)
        end = start + ask.page_size
        return ReviewTargetPage(
            targets=self.targets[start:end],
            next_page_token=str(end) if end < len(self.targets) else None,
        )


def reviewed_catalog(**review_settings):
    """The example catalog where Sales team (no approval) lasts until removed and is reviewed
    monthly for 14 days by carol, unless `review_settings` say otherwise."""
    data = example_catalog()
    sales = policy(data, "sales-team", "everyone")
    sales["expiration"] = {"type": "noExpiration"}
    sales["reviewSettings"] = {
        "schedule": {
            "startDateTime": "2026-01-05T09:00:00Z",
            "recurrence": "monthly",
            "duration": "P14D",
        },
        "primaryReviewers": [{"type": "singleUser", "user": CAROL}],
        **review_settings,
    }
    return load(data)


@asynccontextmanager
async def reviewing(env, graph, catalog, task_queue, listed: ListedAssignments):
    graph_client = build_graph_client(GraphSettings(base_url=graph.base_url))
    worker = create_worker(env.client, catalog, graph_client, task_queue, review_targets=listed)
    async with worker:
        yield AccessClient(env.client, task_queue), ReviewClient(env.client, task_queue)


async def deliver(env, access, listed: ListedAssignments, *users: str) -> list[str]:
    """Sales team delivered to each user, and listed for the review as visibility would."""
    request_ids = []
    for user in users:
        request_id = await access.request_access("sales-team", user)
        await wait_for(access, request_id, lambda s: s.state == RequestState.DELIVERED)
        described = await env.client.get_workflow_handle(request_id).describe()
        listed.targets.append(
            ReviewTarget(request_id=request_id, run_id=described.run_id, user=user)
        )
        request_ids.append(request_id)
    return request_ids


async def start_review(reviews: ReviewClient, catalog, **options) -> str:
    review = review_input_for(catalog, "sales-team", "everyone", **options)
    review_id = await reviews.start(review)
    for _ in range(400):
        if (await reviews.view(review_id)).phase == ReviewPhase.IN_PROGRESS:
            return review_id
        await asyncio.sleep(0.05)
    raise AssertionError(f"{review_id} never became ready: {await reviews.view(review_id)}")


def subjects(graph, address: str) -> list[str]:
    return [mail["subject"] for mail in graph.control.outbox(to=address)]


async def mail_to(graph, address: str, subject: str) -> list[str]:
    """The subjects of `address`'s mail once one starts with `subject` (mail follows state)."""
    for _ in range(200):
        found = subjects(graph, address)
        if any(s.startswith(subject) for s in found):
            return found
        await asyncio.sleep(0.05)
    return subjects(graph, address)


def signed_in(graph, address: str, days_ago: int) -> None:
    """Set a user's signInActivity in the emulator, relative to now (the review's clock)."""
    emulator = graph.emulator
    when = datetime.now(UTC) - timedelta(days=days_ago)
    with emulator.lock:
        user = emulator.directory.user_by_address(address)
        user["signInActivity"] = {"lastSignInDateTime": when.strftime("%Y-%m-%dT%H:%M:%SZ")}


def by_target(items) -> dict:
    return {item.target.key: item for item in items}


async def test_a_monthly_review_keeps_the_approved_and_removes_the_denied(
    time_env, graph, task_queue
):
    catalog = reviewed_catalog(isReviewerJustificationRequired=True)
    listed = ListedAssignments()
    async with reviewing(time_env, graph, catalog, task_queue, listed) as (access, reviews):
        alice_request, dana_request = await deliver(time_env, access, listed, ALICE, DANA)
        review_id = await start_review(reviews, catalog)
        assert review_id.startswith("review:sales-team:everyone-")
        assert STARTED in await mail_to(graph, CAROL, STARTED)

        waiting = by_target(await reviews.items(review_id, CAROL))
        assert set(waiting) == {ALICE, DANA}
        assert {i.request_id for i in waiting.values()} == {alice_request, dana_request}
        assert all(i.decision is None and i.recommendation is None for i in waiting.values())

        with pytest.raises(RequestRefused) as unjustified:
            await reviews.approve(review_id, ALICE, CAROL)
        assert unjustified.value.rule == Rule.JUSTIFICATION_REQUIRED
        with pytest.raises(RequestRefused) as outsider:
            await reviews.approve(review_id, ALICE, FRANK, "looks fine")
        assert outsider.value.rule == Rule.NOT_A_REVIEWER
        with pytest.raises(RequestRefused) as unknown:
            await reviews.approve(review_id, ERIN, CAROL, "not in this review")
        assert unknown.value.rule == Rule.NOT_IN_REVIEW

        approved = await reviews.approve(review_id, ALICE, CAROL, "still in sales")
        assert (approved.decision.decision, approved.decision.by) == (DecisionKind.APPROVE, CAROL)
        # named by request id; a reviewer may change their mind until the end
        await reviews.approve(review_id, dana_request, CAROL, "first thought")
        await reviews.deny(review_id, dana_request, CAROL, "moved to finance")

        await time_env.sleep(timedelta(days=14, minutes=1))
        summary = await reviews.wait(review_id)
        assert summary.view.phase == ReviewPhase.COMPLETED
        totals = summary.totals
        assert (totals.items, totals.approved, totals.denied) == (2, 1, 1)
        assert (totals.kept, totals.removed) == (1, 1)

        removed = await wait_for(access, dana_request, lambda s: s.state == RequestState.REMOVED)
        assert removed.ended_by == review_actor(review_id)
        assert removed.end_reason.startswith(f"denied in access review {review_id} by {CAROL}")
        assert "moved to finance" in removed.end_reason
        assert DANA not in group_members(graph, SALES)
        kept = await access.status(alice_request)
        assert kept.state == RequestState.DELIVERED
        assert ALICE in group_members(graph, SALES)

        report = await reviews.report(review_id)
        rows = {row.target: row for row in report.rows}
        assert (rows[DANA].decision, rows[DANA].decided_by) == ("deny", CAROL)
        assert rows[DANA].justification == "moved to finance"
        assert rows[DANA].applied == AppliedOutcome.REMOVED
        assert (rows[ALICE].decision, rows[ALICE].applied) == ("approve", AppliedOutcome.KEPT)
        assert rows[ALICE].decided_at is not None
        table = list(csv.DictReader(io.StringIO(report_csv(report))))
        assert {(r["target"], r["decision"], r["decided_by"], r["applied"]) for r in table} == {
            (ALICE, "approve", CAROL, "kept"),
            (DANA, "deny", CAROL, "removed"),
        }

        with pytest.raises(RequestRefused) as late:
            await reviews.approve(review_id, DANA, CAROL, "too late")
        assert late.value.rule == Rule.NOT_PENDING


@pytest.mark.parametrize(
    ("behavior", "shown", "alice_kept", "frank_kept"),
    [
        ("keepAccess", False, True, True),
        ("removeAccess", False, False, False),
        ("acceptAccessRecommendation", True, True, False),
        ("acceptAccessRecommendation", False, True, False),
    ],
)
async def test_when_nobody_answers_the_expiration_behavior_decides(
    time_env, graph, task_queue, behavior, shown, alice_kept, frank_kept
):
    signed_in(graph, ALICE, days_ago=2)
    signed_in(graph, FRANK, days_ago=45)
    catalog = reviewed_catalog(expirationBehavior=behavior, isRecommendationEnabled=shown)
    listed = ListedAssignments()
    async with reviewing(time_env, graph, catalog, task_queue, listed) as (access, reviews):
        alice_request, frank_request = await deliver(time_env, access, listed, ALICE, FRANK)
        review_id = await start_review(reviews, catalog)
        seen = by_target(await reviews.items(review_id, CAROL))
        if shown:  # reviewers see the recommendation while they decide
            assert seen[ALICE].recommendation.decision == DecisionKind.APPROVE
            assert seen[FRANK].recommendation.decision == DecisionKind.DENY
            assert "45 days" in seen[FRANK].recommendation.reason
        else:
            assert seen[ALICE].recommendation is None and seen[FRANK].recommendation is None

        await time_env.sleep(timedelta(days=14, minutes=1))
        summary = await reviews.wait(review_id)
        assert summary.totals.decided == 0
        for request_id, kept in ((alice_request, alice_kept), (frank_request, frank_kept)):
            expected = RequestState.DELIVERED if kept else RequestState.REMOVED
            status = await wait_for(access, request_id, lambda s, e=expected: s.state == e)
            if not kept:
                assert status.ended_by == review_actor(review_id)
                assert "not reviewed" in status.end_reason
        rows = {row.target: row for row in (await reviews.report(review_id)).rows}
        assert rows[ALICE].applied == (
            AppliedOutcome.KEPT if alice_kept else AppliedOutcome.REMOVED
        )
        assert rows[FRANK].applied == (
            AppliedOutcome.KEPT if frank_kept else AppliedOutcome.REMOVED
        )
        assert rows[FRANK].decision == ""
        if behavior == "acceptAccessRecommendation":  # the report says what was applied, and why
            assert (rows[ALICE].recommendation, rows[FRANK].recommendation) == ("approve", "deny")
            assert "recommendation deny" in rows[FRANK].applied_reason


async def test_a_self_review_lets_each_user_decide_only_their_own_access(
    time_env, graph, task_queue
):
    catalog = reviewed_catalog(
        isSelfReview=True, primaryReviewers=[], expirationBehavior="removeAccess"
    )
    listed = ListedAssignments()
    async with reviewing(time_env, graph, catalog, task_queue, listed) as (access, reviews):
        alice_request, dana_request = await deliver(time_env, access, listed, ALICE, DANA)
        review_id = await start_review(reviews, catalog)
        assert STARTED in await mail_to(graph, ALICE, STARTED)
        assert STARTED in await mail_to(graph, DANA, STARTED)
        assert [i.target.key for i in await reviews.items(review_id, ALICE)] == [ALICE]

        with pytest.raises(RequestRefused) as others:
            await reviews.approve(review_id, DANA, ALICE)
        assert others.value.rule == Rule.NOT_A_REVIEWER
        with pytest.raises(RequestRefused) as not_listed:
            await reviews.approve(review_id, ALICE, CAROL)
        assert not_listed.value.rule == Rule.NOT_A_REVIEWER
        alice = (await access.status(alice_request)).target
        await reviews.approve(review_id, ALICE, alice.id)  # by object id: still alice

        await time_env.sleep(timedelta(days=14, minutes=1))
        await reviews.wait(review_id)
        await wait_for(access, dana_request, lambda s: s.state == RequestState.REMOVED)
        assert (await access.status(alice_request)).state == RequestState.DELIVERED
        rows = {row.target: row for row in (await reviews.report(review_id)).rows}
        assert (rows[ALICE].decision, rows[ALICE].decided_by) == ("approve", ALICE)


async def test_managers_review_their_reports_and_get_a_reminder_at_the_midpoint(
    time_env, graph, task_queue
):
    catalog = reviewed_catalog(
        primaryReviewers=[{"type": "requestorManager", "managerLevel": 1}],
        fallbackReviewers=[{"type": "singleUser", "user": CAROL}],
    )
    listed = ListedAssignments()
    async with reviewing(time_env, graph, catalog, task_queue, listed) as (access, reviews):
        await deliver(time_env, access, listed, ALICE, ERIN, FRANK)
        review_id = await start_review(reviews, catalog)
        items = by_target(await reviews.items(review_id))
        assert items[ALICE].reviewers == [BOB]  # alice's manager
        assert items[ERIN].reviewers == [CAROL]  # erin has no manager: the fallback reviews
        assert items[FRANK].reviewers == [DANA]
        for manager in (BOB, CAROL, DANA):
            assert STARTED in await mail_to(graph, manager, STARTED), manager
        assert [i.target.key for i in await reviews.items(review_id, BOB)] == [ALICE]

        with pytest.raises(RequestRefused) as not_his:
            await reviews.approve(review_id, ERIN, BOB)
        assert not_his.value.rule == Rule.NOT_A_REVIEWER
        await reviews.approve(review_id, ALICE, BOB)

        await time_env.sleep(timedelta(days=7, hours=1))
        assert any(s.startswith(REMINDER) for s in await mail_to(graph, CAROL, REMINDER))
        assert any(s.startswith(REMINDER) for s in await mail_to(graph, DANA, REMINDER))
        assert not any(s.startswith(REMINDER) for s in subjects(graph, BOB))  # he has decided
        view = await reviews.view(review_id)
        assert view.reminder_sent_at is not None

        await reviews.deny(review_id, ERIN, CAROL)
        await time_env.sleep(timedelta(days=7))
        summary = await reviews.wait(review_id)
        assert (summary.totals.approved, summary.totals.denied, summary.totals.kept) == (1, 1, 2)
        assert sum(s.startswith(REMINDER) for s in subjects(graph, CAROL)) == 1


async def test_a_decision_by_someone_else_is_refused_and_changes_nothing(
    time_env, graph, task_queue
):
    catalog = reviewed_catalog()
    listed = ListedAssignments()
    async with reviewing(time_env, graph, catalog, task_queue, listed) as (access, reviews):
        await deliver(time_env, access, listed, ALICE, ERIN)
        review_id = await start_review(reviews, catalog)
        before = await reviews.items(review_id)
        for intruder in (DANA, ALICE, "nobody@contoso.example"):
            with pytest.raises(RequestRefused) as refused:
                await reviews.deny(review_id, ALICE, intruder)
            assert refused.value.rule == Rule.NOT_A_REVIEWER, intruder
        assert await reviews.items(review_id) == before

        # the Signal of the same meaning: a refused one is ignored. Signals are handled in
        # order, so once carol's (about erin) counts, dana's (about alice) has been handled.
        view = await reviews.view(review_id)
        page = time_env.client.get_workflow_handle(view.pages[0])
        await page.signal(
            "decision", ReviewDecisionInput(reviewer=DANA, target=ALICE, decision="deny")
        )
        await page.signal(
            "decision", ReviewDecisionInput(reviewer=CAROL, target=ERIN, decision="approve")
        )
        items = {}
        for _ in range(100):
            items = by_target(await reviews.items(review_id))
            if items[ERIN].decision:
                break
            await asyncio.sleep(0.05)
        assert (items[ERIN].decision.decision, items[ERIN].decision.by) == ("approve", CAROL)
        assert items[ALICE].decision is None

        # a schedule firing twice for one period starts one review
        again = review_input_for(catalog, "sales-team", "everyone", period_start=view.period_start)
        with pytest.raises(RequestRefused) as twice:
            await reviews.start(again)
        assert twice.value.rule == Rule.REVIEW_EXISTS


async def test_a_review_of_five_thousand_assignments_keeps_every_history_bounded(
    time_env, graph, task_queue
):
    """Synthetic assignments (no workflow behind them): what is kept needs none, and a denied
    one's removal finds it already gone, so the test measures the review itself."""
    catalog = reviewed_catalog()
    listed = ListedAssignments()
    users = [f"user{n:04d}@contoso.example" for n in range(5_000)]
    listed.targets = [ReviewTarget(request_id=f"access:sales-team:{u}", user=u) for u in users]
    denied = set(users[::50])
    async with reviewing(time_env, graph, catalog, task_queue, listed) as (_, reviews):
        # pages continue-as-new early here, so carrying their items is tested too
        review_id = await start_review(reviews, catalog, history_limit=300)
        view = await reviews.view(review_id)
        assert (view.targets, len(view.pages)) == (5_000, 10)
        assert await mail_to(graph, CAROL, STARTED) == [STARTED]  # one mail, not one per page

        # every item decided one by one: the `decision` signal to its page, a few by Update
        gate = asyncio.Semaphore(64)
        locate = {}
        for page_id in view.pages:
            page = time_env.client.get_workflow_handle_for(AccessReviewPageWorkflow.run, page_id)
            for item in await page.query(AccessReviewPageWorkflow.list_items):
                locate[item.target.key] = page

        async def decide(user: str) -> None:
            kind = "deny" if user in denied else "approve"
            async with gate:
                await locate[user].signal(
                    "decision", ReviewDecisionInput(reviewer=CAROL, target=user, decision=kind)
                )

        await asyncio.gather(*(decide(u) for u in users[10:]))
        for user in users[:10]:
            kind = DecisionKind.DENY if user in denied else DecisionKind.APPROVE
            await reviews.decide(review_id, user, CAROL, kind)

        await time_env.sleep(timedelta(days=14, minutes=1))
        summary = await reviews.wait(review_id)
        totals = summary.totals
        assert (totals.items, totals.decided, totals.denied) == (5_000, 5_000, len(denied))
        assert subjects(graph, CAROL).count(STARTED) == 1
        assert (totals.kept, totals.already_ended) == (5_000 - len(denied), len(denied))

        review_history = await time_env.client.get_workflow_handle(review_id).fetch_history()
        lengths = {review_id: len(review_history.events)}
        for event in review_history.events:  # every page, every run of it
            if event.HasField("child_workflow_execution_started_event_attributes"):
                started = event.child_workflow_execution_started_event_attributes
                execution = started.workflow_execution
                for run_id, length in await run_lengths(
                    time_env.client, execution.workflow_id, execution.run_id
                ):
                    lengths[f"{execution.workflow_id}/{run_id}"] = length
        assert len(lengths) > 11, "some page continued-as-new"
        assert max(lengths.values()) < HISTORY_LIMIT, lengths
        # the review's own history grows with its pages, not its items
        assert lengths[review_id] < 30 * len(view.pages), lengths[review_id]


async def run_lengths(client, workflow_id: str, run_id: str) -> list[tuple[str, int]]:
    """Each run's event count, following continue-as-new from `run_id` to the last run."""
    lengths = []
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        lengths.append((run_id, len(history.events)))
        last = history.events[-1]
        run_id = None
        if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
        else:
            assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, last
    return lengths
