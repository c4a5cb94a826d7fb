"""graph_errors: classifying Graph failures for Temporal (unit level, no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
from msgraph.generated.models.o_data_errors.main_error import MainError
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

from activities.graph_errors import (
    is_already_exists,
    is_not_found,
    parse_retry_after,
    to_application_error,
)


def odata(status: int, code: str, message: str, headers: dict | None = None) -> ODataError:
    error = ODataError(error=MainError(code=code, message=message))
    error.response_status_code = status
    error.response_headers = httpx.Headers(headers or {})
    return error


def test_retry_after_seconds_and_http_date():
    assert parse_retry_after("12") == timedelta(seconds=12)
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert timedelta(seconds=25) < parse_retry_after(later) <= timedelta(seconds=30)


def test_idempotency_predicates():
    duplicate = odata(
        400,
        "Request_BadRequest",
        "One or more added object references already exist for the following modified "
        "properties: 'members'.",
    )
    assert is_already_exists(duplicate) and not is_not_found(duplicate)
    gone = odata(
        400,
        "Request_BadRequest",
        "One or more removed object references do not exist for the following modified "
        "properties: 'members'.",
    )
    assert is_not_found(gone) and not is_already_exists(gone)
    assert is_not_found(odata(404, "Request_ResourceNotFound", "Resource 'x' does not exist"))
    assert not is_not_found(ValueError("404"))


def test_classification():
    throttled = to_application_error(
        odata(429, "TooManyRequests", "Please retry again later.", {"Retry-After": "4"}), "op"
    )
    assert throttled.type == "GraphThrottled" and not throttled.non_retryable
    assert throttled.next_retry_delay == timedelta(seconds=4)
    assert throttled.message == "op: TooManyRequests: Please retry again later."

    unavailable = to_application_error(odata(502, "BadGateway", "bad gateway"))
    assert unavailable.type == "GraphUnavailable" and not unavailable.non_retryable

    denied = to_application_error(
        odata(403, "Authorization_RequestDenied", "Insufficient privileges.")
    )
    assert denied.non_retryable and denied.type == "GraphError:Authorization_RequestDenied"
    assert denied.details == (
        {
            "status": 403,
            "code": "Authorization_RequestDenied",
            "message": "Insufficient privileges.",
        },
    )

    timeout = to_application_error(httpx.ReadTimeout("timed out"))
    assert timeout.type == "GraphConnectionError" and not timeout.non_retryable
    assert to_application_error(KeyError("x")) is None
