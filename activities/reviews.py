"""Access review activities: what a review covers (Temporal visibility), who reviews each item
and what is recommended (the directory), and removing what was denied (the assignments' own
workflows). Each handles a batch, so a review of thousands of assignments takes few activities.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Protocol

from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.approvers import ApproverActivities
from activities.directory import DirectoryActivities
from activities.directory_models import UserRef
from activities.people import find_person
from entitlements.approvers import ResolveApprovers
from entitlements.decisions import RemoveInput
from entitlements.people import Person
from entitlements.policy import SubjectSet, SubjectType
from entitlements.refusals import REFUSAL_ERROR_TYPE
from entitlements.reviews import (
    AppliedOutcome,
    ListReviewTargets,
    PreparedItems,
    PrepareReviewItems,
    ReviewItem,
    ReviewTarget,
    ReviewTargetPage,
    delivered_assignments_query,
    needs_recommendation,
    per_target_subjects,
    recommend,
    review_actor,
)
from workflows import search_attributes
from workflows.access_request import AccessRequestWorkflow
from workflows.access_review import (
    LIST_REVIEW_TARGETS,
    PENDING_REVIEW_REVIEWERS,
    PREPARE_REVIEW_ITEMS,
    REMOVE_REVIEWED_ASSIGNMENTS,
    AccessReviewPageWorkflow,
    PagesRef,
    RemovalResult,
    RemoveReviewed,
)

CONCURRENCY = 8  # directory look-ups or removals in flight at once, per activity


class ReviewTargetSource(Protocol):
    """Where a review finds the assignments it covers, a page at a time."""

    async def page(self, ask: ListReviewTargets) -> ReviewTargetPage: ...


class VisibilityTargets:
    """The policy's delivered assignments, from Temporal visibility (the query an operator
    would type in the UI). The time-skipping test server has no visibility list: workflow
    tests give ReviewActivities another source; this one is tested on the dev server."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def page(self, ask: ListReviewTargets) -> ReviewTargetPage:
        try:
            query = delivered_assignments_query(ask.package_id, ask.policy_id)
        except ValueError as error:
            raise ApplicationError(str(error), type="InvalidInput", non_retryable=True) from None
        token = base64.b64decode(ask.next_page_token) if ask.next_page_token else None
        listing = self.client.list_workflows(query, page_size=ask.page_size, next_page_token=token)
        await listing.fetch_next_page()
        targets = [
            ReviewTarget(
                request_id=execution.id,
                run_id=execution.run_id,
                user=execution.typed_search_attributes.get(search_attributes.TARGET_USER) or "",
            )
            for execution in listing.current_page or []
        ]
        following = listing.next_page_token
        return ReviewTargetPage(
            targets=targets,
            next_page_token=base64.b64encode(following).decode() if following else None,
        )


class ReviewActivities:
    def __init__(
        self,
        client: Client,
        directory: DirectoryActivities,
        targets: ReviewTargetSource | None = None,
    ) -> None:
        self.client = client
        self.directory = directory
        self.approvers = ApproverActivities(directory)
        self.targets = targets or VisibilityTargets(client)

    def all(self) -> list:
        return [
            self.list_review_targets,
            self.prepare_review_items,
            self.pending_review_reviewers,
            self.remove_reviewed_assignments,
        ]

    @activity.defn(name=LIST_REVIEW_TARGETS)
    async def list_review_targets(self, ask: ListReviewTargets) -> ReviewTargetPage:
        return await self.targets.page(ask)

    # ---- reviewers and recommendations ---------------------------------------------------------

    @activity.defn(name=PREPARE_REVIEW_ITEMS)
    async def prepare_review_items(self, ask: PrepareReviewItems) -> PreparedItems:
        """Each target's reviewers (primary, else fallback) and, when the policy uses them,
        its recommendation. Reviewer sets are resolved by resolve_approvers; a target's own
        manager with the target as the `requestor`. Nobody reviews their own access unless
        the policy is a self-review."""
        settings = ask.settings
        look_up = per_target_subjects(settings) or needs_recommendation(settings)
        shared: dict[str, asyncio.Task[list[Person]]] = {}  # one look-up per subject and batch
        people: dict[str, Person] = {}
        gate = asyncio.Semaphore(CONCURRENCY)

        async def resolve(subjects: list[SubjectSet], target: Person) -> list[Person]:
            found: list[Person] = []
            for subject in subjects:
                if subject.type == SubjectType.REQUESTOR_MANAGER:
                    found += await self._resolve([subject], target)
                else:  # the same for every target: once per batch
                    key = subject.model_dump_json()
                    if key not in shared:
                        shared[key] = asyncio.create_task(self._resolve([subject], target))
                    found += await shared[key]
            return [p for p in found if p.key != target.key]

        async def prepare(target: ReviewTarget) -> ReviewItem:
            async with gate:
                person = await find_person(self.directory, target.user) if look_up else None
                in_directory = person is not None
                person = person or Person(email=target.user)
                if settings.is_self_review:
                    reviewers = [person]
                else:
                    reviewers = await resolve(settings.primary_reviewers, person)
                    if not reviewers:
                        reviewers = await resolve(settings.fallback_reviewers, person)
                for reviewer in reviewers:
                    people.setdefault(reviewer.key, reviewer)
                recommendation = None
                if needs_recommendation(settings):
                    last = await self._last_sign_in(person) if in_directory else None
                    recommendation = recommend(last, ask.as_of, in_directory)
                activity.heartbeat()
                return ReviewItem(
                    request_id=target.request_id,
                    run_id=target.run_id,
                    target=person,
                    reviewers=list(dict.fromkeys(r.key for r in reviewers)),
                    recommendation=recommendation,
                )

        items = await asyncio.gather(*(prepare(target) for target in ask.targets))
        return PreparedItems(items=list(items), people=list(people.values()))

    async def _resolve(self, subjects: list[SubjectSet], target: Person) -> list[Person]:
        return await self.approvers.resolve_approvers(
            ResolveApprovers(subjects=subjects, requestor=target)
        )

    async def _last_sign_in(self, person: Person):
        assert person.id
        try:
            found = await self.directory.get_last_sign_in(UserRef(user_id=person.id))
        except ApplicationError as error:
            if error.non_retryable:  # gone from the directory since: nothing recorded
                return None
            raise
        return found.last_sign_in

    # ---- the midpoint reminder -----------------------------------------------------------------

    @activity.defn(name=PENDING_REVIEW_REVIEWERS)
    async def pending_review_reviewers(self, pages: PagesRef) -> list[Person]:
        """Reviewers with at least one undecided item, over every page of a review."""
        pending: dict[str, Person] = {}
        for page_id in pages.page_ids:
            handle = self.client.get_workflow_handle_for(AccessReviewPageWorkflow.run, page_id)
            for person in await handle.query(AccessReviewPageWorkflow.pending_reviewers):
                pending.setdefault(person.key, person)
            activity.heartbeat()
        return list(pending.values())

    # ---- the end: removing what was denied -------------------------------------------------

    @activity.defn(name=REMOVE_REVIEWED_ASSIGNMENTS)
    async def remove_reviewed_assignments(self, ask: RemoveReviewed) -> list[RemovalResult]:
        """Send each assignment's workflow the `remove` Update as the review. Idempotent: the
        Update's id names the review, so a retried activity repeats nothing."""
        gate = asyncio.Semaphore(CONCURRENCY)

        async def remove(removal) -> RemovalResult:
            async with gate:
                outcome, detail = await self._remove(ask.review_id, removal)
                activity.heartbeat()
                return RemovalResult(request_id=removal.request_id, outcome=outcome, detail=detail)

        return list(await asyncio.gather(*(remove(r) for r in ask.removals)))

    async def _remove(self, review_id: str, removal) -> tuple[AppliedOutcome, str | None]:
        ended = AppliedOutcome.ALREADY_ENDED
        try:
            first_run = await self._first_run(removal.request_id, removal.run_id)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return ended, "the assignment's workflow no longer exists"
            raise
        # The listed run may have continued-as-new since: target its chain, not that run; a
        # later request of the same id (a new assignment) is another chain and is not touched.
        handle = self.client.get_workflow_handle_for(
            AccessRequestWorkflow.run, removal.request_id, first_execution_run_id=first_run
        )
        try:
            await handle.execute_update(
                AccessRequestWorkflow.remove,
                RemoveInput(by=review_actor(review_id), reason=removal.reason),
                id=f"{review_id}:remove",
            )
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.type == REFUSAL_ERROR_TYPE:
                return ended, cause.message
            raise
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return ended, "the assignment had already ended"
            raise
        return AppliedOutcome.REMOVED, None

    async def _first_run(self, request_id: str, run_id: str | None) -> str | None:
        if run_id is None:
            return None
        described = await self.client.get_workflow_handle(request_id, run_id=run_id).describe()
        return described.raw_description.workflow_execution_info.first_run_id or run_id
