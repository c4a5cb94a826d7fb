"""Access reviews (SEMANTICS.md "Access reviews"): what a review carries, its items, its rules.

A review covers one policy's delivered assignments for one period. Reviewers approve or deny
each assignment (with a justification when the policy asks); at the end denied assignments are
removed and unreviewed ones follow the policy's `expirationBehavior`. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from entitlements.catalog import AccessPackage, Catalog, CatalogFile
from entitlements.people import Person, matches_any
from entitlements.policy import AssignmentPolicy, ExpirationBehavior, ReviewSettings, SubjectType
from entitlements.refusals import RequestRefused, Rule
from entitlements.request_checks import check_text
from entitlements.status import DecisionKind

# "Recommend approve if the user signed in within the last 30 days."
RECOMMENDATION_WINDOW = timedelta(days=30)
# Assignments per page workflow: a page's history stays far below Temporal's limits even when
# every item is decided one by one (about five events per decision).
REVIEW_PAGE_SIZE = 500
PAGE_HISTORY_LIMIT = 8_000
REVIEW_PREFIX = "review:"
REVIEW_ACTOR_PREFIX = "system:access-review:"  # `by` of a removal made by a review


# ---- ids ----------------------------------------------------------------------------------


def review_schedule_id(package_id: str, policy_id: str) -> str:
    """The Temporal Schedule of a policy's reviews (also the base of each review's id)."""
    return f"{REVIEW_PREFIX}{package_id}:{policy_id}"


def review_id_for(package_id: str, policy_id: str, period_start: datetime) -> str:
    """One review per policy and period: the id a Schedule gives the workflow it starts.

    Temporal appends the scheduled (nominal) time, in RFC 3339 UTC to the second, to the
    action's workflow id; a review started directly uses the same form, so either way a
    period has exactly one id.
    """
    moment = period_start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{review_schedule_id(package_id, policy_id)}-{moment}"


def review_page_id(review_id: str, number: int) -> str:
    return f"{review_id}:page:{number}"


def review_actor(review_id: str) -> str:
    """Who removes an assignment denied in a review (the request workflow accepts `system:`)."""
    return f"{REVIEW_ACTOR_PREFIX}{review_id}"


def _literal(value: str) -> str:
    if "'" in value or "\\" in value:
        raise ValueError(f"an id in a visibility query cannot contain quotes: {value!r}")
    return f"'{value}'"


def delivered_assignments_query(package_id: str, policy_id: str) -> str:
    """The visibility query of a policy's delivered assignments (what a review covers)."""
    return (
        "WorkflowType = 'AccessRequestWorkflow' AND ExecutionStatus = 'Running' "
        f"AND AccessPackage = {_literal(package_id)} AND AccessPolicy = {_literal(policy_id)} "
        "AND RequestState = 'delivered'"
    )


# ---- what a review starts with ------------------------------------------------------------


class ReviewScope(BaseModel):
    model_config = ConfigDict(frozen=True)

    package_id: str
    package_display_name: str
    catalog_id: str
    policy_id: str
    policy_display_name: str


class AccessReviewInput(BaseModel):
    """A snapshot of the policy's review settings. The Schedule's action carries it, so a
    catalog change reaches the next review (through `accessctl catalog apply`), never one
    already running."""

    scope: ReviewScope
    settings: ReviewSettings
    sender: str  # the mailbox review mail is sent from
    notifications_enabled: bool = True  # settings.notifications.isEnabled
    time_zone: str = "UTC"
    # None: the Schedule's nominal time (TemporalScheduledStartTime), else the workflow's start
    period_start: datetime | None = None
    page_size: int = Field(default=REVIEW_PAGE_SIZE, ge=1, le=1000)
    # a page continues-as-new, carrying its items, once its history has this many events
    history_limit: int = Field(default=PAGE_HISTORY_LIMIT, ge=100)


def reviewed_policies(
    catalog_file: CatalogFile,
) -> Iterator[tuple[Catalog | None, AccessPackage, AssignmentPolicy]]:
    """Every policy whose reviews are enabled, with its package and catalog."""
    for catalog, package in catalog_file.packages():
        for policy in package.assignment_policies:
            if policy.review_settings is not None and policy.review_settings.is_enabled:
                yield catalog, package, policy


def review_input_for(
    catalog_file: CatalogFile, package_id: str, policy_id: str, **overrides
) -> AccessReviewInput:
    """The review snapshot of one policy, as `catalog apply` puts it in the Schedule."""
    for catalog, package, policy in reviewed_policies(catalog_file):
        if package.id == package_id and policy.id == policy_id:
            assert policy.review_settings is not None
            return AccessReviewInput(
                scope=ReviewScope(
                    package_id=package.id,
                    package_display_name=package.display_name,
                    catalog_id=catalog.id if catalog else (package.catalog or ""),
                    policy_id=policy.id,
                    policy_display_name=policy.display_name,
                ),
                settings=policy.review_settings,
                sender=catalog_file.settings.notifications.sender_mailbox,
                notifications_enabled=catalog_file.settings.notifications.is_enabled,
                time_zone=catalog.time_zone if catalog else "UTC",
                **overrides,
            )
    raise KeyError(f"no enabled review settings for policy '{policy_id}' of '{package_id}'")


def per_target_subjects(settings: ReviewSettings) -> bool:
    """True when reviewers depend on the target (self-review, each target's manager)."""
    subjects = [*settings.primary_reviewers, *settings.fallback_reviewers]
    return settings.is_self_review or any(s.type == SubjectType.REQUESTOR_MANAGER for s in subjects)


def needs_recommendation(settings: ReviewSettings) -> bool:
    return (
        settings.is_recommendation_enabled
        or settings.expiration_behavior == ExpirationBehavior.ACCEPT_ACCESS_RECOMMENDATION
    )


# ---- items ----------------------------------------------------------------------------------


class ReviewTarget(BaseModel):
    """A delivered assignment as visibility lists it."""

    model_config = ConfigDict(frozen=True)

    request_id: str  # the AccessRequestWorkflow id
    run_id: str | None = None  # the run listed (its chain is the assignment)
    user: str  # the target's email (TargetUser)


class ReviewTargetPage(BaseModel):
    targets: list[ReviewTarget]
    next_page_token: str | None = None  # base64 of Temporal's token; None: the last page


class ListReviewTargets(BaseModel):
    package_id: str
    policy_id: str
    page_size: int
    next_page_token: str | None = None


class Recommendation(BaseModel):
    decision: DecisionKind
    reason: str
    last_sign_in: datetime | None = None


def recommend(last_sign_in: datetime | None, as_of: datetime, in_directory: bool = True):
    """Approve when the user signed in within the last 30 days, deny otherwise."""
    if not in_directory:
        return Recommendation(decision=DecisionKind.DENY, reason="not found in the directory")
    if last_sign_in is None:
        return Recommendation(decision=DecisionKind.DENY, reason="no sign-in recorded")
    days = (as_of - last_sign_in).days
    if as_of - last_sign_in <= RECOMMENDATION_WINDOW:
        reason = f"signed in {max(days, 0)} day(s) before the review"
        return Recommendation(
            decision=DecisionKind.APPROVE, reason=reason, last_sign_in=last_sign_in
        )
    return Recommendation(
        decision=DecisionKind.DENY,
        reason=f"no sign-in for {days} days (more than {RECOMMENDATION_WINDOW.days})",
        last_sign_in=last_sign_in,
    )


class ReviewDecision(BaseModel):
    decision: DecisionKind
    by: str  # the reviewer's email
    at: datetime
    justification: str | None = None


class AppliedOutcome(StrEnum):
    PENDING = "pending"  # the review is still open
    KEPT = "kept"
    REMOVED = "removed"  # the assignment's removal was handed to its workflow
    ALREADY_ENDED = "alreadyEnded"  # it had ended (expired, removed) before the review did


class ReviewItem(BaseModel):
    request_id: str
    run_id: str | None = None
    target: Person
    reviewers: list[str] = []  # reviewer emails (their Person is in the page's people)
    recommendation: Recommendation | None = None
    decision: ReviewDecision | None = None
    applied: AppliedOutcome = AppliedOutcome.PENDING
    applied_reason: str | None = None
    applied_at: datetime | None = None

    def names(self) -> set[str]:
        """What a reviewer may call this item: the request id, or any name of the target."""
        return {self.request_id.lower(), *self.target.identifiers()}


class PrepareReviewItems(BaseModel):
    targets: list[ReviewTarget]
    settings: ReviewSettings
    as_of: datetime  # recommendations look at the 30 days before this


class PreparedItems(BaseModel):
    items: list[ReviewItem]
    people: list[Person]  # every reviewer of these items


class ReviewDecisionInput(BaseModel):
    reviewer: str  # email, user principal name or object id
    target: str  # the request id, or the target's email, user principal name or object id
    decision: DecisionKind
    justification: str | None = None


def review_decision_refusal(
    item: ReviewItem | None,
    people: dict[str, Person],
    ask: ReviewDecisionInput,
    settings: ReviewSettings,
) -> tuple[Rule, str] | None:
    """Why this decision is refused, or None when it counts. Reviewers may change their
    decision until the review ends; the last one counts."""
    if item is None:
        return Rule.NOT_IN_REVIEW, f"no assignment of '{ask.target}' is in this review"
    try:
        check_text("the justification", ask.justification)
    except RequestRefused as error:
        return error.rule, error.message
    reviewers = [people[key] for key in item.reviewers if key in people]
    if matches_any(reviewers, ask.reviewer) is None:
        names = ", ".join(p.key for p in reviewers[:5]) or "nobody"
        more = f" and {len(reviewers) - 5} more" if len(reviewers) > 5 else ""
        return Rule.NOT_A_REVIEWER, (
            f"{ask.reviewer} is not a reviewer of {item.target.key}'s access ({names}{more})"
        )
    justification = (ask.justification or "").strip()
    if settings.is_reviewer_justification_required and not justification:
        return Rule.JUSTIFICATION_REQUIRED, "this review requires a justification from the reviewer"
    return None


def planned_outcome(item: ReviewItem, behavior: ExpirationBehavior) -> tuple[bool, str]:
    """At the end: (remove?, why). Denied ones go; unreviewed ones follow `behavior`."""
    decision = item.decision
    if decision is not None:
        said = f": {decision.justification}" if decision.justification else ""
        if decision.decision == DecisionKind.DENY:
            return True, f"denied in access review by {decision.by}{said}"
        return False, f"approved in access review by {decision.by}{said}"
    if behavior == ExpirationBehavior.REMOVE_ACCESS:
        return True, "not reviewed in access review (removeAccess)"
    if behavior == ExpirationBehavior.ACCEPT_ACCESS_RECOMMENDATION:
        rec = item.recommendation
        if rec is not None and rec.decision == DecisionKind.DENY:
            return True, f"not reviewed in access review; recommendation deny: {rec.reason}"
        reason = rec.reason if rec else "no recommendation"
        return False, f"not reviewed in access review; recommendation approve: {reason}"
    return False, "not reviewed in access review (keepAccess)"


# ---- what a review looks like from outside ----------------------------------------------------


class ReviewPhase(StrEnum):
    PREPARING = "preparing"  # listing assignments and finding reviewers
    IN_PROGRESS = "inProgress"  # reviewers decide
    APPLYING = "applying"  # the period is over: removing what was denied
    COMPLETED = "completed"


class ReviewView(BaseModel):
    review_id: str
    scope: ReviewScope
    phase: ReviewPhase
    period_start: datetime
    reminder_at: datetime
    ends_at: datetime
    pages: list[str] = []  # page workflow ids
    targets: int = 0
    reviewers: int = 0
    started_mail_at: datetime | None = None
    reminder_sent_at: datetime | None = None
    expiration_behavior: ExpirationBehavior
    justification_required: bool
    recommendations_shown: bool
    self_review: bool


class PageSummary(BaseModel):
    items: int = 0
    decided: int = 0
    approved: int = 0
    denied: int = 0
    kept: int = 0
    removed: int = 0
    already_ended: int = 0

    @classmethod
    def of(cls, items: list[ReviewItem]) -> PageSummary:
        def count(test) -> int:
            return sum(1 for item in items if test(item))

        return cls(
            items=len(items),
            decided=count(lambda i: i.decision is not None),
            approved=count(lambda i: i.decision and i.decision.decision == DecisionKind.APPROVE),
            denied=count(lambda i: i.decision and i.decision.decision == DecisionKind.DENY),
            kept=count(lambda i: i.applied == AppliedOutcome.KEPT),
            removed=count(lambda i: i.applied == AppliedOutcome.REMOVED),
            already_ended=count(lambda i: i.applied == AppliedOutcome.ALREADY_ENDED),
        )

    def __add__(self, other: PageSummary) -> PageSummary:
        return PageSummary(
            **{name: getattr(self, name) + getattr(other, name) for name in type(self).model_fields}
        )


class ReviewSummary(BaseModel):
    view: ReviewView
    totals: PageSummary


class PageReady(BaseModel):
    """A page tells its review who reviews it (for the start mail) and what its items are
    called (so a decision finds its page)."""

    number: int
    page_id: str
    reviewers: list[Person]
    names: list[str]


class ReviewReportRow(BaseModel):
    request_id: str
    target: str
    target_name: str = ""
    decision: str = ""  # approve, deny, or empty: not reviewed
    decided_by: str = ""
    decided_at: datetime | None = None
    justification: str = ""
    recommendation: str = ""
    recommendation_reason: str = ""
    applied: AppliedOutcome
    applied_reason: str = ""
    applied_at: datetime | None = None

    @classmethod
    def of(cls, item: ReviewItem) -> ReviewReportRow:
        decision, rec = item.decision, item.recommendation
        return cls(
            request_id=item.request_id,
            target=item.target.key,
            target_name=item.target.display_name,
            decision=decision.decision.value if decision else "",
            decided_by=decision.by if decision else "",
            decided_at=decision.at if decision else None,
            justification=(decision.justification or "") if decision else "",
            recommendation=rec.decision.value if rec else "",
            recommendation_reason=rec.reason if rec else "",
            applied=item.applied,
            applied_reason=item.applied_reason or "",
            applied_at=item.applied_at,
        )


class ReviewReport(BaseModel):
    review: ReviewView
    totals: PageSummary
    rows: list[ReviewReportRow]
