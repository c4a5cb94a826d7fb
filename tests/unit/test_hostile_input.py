"""Hostile names and text are refused by the client before anything is sent: no Temporal call,
no workflow, no directory lookup; the refusal names the field and what is wrong with it."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entitlements.identifiers import MAX_PERSON_LENGTH, check_name, check_person
from entitlements.refusals import RequestRefused, Rule
from starter.client import AccessClient, request_query
from tests.hostile import control_characters, hostile_request_id, hostile_text

QUICK = settings(max_examples=50, deadline=None)
PRINTABLE = st.text(st.characters(categories=["L", "N", "P", "S", "Zs"]), max_size=30)


class NothingMayBeSent:
    """Stands in for the Temporal client: any use of it fails the test."""

    def __getattr__(self, name: str):
        raise AssertionError(f"the client used Temporal ({name}) for input it should refuse")


ACCESS = AccessClient(NothingMayBeSent(), "unused")  # type: ignore[arg-type]
REQUEST = "access:sales-team:erin@contoso.example"


def refusal(call) -> RequestRefused:
    with pytest.raises(RequestRefused) as refused:
        call()
    return refused.value


async def async_refusal(call) -> RequestRefused:
    with pytest.raises(RequestRefused) as refused:
        await call()
    return refused.value


# ---- names -----------------------------------------------------------------------------------


@QUICK
@given(PRINTABLE, control_characters, PRINTABLE)
def test_a_name_with_a_control_character_is_refused_naming_field_and_character(before, bad, after):
    refused = refusal(lambda: check_name("the package id", before + bad + after))
    assert refused.rule == Rule.TEXT_INVALID
    assert refused.message == f"the package id contains the control character U+{ord(bad):04X}"


@pytest.mark.parametrize("separator", ["\u2028", "\u2029"])
def test_a_line_or_paragraph_separator_is_no_part_of_a_name(separator):
    refused = refusal(lambda: check_person("the approver", f"carol@contoso.example{separator}"))
    assert refused.message == f"the approver contains the control character U+{ord(separator):04X}"


@QUICK
@given(st.integers(MAX_PERSON_LENGTH + 1, 100_000))
def test_an_oversized_person_is_refused_naming_its_length(length):
    refused = refusal(lambda: check_person("the target", "a" * (length - 12) + "@contoso.com"))
    assert refused.message == (
        f"the target is {length} characters long; at most {MAX_PERSON_LENGTH}"
    )


@pytest.mark.parametrize("blank", ["", " ", "   "])
def test_a_blank_name_is_refused(blank):
    assert refusal(lambda: check_person("the approver", blank)).message == "the approver is empty"


@QUICK
@given(st.from_regex(r"[a-z][a-z0-9.\-]{0,30}@[a-z]{1,20}\.example", fullmatch=True))
def test_ordinary_addresses_pass_trimmed(address):
    assert check_person("the target", f"  {address} ") == address


# ---- the client refuses before sending ----------------------------------------------------


def client_calls(value: str) -> dict[str, object]:
    """Every client call, with `value` where a person is expected."""
    return {
        "the target": lambda: ACCESS.request_access("sales-team", value),
        "the requestor": lambda: ACCESS.request_access("sales-team", "erin@contoso.example",
                                                       requestor=value),
        "the administrator": lambda: ACCESS.assign("finance-write", "erin@contoso.example",
                                                   admin=value),
        "the approver": lambda: ACCESS.approve(REQUEST, value),
        "who cancels": lambda: ACCESS.cancel(REQUEST, value),
        "who removes": lambda: ACCESS.remove(REQUEST, value),
        "who extends": lambda: ACCESS.extend(REQUEST, value),
    }  # fmt: skip


def text_calls(text: str) -> dict[str, object]:
    """Every client call with free text, with `text` in it."""
    return {
        "the justification": [
            lambda: ACCESS.request_access("sales-team", "erin@contoso.example",
                                          justification=text),
            lambda: ACCESS.assign("finance-write", "erin@contoso.example",
                                  admin="admin@contoso.example", justification=text),
            lambda: ACCESS.approve(REQUEST, "carol@contoso.example", text),
            lambda: ACCESS.deny(REQUEST, "carol@contoso.example", text),
            lambda: ACCESS.extend(REQUEST, "erin@contoso.example", justification=text),
        ],
        "the reason": [lambda: ACCESS.remove(REQUEST, "admin@contoso.example", text)],
        "the answer to 'cost-center'": [
            lambda: ACCESS.request_access("finance-reports", "alice@contoso.example",
                                          answers={"cost-center": text}),
        ],
    }  # fmt: skip


@QUICK
@given(st.text(max_size=20), control_characters, st.text(max_size=20))
async def test_people_with_control_characters_are_refused_before_anything_is_sent(
    before, bad, after
):
    for field, call in client_calls(before + bad + after).items():
        refused = await async_refusal(call)
        assert refused.rule == Rule.TEXT_INVALID
        assert refused.message.startswith(f"{field} contains the control character"), field


@QUICK
@given(hostile_text)
async def test_hostile_text_is_refused_before_anything_is_sent(text):
    for field, calls in text_calls(text).items():
        for call in calls:
            refused = await async_refusal(call)
            assert refused.rule == Rule.TEXT_INVALID
            assert refused.message.startswith(field), refused.message


def _refusable_unseen(request_id: str) -> bool:
    """Not even shaped like a request id: the client need not ask Temporal about it."""
    return (
        not request_id.strip().startswith("access:")
        or len(request_id) > 1000
        or any(unicodedata.category(c) in ("Cc", "Cf") for c in request_id)
    )


@QUICK
@given(hostile_request_id.filter(_refusable_unseen))
async def test_a_request_id_that_names_no_request_is_refused_before_anything_is_sent(request_id):
    for call in (
        lambda: ACCESS.status(request_id),
        lambda: ACCESS.audit(request_id),
        lambda: ACCESS.approve(request_id, "carol@contoso.example"),
        lambda: ACCESS.remove(request_id, "admin@contoso.example"),
        lambda: ACCESS.reprocess(request_id),
    ):
        refused = await async_refusal(call)
        assert refused.rule in (Rule.NOT_FOUND, Rule.TEXT_INVALID)
        if refused.rule == Rule.TEXT_INVALID:
            assert refused.message.startswith("the request id")
        else:
            assert refused.message.startswith(f"no request '{request_id.strip()}'")


@QUICK
@given(
    PRINTABLE,
    st.sampled_from("'\\\x00\r\n\x1b"),
    PRINTABLE,
    st.sampled_from(["package", "user", "state", "approver"]),
)
def test_a_visibility_filter_cannot_be_escaped(before, bad, after, field):
    """`list --user "x' OR WorkflowType != '"` would otherwise list everything."""
    refused = refusal(lambda: request_query(**{field: f"a{before}{bad}{after}z"}))
    assert refused.rule == Rule.TEXT_INVALID
    assert refused.message.startswith("a filter value")
