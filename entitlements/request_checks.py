"""Checks on what a requestor typed: answers, justification, the schedule they asked for."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from entitlements.policy import AssignmentPolicy, ExpirationType, QuestionType
from entitlements.refusals import RequestRefused, Rule

MAX_TEXT_LENGTH = 2000  # a justification or an answer; longer is not a justification


def check_text(what: str, value: str | None) -> str | None:
    """Free text shown to approvers and written to audit logs: bounded, no control characters."""
    if value is None:
        return None
    # Browsers submit a textarea with CRLF line ends: that is a line break, not a control code.
    value = value.replace("\r\n", "\n")
    if len(value) > MAX_TEXT_LENGTH:
        raise RequestRefused(
            Rule.TEXT_INVALID, f"{what} is {len(value)} characters long; at most {MAX_TEXT_LENGTH}"
        )
    for character in value:
        if character not in "\n\t" and unicodedata.category(character) in ("Cc", "Cf", "Cs"):
            raise RequestRefused(
                Rule.TEXT_INVALID,
                f"{what} contains the control character U+{ord(character):04X}",
            )
    return value.strip() or None


def check_justification(policy: AssignmentPolicy, justification: str | None) -> str | None:
    justification = check_text("the justification", justification)
    if policy.request_approval_settings.is_requestor_justification_required and not justification:
        raise RequestRefused(
            Rule.JUSTIFICATION_REQUIRED,
            f"policy '{policy.id}' requires a justification from the requestor",
        )
    return justification


def check_answers(policy: AssignmentPolicy, answers: dict[str, str]) -> dict[str, str]:
    """Every required question answered, every answer valid; unknown question ids refused."""
    known = {q.id: q for q in policy.questions}
    for question_id in answers:
        if question_id not in known:
            raise RequestRefused(
                Rule.ANSWER_INVALID,
                f"policy '{policy.id}' has no question '{question_id}'"
                + (f" (its questions: {', '.join(known)})" if known else ""),
            )
    checked: dict[str, str] = {}
    for question in policy.questions:
        answer = check_text(f"the answer to '{question.id}'", answers.get(question.id))
        if answer is None:
            if question.is_required:
                raise RequestRefused(
                    Rule.QUESTION_UNANSWERED,
                    f"the question '{question.id}' ({question.text}) requires an answer",
                )
            continue
        if question.type == QuestionType.MULTIPLE_CHOICE:
            values = [c.value for c in question.choices]
            if answer not in values:
                raise RequestRefused(
                    Rule.ANSWER_INVALID,
                    f"'{answer}' is not a choice of '{question.id}' (choose one of: "
                    f"{', '.join(values)})",
                )
        elif question.regex_pattern and not re.fullmatch(question.regex_pattern, answer):
            raise RequestRefused(
                Rule.ANSWER_INVALID,
                f"the answer to '{question.id}' does not match {question.regex_pattern}",
            )
        checked[question.id] = answer
    return checked


def latest_end(policy: AssignmentPolicy, start: datetime) -> datetime | None:
    """The latest end the policy allows for access starting at `start` (None: no limit)."""
    expiration = policy.expiration
    if expiration.type == ExpirationType.AFTER_DURATION and expiration.duration:
        by_duration = start + expiration.duration
        return min(by_duration, expiration.hard_end) if expiration.hard_end else by_duration
    if expiration.type == ExpirationType.AFTER_DATE_TIME:
        return expiration.end_date_time
    return None


def check_schedule(
    policy: AssignmentPolicy,
    now: datetime,
    start: datetime | None,
    end: datetime | None,
    *,
    chosen_by_administrator: bool = False,
) -> tuple[datetime | None, datetime | None]:
    """The (start, end) a request asks for, checked against the policy; None start = at once.

    A requestor may choose only with `allowCustomAssignmentSchedule`; an administrator may pick
    an end within the policy. Neither may pass the policy's own limit.
    """
    if (start or end) and not chosen_by_administrator:
        if not policy.requestor_settings.allow_custom_assignment_schedule:
            raise RequestRefused(
                Rule.CUSTOM_SCHEDULE_NOT_ALLOWED,
                f"policy '{policy.id}' does not allow requestors to choose a start or end",
            )
    if start is not None and start <= now:
        start = None  # a start in the past means now
    begins = start or now
    if end is not None:
        if end <= begins:
            raise RequestRefused(
                Rule.SCHEDULE_INVALID, f"the end {end.isoformat()} is not after the start"
            )
        limit = latest_end(policy, begins)
        if limit is not None and end > limit:
            raise RequestRefused(
                Rule.SCHEDULE_INVALID,
                f"the end {end.isoformat()} is past what policy '{policy.id}' allows "
                f"({limit.isoformat()})",
            )
    if end is None:
        # Also without a chosen start: a policy whose end date has passed can grant nothing.
        limit = latest_end(policy, begins)
        if limit is not None and limit <= begins:
            when = "before the start" if start is not None else "which has passed"
            raise RequestRefused(
                Rule.SCHEDULE_INVALID,
                f"policy '{policy.id}' ends access on {limit.isoformat()}, {when}",
            )
    return start, end


def assignment_end(policy: AssignmentPolicy, start: datetime, requested_end: datetime | None):
    """When access that starts at `start` ends: the requested end, else the policy's."""
    return requested_end or latest_end(policy, start)
