"""The life of a delivered assignment: when reminders fall due, and what an extension may ask.

SEMANTICS.md "Lifetime of an assignment": reminders 14 days and 1 day before the end when
extension is allowed; an extension is asked before the end by the target while still in the
policy's scope, and never passes an explicit end date of the policy.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from entitlements.people import Person
from entitlements.policy import AssignmentPolicy
from entitlements.refusals import Rule
from entitlements.request_checks import latest_end
from entitlements.status import Reminder

REMINDERS = (("14 days", timedelta(days=14)), ("1 day", timedelta(days=1)))


def next_reminder(
    policy: AssignmentPolicy,
    start: datetime,
    end: datetime | None,
    sent: list[Reminder],
) -> tuple[str, datetime] | None:
    """The next reminder due for the current end, or None.

    Only when the user may extend (a reminder that names no way out is noise), and only when
    the assignment is longer than the notice (a 10-day assignment gets no 14-day reminder). A
    reminder missed while the worker was down is still due: it is sent late, not lost.
    """
    if end is None or not policy.requestor_settings.enable_targets_to_self_update_access:
        return None
    already = {(r.before_end, r.for_end) for r in sent}
    due = [
        (name, end - notice)
        for name, notice in REMINDERS
        if end - start > notice and (name, end) not in already
    ]
    return min(due, key=lambda item: item[1]) if due else None


def extension_refusal(
    policy: AssignmentPolicy,
    target: Person,
    by: str,
    now: datetime,
    end: datetime | None,
    requested_end: datetime | None,
) -> tuple[Rule, str] | None:
    """Why this extension cannot be asked, or None."""
    if not policy.requestor_settings.enable_targets_to_self_update_access:
        return Rule.EXTENSION_NOT_ALLOWED, f"policy '{policy.id}' does not allow extensions"
    if not target.matches(by):
        return Rule.NOT_TARGET, f"only {target.key}, who holds this access, may extend it"
    if end is None:
        return Rule.EXTENSION_NOT_ALLOWED, "this access has no end: there is nothing to extend"
    if now >= end:
        return Rule.NOT_PENDING, "the assignment has ended"
    if requested_end is not None and not policy.requestor_settings.allow_custom_assignment_schedule:
        return (
            Rule.CUSTOM_SCHEDULE_NOT_ALLOWED,
            f"policy '{policy.id}' does not let requestors choose the end",
        )
    new_end = extended_end(policy, now, requested_end)
    limit = latest_end(policy, now)
    if new_end is None or new_end <= end:
        reason = f" (policy '{policy.id}' ends access by {limit.isoformat()})" if limit else ""
        return (
            Rule.SCHEDULE_INVALID,
            f"that would not extend the access past {end.isoformat()}{reason}",
        )
    if limit is not None and new_end > limit:
        return (
            Rule.SCHEDULE_INVALID,
            f"the end {new_end.isoformat()} is past what policy '{policy.id}' allows "
            f"({limit.isoformat()})",
        )
    return None


def extended_end(
    policy: AssignmentPolicy, now: datetime, requested_end: datetime | None
) -> datetime | None:
    """The end an extension asks for: the requested one, else a fresh period from now."""
    return requested_end or latest_end(policy, now)
