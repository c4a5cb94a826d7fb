"""What a requestor typed, checked against the policy before anything starts: answers,
justification, free text, and the schedule they asked for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from entitlements.policy import AssignmentPolicy
from entitlements.refusals import RequestRefused, Rule
from entitlements.request_checks import (
    MAX_TEXT_LENGTH,
    assignment_end,
    check_answers,
    check_justification,
    check_schedule,
    check_text,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
POLICY_END = datetime(2027, 6, 30, tzinfo=UTC)
COST_CENTER = {
    "id": "cost-center",
    "text": "Cost center",
    "isRequired": True,
    "regexPattern": "^CC-[0-9]{4}$",
}
REGION = {
    "id": "region",
    "type": "multipleChoice",
    "text": "Region",
    "isRequired": True,
    "choices": [{"value": "emea"}, {"value": "amer", "displayName": "Americas"}],
}
NOTE = {"id": "note", "text": "Anything else?"}


def policy(**fields) -> AssignmentPolicy:
    return AssignmentPolicy.model_validate(
        {"id": "employees", "displayName": "Employees", "allowedTargetScope": "allMemberUsers"}
        | fields
    )


def refused(check, *args, **kwargs) -> RequestRefused:
    with pytest.raises(RequestRefused) as refusal:
        check(*args, **kwargs)
    return refusal.value


# ---- free text ------------------------------------------------------------------------------


def test_text_is_trimmed_and_blank_is_none():
    assert check_text("the justification", "  quarter close \n") == "quarter close"
    assert check_text("the justification", " \t\n ") is None
    assert check_text("the justification", None) is None


def test_line_breaks_and_tabs_are_kept_and_windows_line_ends_are_accepted():
    assert check_text("the justification", "line one\n\tline two") == "line one\n\tline two"
    # a browser submits a textarea with CRLF line ends: the same text, not an attack
    assert check_text("the justification", "line one\r\nline two") == "line one\nline two"


@pytest.mark.parametrize(
    ("text", "code_point"),
    [
        ("ok\x00", "U+0000"),
        ("\x1b[2Jcleared", "U+001B"),  # terminal escape in an audit log
        ("approved\rdenied", "U+000D"),  # a lone carriage return overwrites the line
        ("invoice\u202egpj.exe", "U+202E"),  # right-to-left override hides the real text
        ("zero\u200bwidth", "U+200B"),
    ],
)
def test_control_and_invisible_characters_are_refused_naming_them(text, code_point):
    refusal = refused(check_text, "the justification", text)
    assert refusal.rule == Rule.TEXT_INVALID
    assert code_point in refusal.message
    assert "the justification" in refusal.message


def test_text_longer_than_the_limit_is_refused():
    assert check_text("the answer to 'note'", "x" * MAX_TEXT_LENGTH) == "x" * MAX_TEXT_LENGTH
    refusal = refused(check_text, "the answer to 'note'", "x" * (MAX_TEXT_LENGTH + 1))
    assert refusal.rule == Rule.TEXT_INVALID
    assert f"{MAX_TEXT_LENGTH + 1} characters" in refusal.message
    assert "the answer to 'note'" in refusal.message


def test_unicode_text_is_welcome():
    assert check_text("the justification", "Überprüfung für Zoë — 決算") is not None


# ---- justification --------------------------------------------------------------------------


def test_a_required_justification_must_be_given():
    strict = policy(requestApprovalSettings={"isRequestorJustificationRequired": True})
    for missing in (None, "", "   "):
        refusal = refused(check_justification, strict, missing)
        assert refusal.rule == Rule.JUSTIFICATION_REQUIRED
        assert "'employees'" in refusal.message
    assert check_justification(strict, " month end ") == "month end"


def test_an_optional_justification_may_be_left_out_but_is_still_checked():
    assert check_justification(policy(), None) is None
    assert refused(check_justification, policy(), "bad\x07").rule == Rule.TEXT_INVALID


# ---- questions ------------------------------------------------------------------------------

ASKS = policy(questions=[COST_CENTER, REGION, NOTE])


def test_valid_answers_are_kept_and_optional_blanks_dropped():
    answers = {"cost-center": " CC-1234 ", "region": "amer", "note": "  "}
    assert check_answers(ASKS, answers) == {"cost-center": "CC-1234", "region": "amer"}


@pytest.mark.parametrize("answer", [None, "", "   "])
def test_a_required_question_left_unanswered_is_refused_naming_it(answer):
    answers = {"region": "emea"} | ({} if answer is None else {"cost-center": answer})
    refusal = refused(check_answers, ASKS, answers)
    assert refusal.rule == Rule.QUESTION_UNANSWERED
    assert "'cost-center'" in refusal.message
    assert "Cost center" in refusal.message


@pytest.mark.parametrize("answer", ["CC-12", "CC-12345", "xCC-1234", "cc-1234", "CC-1234\nCC-9"])
def test_an_answer_must_match_the_whole_pattern(answer):
    refusal = refused(check_answers, ASKS, {"cost-center": answer, "region": "emea"})
    assert refusal.rule == Rule.ANSWER_INVALID
    assert "'cost-center'" in refusal.message
    assert "^CC-[0-9]{4}$" in refusal.message


def test_a_multiple_choice_answer_must_be_one_of_the_choices():
    refusal = refused(check_answers, ASKS, {"cost-center": "CC-1234", "region": "Americas"})
    assert refusal.rule == Rule.ANSWER_INVALID
    assert "'region'" in refusal.message
    assert "emea, amer" in refusal.message


def test_an_answer_to_a_question_the_policy_does_not_ask_is_refused():
    answers = {"cost-center": "CC-1234", "region": "emea", "costcenter": "CC-1234"}
    refusal = refused(check_answers, ASKS, answers)
    assert refusal.rule == Rule.ANSWER_INVALID
    assert "'costcenter'" in refusal.message
    assert "cost-center, region, note" in refusal.message
    assert refused(check_answers, policy(), {"anything": "x"}).rule == Rule.ANSWER_INVALID


def test_answers_are_free_text_checked_too():
    refusal = refused(check_answers, ASKS, {"cost-center": "CC-1234\x00", "region": "emea"})
    assert refusal.rule == Rule.TEXT_INVALID
    assert "'cost-center'" in refusal.message
    too_long = {"cost-center": "CC-1234", "region": "emea", "note": "x" * 5000}
    assert refused(check_answers, ASKS, too_long).rule == Rule.TEXT_INVALID


# ---- schedule -------------------------------------------------------------------------------

P90D = {"type": "afterDuration", "duration": "P90D"}
UNTIL_JUNE = {"type": "afterDateTime", "endDateTime": POLICY_END.isoformat()}
CUSTOM = {"allowCustomAssignmentSchedule": True}


def test_no_schedule_asked_means_at_once_with_the_policy_end():
    assert check_schedule(policy(expiration=P90D), NOW, None, None) == (None, None)
    assert assignment_end(policy(expiration=P90D), NOW, None) == NOW + timedelta(days=90)
    assert assignment_end(policy(expiration=UNTIL_JUNE), NOW, None) == POLICY_END
    assert assignment_end(policy(), NOW, None) is None  # noExpiration


@pytest.mark.parametrize(
    ("start", "end"), [(NOW + timedelta(days=1), None), (None, NOW + timedelta(days=1))]
)
def test_a_custom_start_or_end_needs_a_policy_that_allows_it(start, end):
    refusal = refused(check_schedule, policy(expiration=P90D), NOW, start, end)
    assert refusal.rule == Rule.CUSTOM_SCHEDULE_NOT_ALLOWED
    assert "'employees'" in refusal.message


def test_a_custom_schedule_within_the_limit_is_kept():
    allowed = policy(expiration=P90D, requestorSettings=CUSTOM)
    start, end = NOW + timedelta(days=10), NOW + timedelta(days=40)
    assert check_schedule(allowed, NOW, start, end) == (start, end)
    assert assignment_end(allowed, start, end) == end


def test_an_end_past_the_duration_limit_is_refused_naming_the_limit():
    allowed = policy(expiration=P90D, requestorSettings=CUSTOM)
    refusal = refused(check_schedule, allowed, NOW, None, NOW + timedelta(days=90, seconds=1))
    assert refusal.rule == Rule.SCHEDULE_INVALID
    assert "'employees'" in refusal.message
    assert (NOW + timedelta(days=90)).isoformat() in refusal.message
    assert check_schedule(allowed, NOW, None, NOW + timedelta(days=90)) == (
        None,
        NOW + timedelta(days=90),
    )


def test_the_duration_limit_counts_from_a_future_start():
    allowed = policy(expiration=P90D, requestorSettings=CUSTOM)
    start = NOW + timedelta(days=30)
    assert check_schedule(allowed, NOW, start, start + timedelta(days=90))[1] is not None
    late = refused(check_schedule, allowed, NOW, start, start + timedelta(days=91))
    assert late.rule == Rule.SCHEDULE_INVALID


def test_an_end_not_after_the_start_is_refused():
    allowed = policy(expiration=P90D, requestorSettings=CUSTOM)
    start = NOW + timedelta(days=5)
    assert refused(check_schedule, allowed, NOW, start, start).rule == Rule.SCHEDULE_INVALID
    before_now = refused(check_schedule, allowed, NOW, None, NOW - timedelta(hours=1))
    assert before_now.rule == Rule.SCHEDULE_INVALID


def test_a_start_in_the_past_means_now_and_the_limit_counts_from_now():
    allowed = policy(expiration=P90D, requestorSettings=CUSTOM)
    yesterday = NOW - timedelta(days=1)
    assert check_schedule(allowed, NOW, yesterday, None) == (None, None)
    # 90 days from yesterday is not "90 days of access": the limit starts now
    assert check_schedule(allowed, NOW, yesterday, NOW + timedelta(days=90))[0] is None
    too_long = refused(check_schedule, allowed, NOW, yesterday, NOW + timedelta(days=91))
    assert too_long.rule == Rule.SCHEDULE_INVALID


def test_a_policy_end_date_bounds_every_end_and_start():
    dated = policy(expiration=UNTIL_JUNE, requestorSettings=CUSTOM)
    assert check_schedule(dated, NOW, None, POLICY_END) == (None, POLICY_END)
    past_end = refused(check_schedule, dated, NOW, None, POLICY_END + timedelta(seconds=1))
    assert past_end.rule == Rule.SCHEDULE_INVALID
    assert POLICY_END.isoformat() in past_end.message
    after = POLICY_END + timedelta(days=1)
    starts_after = refused(check_schedule, dated, NOW, after, None)
    assert starts_after.rule == Rule.SCHEDULE_INVALID
    assert POLICY_END.isoformat() in starts_after.message


def test_a_policy_whose_end_date_has_passed_grants_nothing():
    expired = policy(expiration={"type": "afterDateTime", "endDateTime": "2026-01-01T00:00:00Z"})
    refusal = refused(check_schedule, expired, NOW, None, None)
    assert refusal.rule == Rule.SCHEDULE_INVALID
    assert "'employees'" in refusal.message
    assert "2026-01-01" in refusal.message
    admin = refused(check_schedule, expired, NOW, None, None, chosen_by_administrator=True)
    assert admin.rule == Rule.SCHEDULE_INVALID


def test_without_expiration_any_later_end_is_allowed():
    open_ended = policy(requestorSettings=CUSTOM)
    far = NOW + timedelta(days=3650)
    assert check_schedule(open_ended, NOW, None, far) == (None, far)


def test_an_administrator_may_choose_an_end_but_not_past_the_policy():
    no_custom = policy(expiration=UNTIL_JUNE)
    end = NOW + timedelta(days=7)
    assert check_schedule(no_custom, NOW, None, end, chosen_by_administrator=True) == (None, end)
    refusal = refused(
        check_schedule,
        no_custom,
        NOW,
        None,
        POLICY_END + timedelta(days=1),
        chosen_by_administrator=True,
    )
    assert refusal.rule == Rule.SCHEDULE_INVALID
