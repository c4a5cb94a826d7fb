"""The worker's log never carries a secret: a field named like one is redacted at any depth,
a bearer token inside text is cut out, an exception's text too; other fields pass untouched."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from activities.log import REDACTED, redact_secrets

SECRET = "s3cr3t-SENTINEL-value"
SECRET_NAMES = st.sampled_from(
    ["client_secret", "AZURE_CLIENT_SECRET", "accessToken", "refresh_token", "Authorization",
     "password", "api_key", "apiKey", "credential", "x-ms-token"]
)  # fmt: skip
PLAIN_NAMES = st.sampled_from(["event", "user", "request_id", "detail", "headers", "items"])
plain_values = st.one_of(st.integers(), st.booleans(), st.text(alphabet="abc xyz-", max_size=12))


def with_secrets() -> st.SearchStrategy:
    """Nested dicts and lists where the secret hides under a secret's name, or as a bearer
    token inside text, at any depth."""
    leaf = st.one_of(
        plain_values,
        st.builds(lambda name: {name: SECRET}, SECRET_NAMES),
        st.just(f"called Graph with Authorization: Bearer {SECRET}"),
    )
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(PLAIN_NAMES, inner, max_size=3),
        ),
        max_leaves=8,
    )


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.one_of(PLAIN_NAMES, SECRET_NAMES), with_secrets(), min_size=1))
def test_a_secret_never_survives_redaction_at_any_depth(event):
    redacted = redact_secrets(None, "info", json.loads(json.dumps(event)))
    assert SECRET not in json.dumps(redacted)


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(PLAIN_NAMES, st.recursive(plain_values, st.lists, max_leaves=5)))
def test_fields_without_secrets_pass_untouched(event):
    assert redact_secrets(None, "info", json.loads(json.dumps(event))) == event


def test_a_named_secret_is_replaced_whatever_its_value():
    event = {"client_secret": {"nested": [1, 2]}, "user": "ann"}
    assert redact_secrets(None, "info", event) == {"client_secret": REDACTED, "user": "ann"}


LOGGING_RUN = textwrap.dedent(
    f"""
    import logging, structlog
    from activities.log import configure_logging
    configure_logging("json")
    secret = {SECRET!r}
    structlog.get_logger("t").info("graph call", headers={{"Authorization": "Bearer " + secret}})
    logging.getLogger("temporalio.workflow").warning(
        "decision refused", extra={{"approver": "dana@contoso.example", "rule": "notAnApprover",
                                    "detail": {{"client_secret": secret}}}})
    try:
        raise RuntimeError("Graph said no to Bearer " + secret)
    except RuntimeError:
        structlog.get_logger("t").exception("graph call failed")
        logging.getLogger("temporalio.activity").exception("activity failed")
    """
)


def test_the_configured_worker_log_redacts_library_lines_and_exceptions_too():
    """Through configure_logging itself, in a process of its own (it configures globally)."""
    run = subprocess.run(
        [sys.executable, "-c", LOGGING_RUN],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
    )
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stderr.splitlines()]
    assert SECRET not in run.stderr
    assert [line["event"] for line in lines] == [
        "graph call",
        "decision refused",
        "graph call failed",
        "activity failed",
    ]
    # what a library or a workflow passes as `extra` is in the line, for an operator to read
    assert (lines[1]["approver"], lines[1]["rule"]) == ("dana@contoso.example", "notAnApprover")
    assert "RuntimeError: Graph said no to Bearer [redacted]" in lines[3]["exception"]
