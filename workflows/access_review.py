"""Access reviews: one AccessReviewWorkflow per policy and period, its items in page workflows.

AccessReviewWorkflow (id `review:{package}:{policy}-{period start}`, started by the policy's
Schedule or directly) lists the policy's delivered assignments page by page and starts one
AccessReviewPageWorkflow (`{review id}:page:{n}`) per page of up to `page_size` of them. Each
page finds its items' reviewers and recommendations, accepts decisions until the review ends,
then applies them: denied assignments (and unreviewed ones, as `expirationBehavior` says) are
removed through their AccessRequestWorkflow. The review mails every reviewer once at the start
and those with undecided items at the midpoint, and ends when every page has applied.

So no run's history grows with the size of the review: the review's history grows with the
number of pages, a page's with its own items (and a page continues-as-new, carrying its items,
should reviewers change their minds often enough to make it long).

Decisions go to the page holding the item: an Update with a validator (refused for anyone
who is not a reviewer of that item) and a `decision` Signal of the same meaning (a refused one
is logged and ignored). The review's `locate` query names the page of an item.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from entitlements.notifications import Notification, NotificationKind
    from entitlements.people import Person
    from entitlements.policy import ReviewSettings
    from entitlements.refusals import REFUSAL_ERROR_TYPE, Rule
    from entitlements.reviews import (
        AccessReviewInput,
        AppliedOutcome,
        ListReviewTargets,
        PageReady,
        PageSummary,
        PreparedItems,
        PrepareReviewItems,
        ReviewDecision,
        ReviewDecisionInput,
        ReviewItem,
        ReviewPhase,
        ReviewScope,
        ReviewSummary,
        ReviewTarget,
        ReviewTargetPage,
        ReviewView,
        planned_outcome,
        review_decision_refusal,
        review_page_id,
    )
    from workflows import activity_calls, search_attributes

# Activity names (activities/reviews.py registers them).
LIST_REVIEW_TARGETS = "list_review_targets"
PREPARE_REVIEW_ITEMS = "prepare_review_items"
PENDING_REVIEW_REVIEWERS = "pending_review_reviewers"
REMOVE_REVIEWED_ASSIGNMENTS = "remove_reviewed_assignments"

PREPARE_CHUNK = 100  # targets per prepare activity (each may look up a manager and a sign-in)
REMOVAL_CHUNK = 100  # removals per activity
MAIL_CHUNK = 100  # recipients per mail (Graph caps a message's recipients at 500)
SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
LONG_CALL = timedelta(minutes=10)


def refused(rule: Rule, message: str) -> ApplicationError:
    return ApplicationError(message, rule.value, type=REFUSAL_ERROR_TYPE, non_retryable=True)


class ReviewPageInput(BaseModel):
    review_id: str
    number: int
    scope: ReviewScope
    settings: ReviewSettings
    targets: list[ReviewTarget]
    view: ReviewView  # period, end, and what the review is; for the page's own timer
    history_limit: int
    # carried across continue-as-new
    items: list[ReviewItem] | None = None  # None until prepared
    people: list[Person] = []
    ready_reported: bool = False


class RemovalAsk(BaseModel):
    request_id: str
    run_id: str | None = None
    reason: str


class RemoveReviewed(BaseModel):
    review_id: str
    removals: list[RemovalAsk]


class RemovalResult(BaseModel):
    request_id: str
    outcome: AppliedOutcome  # removed or alreadyEnded
    detail: str | None = None


class PagesRef(BaseModel):
    page_ids: list[str]


def _chunks(values: list, size: int) -> list[list]:
    return [values[i : i + size] for i in range(0, len(values), size)]


@workflow.defn
class AccessReviewWorkflow:
    @workflow.init
    def __init__(self, review: AccessReviewInput) -> None:
        self.review = review
        info = workflow.info()
        start = (
            review.period_start
            or info.typed_search_attributes.get(SCHEDULED_START)
            or workflow.now().replace(microsecond=0)
        )
        duration = review.settings.schedule.duration
        self.view = ReviewView(
            review_id=info.workflow_id,
            scope=review.scope,
            phase=ReviewPhase.PREPARING,
            period_start=start,
            reminder_at=start + duration / 2,
            ends_at=start + duration,
            expiration_behavior=review.settings.expiration_behavior,
            justification_required=review.settings.is_reviewer_justification_required,
            recommendations_shown=review.settings.is_recommendation_enabled,
            self_review=review.settings.is_self_review,
        )
        self.ready: dict[int, PageReady] = {}
        self.locator: dict[str, str] = {}  # an item's names -> its page id
        self.reviewers: dict[str, Person] = {}

    @workflow.run
    async def run(self, review: AccessReviewInput) -> ReviewSummary:
        self._show()
        pages = await self._start_pages()
        await workflow.wait_condition(lambda: len(self.ready) == len(pages))
        for ready in self.ready.values():
            for person in ready.reviewers:
                self.reviewers.setdefault(person.key, person)
        self.view.reviewers = len(self.reviewers)
        self.view.phase = ReviewPhase.IN_PROGRESS
        self._show()
        if pages:
            await self._mail(NotificationKind.REVIEW_STARTED, list(self.reviewers.values()))
            self.view.started_mail_at = workflow.now()
            await self._remind_at_midpoint()
        summaries = await asyncio.gather(*pages)
        self.view.phase = ReviewPhase.COMPLETED
        self._show()
        totals = sum(summaries, PageSummary())
        return ReviewSummary(view=self.view, totals=totals)

    async def _start_pages(self) -> list:
        """List the policy's delivered assignments a page at a time; a page workflow each."""
        pages, seen, token = [], set(), None
        while True:
            listed: ReviewTargetPage = await workflow.execute_activity(
                LIST_REVIEW_TARGETS,
                ListReviewTargets(
                    package_id=self.review.scope.package_id,
                    policy_id=self.review.scope.policy_id,
                    page_size=self.review.page_size,
                    next_page_token=token,
                ),
                result_type=ReviewTargetPage,
                start_to_close_timeout=activity_calls.CALL_TIMEOUT,
                retry_policy=activity_calls.DIRECTORY_RETRY,
            )
            fresh = [t for t in listed.targets if t.request_id not in seen]
            seen.update(t.request_id for t in fresh)
            if fresh:
                pages.append(await self._start_page(len(pages) + 1, fresh))
            token = listed.next_page_token
            if not token:
                return pages

    async def _start_page(self, number: int, targets: list[ReviewTarget]):
        page_id = review_page_id(self.view.review_id, number)
        for target in targets:
            self.locator[target.request_id.lower()] = page_id
            self.locator[target.user.lower()] = page_id
        self.view.pages.append(page_id)
        self.view.targets += len(targets)
        return await workflow.start_child_workflow(
            AccessReviewPageWorkflow.run,
            ReviewPageInput(
                review_id=self.view.review_id,
                number=number,
                scope=self.review.scope,
                settings=self.review.settings,
                targets=targets,
                view=self.view.model_copy(update={"pages": []}),
                history_limit=self.review.history_limit,
            ),
            id=page_id,
            static_summary=f"Access review of {self.review.scope.package_display_name}, "
            f"page {number} ({len(targets)} assignments)",
        )

    async def _remind_at_midpoint(self) -> None:
        wait = self.view.reminder_at - workflow.now()
        if wait > timedelta(0):
            await workflow.sleep(wait)
        pending = await workflow.execute_activity(
            PENDING_REVIEW_REVIEWERS,
            PagesRef(page_ids=self.view.pages),
            result_type=list[Person],
            start_to_close_timeout=LONG_CALL,
            retry_policy=activity_calls.DIRECTORY_RETRY,
        )
        if pending and workflow.now() < self.view.ends_at:
            await self._mail(NotificationKind.REVIEW_REMINDER, pending)
            self.view.reminder_sent_at = workflow.now()

    async def _mail(self, kind: NotificationKind, recipients: list[Person]) -> None:
        if not self.review.notifications_enabled:
            return
        scope = self.review.scope
        detail = (
            f"{self.view.targets} assignment(s) of the policy '{scope.policy_display_name}'"
            + ("; reviewers give a justification" if self.view.justification_required else "")
        )
        for chunk in _chunks(sorted(recipients, key=lambda p: p.key), MAIL_CHUNK):
            await activity_calls.notify(
                Notification(
                    kind=kind,
                    sender=self.review.sender,
                    recipients=chunk,
                    request_id=self.view.review_id,
                    package=scope.package_display_name,
                    deadline=self.view.ends_at,
                    detail=detail,
                )
            )

    @workflow.signal
    def page_ready(self, ready: PageReady) -> None:
        self.ready[ready.number] = ready
        for name in ready.names:
            self.locator[name] = ready.page_id

    @workflow.query(name="view")
    def current_view(self) -> ReviewView:
        if self.view.phase == ReviewPhase.IN_PROGRESS and workflow.now() >= self.view.ends_at:
            return self.view.model_copy(update={"phase": ReviewPhase.APPLYING})
        return self.view

    @workflow.query
    def locate(self, target: str) -> str | None:
        """The page workflow holding the item named `target` (request id or a user name)."""
        return self.locator.get(target.strip().lower())

    def _show(self) -> None:
        scope = self.review.scope
        workflow.upsert_search_attributes(
            [
                search_attributes.ACCESS_PACKAGE.value_set(scope.package_id),
                search_attributes.ACCESS_CATALOG.value_set(scope.catalog_id),
                search_attributes.ACCESS_POLICY.value_set(scope.policy_id),
            ]
        )
        workflow.set_current_details(
            f"{self.view.phase.value}: {self.view.targets} assignment(s) in "
            f"{len(self.view.pages)} page(s), until {self.view.ends_at.isoformat()}"
        )


@workflow.defn
class AccessReviewPageWorkflow:
    @workflow.init
    def __init__(self, page: ReviewPageInput) -> None:
        self.page = page
        self.items: dict[str, ReviewItem] | None = (
            {item.request_id: item for item in page.items} if page.items is not None else None
        )
        self.people: dict[str, Person] = {p.key: p for p in page.people}
        self.index: dict[str, str] = self._index()
        self.closed = False

    @workflow.run
    async def run(self, page: ReviewPageInput) -> PageSummary:
        if self.items is None:
            await self._prepare()
        if not page.ready_reported:
            await self._report_ready()
        ends_at = page.view.ends_at
        while True:
            if self._history_is_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._carried())
            try:
                await workflow.wait_condition(
                    self._history_is_long,
                    timeout=max(ends_at - workflow.now(), timedelta(0)),
                )
            except TimeoutError:
                break
        self.closed = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._apply()
        return PageSummary.of(self._items())

    # ---- preparing: reviewers and recommendations -----------------------------------------

    async def _prepare(self) -> None:
        page = self.page
        now = workflow.now()
        prepared: list[PreparedItems] = await asyncio.gather(
            *(
                workflow.execute_activity(
                    PREPARE_REVIEW_ITEMS,
                    PrepareReviewItems(targets=chunk, settings=page.settings, as_of=now),
                    result_type=PreparedItems,
                    start_to_close_timeout=LONG_CALL,
                    heartbeat_timeout=timedelta(minutes=1),
                    retry_policy=activity_calls.DIRECTORY_RETRY,
                )
                for chunk in _chunks(page.targets, PREPARE_CHUNK)
            )
        )
        items: dict[str, ReviewItem] = {}
        for part in prepared:
            for person in part.people:
                self.people.setdefault(person.key, person)
            for item in part.items:
                items.setdefault(item.request_id, item)
        self.items = items
        self.index = self._index()

    async def _report_ready(self) -> None:
        reviewers = {key for item in self._items() for key in item.reviewers}
        await workflow.get_external_workflow_handle(self.page.review_id).signal(
            AccessReviewWorkflow.page_ready,
            PageReady(
                number=self.page.number,
                page_id=workflow.info().workflow_id,
                reviewers=[self.people[key] for key in sorted(reviewers) if key in self.people],
                names=sorted(self.index),
            ),
        )
        self.page.ready_reported = True

    # ---- decisions ---------------------------------------------------------------------------

    @workflow.update
    def decide(self, ask: ReviewDecisionInput) -> ReviewItem:
        return self._take(ask)

    @decide.validator
    def _validate_decide(self, ask: ReviewDecisionInput) -> None:
        reason = self._refusal(ask)
        if reason:
            raise refused(*reason)

    @workflow.signal(name="decision")
    def decision_signal(self, ask: ReviewDecisionInput) -> None:
        reason = self._refusal(ask)
        if reason:
            workflow.logger.warning(
                "review decision refused",
                extra={"reviewer": ask.reviewer, "target": ask.target, "rule": reason[0].value},
            )
            return
        self._take(ask)

    def _refusal(self, ask: ReviewDecisionInput) -> tuple[Rule, str] | None:
        if self.items is None:
            return Rule.NOT_PENDING, "the review is being prepared; try again in a moment"
        if self.closed or workflow.now() >= self.page.view.ends_at:
            return Rule.NOT_PENDING, f"the review ended at {self.page.view.ends_at.isoformat()}"
        return review_decision_refusal(self._find(ask.target), self.people, ask, self.page.settings)

    def _take(self, ask: ReviewDecisionInput) -> ReviewItem:
        item = self._find(ask.target)
        assert item is not None
        reviewer = next(
            self.people[key]
            for key in item.reviewers
            if key in self.people and self.people[key].matches(ask.reviewer)
        )
        item.decision = ReviewDecision(
            decision=ask.decision,
            by=reviewer.key,
            at=workflow.now(),
            justification=(ask.justification or "").strip() or None,
        )
        return self._shown(item)

    def _find(self, target: str) -> ReviewItem | None:
        request_id = self.index.get(target.strip().lower())
        return self.items.get(request_id) if self.items and request_id else None

    # ---- the end -------------------------------------------------------------------------------

    async def _apply(self) -> None:
        behavior = self.page.settings.expiration_behavior
        review_id = self.page.review_id
        removals: list[RemovalAsk] = []
        for item in self._items():
            remove, why = planned_outcome(item, behavior)
            item.applied_reason = why
            if remove:
                reason = why.replace("in access review", f"in access review {review_id}", 1)
                removals.append(
                    RemovalAsk(request_id=item.request_id, run_id=item.run_id, reason=reason)
                )
            else:
                item.applied, item.applied_at = AppliedOutcome.KEPT, workflow.now()
        for chunk in _chunks(removals, REMOVAL_CHUNK):
            results: list[RemovalResult] = await workflow.execute_activity(
                REMOVE_REVIEWED_ASSIGNMENTS,
                RemoveReviewed(review_id=review_id, removals=chunk),
                result_type=list[RemovalResult],
                start_to_close_timeout=LONG_CALL,
                heartbeat_timeout=timedelta(minutes=1),
                retry_policy=activity_calls.DIRECTORY_RETRY,
            )
            for result in results:
                item = self.items[result.request_id]
                item.applied, item.applied_at = result.outcome, workflow.now()
                if result.detail:
                    item.applied_reason = f"{item.applied_reason} ({result.detail})"

    # ---- what reviewers and the review see -----------------------------------------------------

    @workflow.query(name="items")
    def list_items(self, reviewer: str | None = None) -> list[ReviewItem]:
        """Every item (the review's report), or those `reviewer` may decide, as they see them."""
        if not reviewer:
            return [item.model_copy() for item in self._items()]
        return [
            self._shown(item)
            for item in self._items()
            if any(self.people[k].matches(reviewer) for k in item.reviewers if k in self.people)
        ]

    @workflow.query
    def pending_reviewers(self) -> list[Person]:
        """Reviewers of the items nobody has decided yet."""
        keys = {k for item in self._items() if item.decision is None for k in item.reviewers}
        return [self.people[key] for key in sorted(keys)]

    @workflow.query
    def summary(self) -> PageSummary:
        return PageSummary.of(self._items())

    def _shown(self, item: ReviewItem) -> ReviewItem:
        """An item as its reviewers see it: the recommendation only when the policy shows it
        (it may still be computed, for acceptAccessRecommendation)."""
        if self.page.settings.is_recommendation_enabled:
            return item.model_copy()
        return item.model_copy(update={"recommendation": None})

    # ---- plumbing ----------------------------------------------------------------------------

    def _items(self) -> list[ReviewItem]:
        return list(self.items.values()) if self.items else []

    def _index(self) -> dict[str, str]:
        return {name: item.request_id for item in self._items() for name in item.names()}

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self.page.history_limit
        )

    def _carried(self) -> ReviewPageInput:
        return self.page.model_copy(
            update={"items": self._items(), "people": list(self.people.values())}
        )
