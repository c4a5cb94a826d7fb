"""Review rules without a server: when reviews recur, what is recommended, what the end does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from entitlements.people import Person
from entitlements.policy import ExpirationBehavior, ReviewSchedule
from entitlements.review_schedule import recurrence_calendar
from entitlements.reviews import (
    Recommendation,
    ReviewDecision,
    ReviewItem,
    delivered_assignments_query,
    planned_outcome,
    recommend,
    review_id_for,
)
from entitlements.status import DecisionKind

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def schedule(start: str, recurrence: str) -> ReviewSchedule:
    return ReviewSchedule(start_date_time=start, recurrence=recurrence)


@pytest.mark.parametrize(
    ("recurrence", "months"),
    [
        ("monthly", tuple(range(1, 13))),
        ("quarterly", (2, 5, 8, 11)),
        ("halfyearly", (5, 11)),
        ("annual", (11,)),
    ],
)
def test_reviews_recur_on_the_start_day_in_the_right_months(recurrence, months):
    calendar = recurrence_calendar(schedule("2026-11-30T08:30:00Z", recurrence), "UTC")
    assert calendar.months == months
    assert (calendar.day_of_month, calendar.day_of_week) == (30, None)
    assert (calendar.hour, calendar.minute) == (8, 30)


def test_a_weekly_review_recurs_on_the_start_weekday_in_the_catalogs_time_zone():
    # Sunday 23:30 UTC is Monday 00:30 in Paris: the review recurs on Mondays, Paris time
    calendar = recurrence_calendar(schedule("2027-01-03T23:30:00Z", "weekly"), "Europe/Paris")
    assert (calendar.day_of_week, calendar.hour, calendar.minute) == (1, 0, 30)
    assert calendar.time_zone == "Europe/Paris"


def test_the_recommendation_approves_only_a_sign_in_within_thirty_days():
    assert recommend(NOW - timedelta(days=30), NOW).decision == DecisionKind.APPROVE
    stale = recommend(NOW - timedelta(days=31), NOW)
    assert stale.decision == DecisionKind.DENY and "31 days" in stale.reason
    assert recommend(None, NOW).decision == DecisionKind.DENY
    assert recommend(None, NOW, in_directory=False).reason == "not found in the directory"


def item(decision: str | None = None, recommended: str | None = None) -> ReviewItem:
    return ReviewItem(
        request_id="access:p:a@contoso.example",
        target=Person(email="a@contoso.example"),
        decision=ReviewDecision(decision=decision, by="carol@contoso.example", at=NOW)
        if decision
        else None,
        recommendation=Recommendation(decision=recommended, reason="r") if recommended else None,
    )


@pytest.mark.parametrize(
    ("decided", "recommended", "behavior", "removed"),
    [
        ("deny", "approve", ExpirationBehavior.KEEP_ACCESS, True),
        ("approve", "deny", ExpirationBehavior.REMOVE_ACCESS, False),
        (None, None, ExpirationBehavior.KEEP_ACCESS, False),
        (None, None, ExpirationBehavior.REMOVE_ACCESS, True),
        (None, "approve", ExpirationBehavior.ACCEPT_ACCESS_RECOMMENDATION, False),
        (None, "deny", ExpirationBehavior.ACCEPT_ACCESS_RECOMMENDATION, True),
    ],
)
def test_a_decision_wins_and_silence_follows_the_expiration_behavior(
    decided, recommended, behavior, removed
):
    remove, why = planned_outcome(item(decided, recommended), behavior)
    assert remove is removed
    assert ("not reviewed" in why) is (decided is None)


def test_a_period_has_the_id_temporal_gives_the_scheduled_workflow():
    start = datetime(2027, 1, 4, 10, 0, 0, 500, tzinfo=UTC)
    assert review_id_for("sales", "everyone", start) == "review:sales:everyone-2027-01-04T10:00:00Z"


def test_the_visibility_query_refuses_a_quote():
    assert "AccessPolicy = 'everyone'" in delivered_assignments_query("sales", "everyone")
    with pytest.raises(ValueError):
        delivered_assignments_query("sales' OR 'x'='x", "everyone")


def test_an_unknown_time_zone_is_named():
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        recurrence_calendar(schedule("2027-01-04T09:00:00Z", "weekly"), "Mars/Olympus")
