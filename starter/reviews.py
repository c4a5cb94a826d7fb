"""ReviewClient: access reviews for services and the `accessctl review` commands.

Reviewers see what waits for them and decide; administrators read a review's report. Every
refusal comes back as `RequestRefused` naming its rule, and changes nothing.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.temporal_client import connect_temporal, task_queue
from entitlements.refusals import REFUSAL_ERROR_TYPE, RequestRefused, Rule
from entitlements.reviews import (
    AccessReviewInput,
    PageSummary,
    Recommendation,
    ReviewDecision,
    ReviewDecisionInput,
    ReviewItem,
    ReviewPhase,
    ReviewReport,
    ReviewReportRow,
    ReviewSummary,
    ReviewView,
    review_id_for,
)
from entitlements.status import DecisionKind
from workflows import search_attributes
from workflows.access_review import AccessReviewPageWorkflow, AccessReviewWorkflow

RUNNING_REVIEWS = "WorkflowType = 'AccessReviewWorkflow' AND ExecutionStatus = 'Running'"


class PendingReview(BaseModel):
    """One assignment a reviewer may decide, in `accessctl review list --reviewer`."""

    review_id: str
    package_id: str
    policy_id: str
    ends_at: datetime
    request_id: str
    target: str
    target_name: str = ""
    recommendation: Recommendation | None = None  # only when the policy shows it
    decision: ReviewDecision | None = None  # so far; it can change until the end
    justification_required: bool = False


class ReviewClient:
    def __init__(self, client: Client, queue: str | None = None) -> None:
        self.client = client
        self.task_queue = queue or task_queue()

    @classmethod
    async def connect(cls, **overrides) -> ReviewClient:
        return cls(await connect_temporal(**overrides))

    # ---- starting (the policy's Schedule does this; services and tests may too) -----------

    async def start(self, review: AccessReviewInput) -> str:
        """Start a review now (or for `review.period_start`); one per policy and period."""
        period_start = review.period_start or datetime.now(UTC).replace(microsecond=0)
        review = review.model_copy(update={"period_start": period_start})
        scope = review.scope
        review_id = review_id_for(scope.package_id, scope.policy_id, period_start)
        try:
            await self.client.start_workflow(
                AccessReviewWorkflow.run,
                review,
                id=review_id,
                task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(search_attributes.ACCESS_PACKAGE, scope.package_id),
                        SearchAttributePair(search_attributes.ACCESS_CATALOG, scope.catalog_id),
                        SearchAttributePair(search_attributes.ACCESS_POLICY, scope.policy_id),
                    ]
                ),
                static_summary=f"Access review of {scope.package_display_name} "
                f"({scope.policy_display_name})",
            )
        except WorkflowAlreadyStartedError:
            raise RequestRefused(
                Rule.REVIEW_EXISTS, f"this period's review already exists: {review_id}"
            ) from None
        return review_id

    # ---- reading -------------------------------------------------------------------------

    async def view(self, review_id: str) -> ReviewView:
        return await self._query(self._review(review_id), AccessReviewWorkflow.current_view)

    async def items(self, review_id: str, reviewer: str | None = None) -> list[ReviewItem]:
        """Every item of a review (as the report shows them), or those `reviewer` may decide
        (as they see them: the recommendation only when the policy shows it)."""
        view = await self.view(review_id)
        items: list[ReviewItem] = []
        for page_id in view.pages:
            page = self.client.get_workflow_handle_for(AccessReviewPageWorkflow.run, page_id)
            items += await self._query(page, AccessReviewPageWorkflow.list_items, reviewer)
        return items

    async def running_reviews(self) -> list[str]:
        """Ids of the reviews open now (Temporal visibility)."""
        return [execution.id async for execution in self.client.list_workflows(RUNNING_REVIEWS)]

    async def pending_for(self, reviewer: str) -> list[PendingReview]:
        """Every assignment this person may decide, over every open review."""
        rows: list[PendingReview] = []
        for review_id in await self.running_reviews():
            view = await self.view(review_id)
            for item in await self.items(review_id, reviewer):
                rows.append(
                    PendingReview(
                        review_id=review_id,
                        package_id=view.scope.package_id,
                        policy_id=view.scope.policy_id,
                        ends_at=view.ends_at,
                        request_id=item.request_id,
                        target=item.target.key,
                        target_name=item.target.display_name,
                        recommendation=item.recommendation,
                        decision=item.decision,
                        justification_required=view.justification_required,
                    )
                )
        return rows

    async def report(self, review_id: str) -> ReviewReport:
        """Each assignment: the decision, who, when, why, the recommendation, what was done."""
        view = await self.view(review_id)
        items = await self.items(review_id)
        return ReviewReport(
            review=view,
            totals=PageSummary.of(items),
            rows=[ReviewReportRow.of(item) for item in items],
        )

    async def wait(self, review_id: str) -> ReviewSummary:
        """The review's outcome, once it has ended."""
        return await self._review(review_id).result()

    # ---- deciding ------------------------------------------------------------------------------

    async def decide(
        self,
        review_id: str,
        target: str,
        reviewer: str,
        decision: DecisionKind,
        justification: str | None = None,
    ) -> ReviewItem:
        """Approve or deny one assignment (named by its request id or the user); a reviewer
        may change their mind until the review ends."""
        page_id = await self._query(self._review(review_id), AccessReviewWorkflow.locate, target)
        if page_id is None:
            if (await self.view(review_id)).phase == ReviewPhase.PREPARING:
                raise RequestRefused(
                    Rule.NOT_PENDING, f"review {review_id} is being prepared; try again shortly"
                )
            raise RequestRefused(
                Rule.NOT_IN_REVIEW, f"no assignment of '{target}' is in review {review_id}"
            )
        ask = ReviewDecisionInput(
            reviewer=reviewer, target=target, decision=decision, justification=justification
        )
        page = self.client.get_workflow_handle_for(AccessReviewPageWorkflow.run, page_id)
        try:
            return await page.execute_update(AccessReviewPageWorkflow.decide, ask)
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.type == REFUSAL_ERROR_TYPE:
                raise RequestRefused(_rule(cause.details), cause.message) from None
            raise
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:  # the page has closed: the review ended
                raise RequestRefused(Rule.NOT_PENDING, f"review {review_id} has ended") from None
            raise

    async def approve(self, review_id: str, target: str, reviewer: str, justification=None):
        return await self.decide(review_id, target, reviewer, DecisionKind.APPROVE, justification)

    async def deny(self, review_id: str, target: str, reviewer: str, justification=None):
        return await self.decide(review_id, target, reviewer, DecisionKind.DENY, justification)

    # ---- plumbing ----------------------------------------------------------------------------

    def _review(self, review_id: str) -> WorkflowHandle:
        return self.client.get_workflow_handle_for(AccessReviewWorkflow.run, review_id)

    async def _query(self, handle: WorkflowHandle, query, *args):
        try:
            return await handle.query(query, *args)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise RequestRefused(Rule.REVIEW_NOT_FOUND, f"no review '{handle.id}'") from None
            raise


def _rule(details) -> Rule:
    try:
        return Rule(details[0] if details else None)
    except ValueError:
        return Rule.NOT_PENDING


REPORT_COLUMNS = list(ReviewReportRow.model_fields)


def report_csv(report: ReviewReport) -> str:
    """The report as CSV: one row per assignment, a header of the fields' names."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=REPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in report.rows:
        writer.writerow(row.model_dump(mode="json"))
    return buffer.getvalue()
