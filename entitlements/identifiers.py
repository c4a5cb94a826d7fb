"""Names a caller types for a person, a package, a policy or a request, checked before anything
is sent: a control character or a megabyte of text is a mistake or an attack, never a name, and
would otherwise travel into workflow ids, Graph filters, refusals and log lines."""

from __future__ import annotations

import unicodedata

from entitlements.refusals import RequestRefused, Rule

MAX_PERSON_LENGTH = 254  # the longest email address SMTP carries; UPNs and object ids are shorter
MAX_ID_LENGTH = 1000  # Temporal's limit for a workflow id; package, policy and request ids fit


def check_name(what: str, value: str, max_length: int = MAX_ID_LENGTH) -> str:
    """`value` without surrounding blanks, or a refusal naming `what` and the fault."""
    if not isinstance(value, str):
        raise RequestRefused(Rule.TEXT_INVALID, f"{what} must be text, not {type(value).__name__}")
    if len(value) > max_length:
        raise RequestRefused(
            Rule.TEXT_INVALID, f"{what} is {len(value)} characters long; at most {max_length}"
        )
    for character in value:
        if unicodedata.category(character) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            raise RequestRefused(
                Rule.TEXT_INVALID, f"{what} contains the control character U+{ord(character):04X}"
            )
    name = value.strip()
    if not name:
        raise RequestRefused(Rule.TEXT_INVALID, f"{what} is empty")
    return name


def check_person(what: str, value: str) -> str:
    """An email address, user principal name or object id as typed."""
    return check_name(what, value, MAX_PERSON_LENGTH)
