"""Turning Graph failures into Temporal errors.

- 429 and 5xx: retryable `ApplicationError` ("GraphThrottled" / "GraphUnavailable"); when Graph
  sends Retry-After, `next_retry_delay` is exactly that, so Temporal waits as Graph asked.
- Connection failures, timeouts and token acquisition failures: retryable.
- Any other 4xx: non-retryable, type "GraphError:<code>", message "<code>: <message>",
  details `[{"status", "code", "message", "requestId"}]` for the workflow to show.

The idempotency rules of SEMANTICS.md ("already exist" on add, "not found" on remove) are
answered by `is_already_exists` and `is_not_found`, used by the activities before this.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from kiota_abstractions.api_error import APIError
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from temporalio.exceptions import ApplicationError

THROTTLED = "GraphThrottled"
UNAVAILABLE = "GraphUnavailable"
CONNECTION = "GraphConnectionError"
AUTHENTICATION = "GraphAuthenticationError"
PERMANENT_PREFIX = "GraphError:"


@dataclass(frozen=True)
class GraphFailure:
    """Status, Graph error code and message of a failed call."""

    status: int | None
    code: str
    message: str
    request_id: str | None = None
    retry_after: timedelta | None = None

    def details(self) -> dict:
        out: dict = {"status": self.status, "code": self.code, "message": self.message}
        if self.request_id:
            out["requestId"] = self.request_id
        if self.retry_after is not None:
            out["retryAfterSeconds"] = self.retry_after.total_seconds()
        return out


def _header(headers: object, name: str) -> str | None:
    if headers is None:
        return None
    if isinstance(headers, httpx.Headers):
        return headers.get(name)
    if isinstance(headers, dict):
        for key, value in headers.items():
            if str(key).lower() == name.lower():
                return ", ".join(value) if isinstance(value, list | tuple | set) else str(value)
    return None


def parse_retry_after(value: str | None) -> timedelta | None:
    """Retry-After as seconds ("5") or an HTTP date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return timedelta(seconds=max(0.0, float(value)))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(timedelta(0), when - datetime.now(UTC))


def graph_failure(exc: BaseException) -> GraphFailure | None:
    """What Graph answered, for an ODataError / APIError; None for other exceptions."""
    if not isinstance(exc, APIError):
        return None
    code, message, request_id = "", "", None
    if isinstance(exc, ODataError) and exc.error is not None:
        code = exc.error.code or ""
        message = exc.error.message or ""
        if exc.error.inner_error is not None:
            request_id = exc.error.inner_error.request_id
    if not message:
        message = exc.message or str(exc)
    headers = exc.response_headers
    request_id = request_id or _header(headers, "request-id")
    status = exc.response_status_code
    return GraphFailure(
        status=status,
        code=code or (f"HTTP{status}" if status else "UnknownError"),
        message=message,
        request_id=request_id,
        retry_after=parse_retry_after(_header(headers, "Retry-After")),
    )


def is_already_exists(exc: BaseException) -> bool:
    """Graph's 400 for adding what is already there (member, owner, app role)."""
    failure = graph_failure(exc)
    return bool(failure and failure.status == 400 and "already exist" in failure.message.lower())


def is_not_found(exc: BaseException) -> bool:
    """404, or the 400 "...removed object references do not exist..." of a remove."""
    failure = graph_failure(exc)
    if failure is None:
        return False
    if failure.status == 404:
        return True
    return failure.status == 400 and "do not exist" in failure.message.lower()


def _is_connection_error(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError | asyncio.TimeoutError | ConnectionError):
        return True
    try:
        from azure.core.exceptions import ServiceRequestError, ServiceResponseError
    except ImportError:  # pragma: no cover - azure-core is a dependency
        return False
    return isinstance(exc, ServiceRequestError | ServiceResponseError)


def _is_authentication_error(exc: BaseException) -> bool:
    try:
        from azure.core.exceptions import ClientAuthenticationError
        from azure.identity import CredentialUnavailableError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, ClientAuthenticationError | CredentialUnavailableError)


def to_application_error(exc: BaseException, operation: str = "") -> ApplicationError | None:
    """The Temporal error for a failed Graph call, or None when `exc` is not a Graph failure."""
    where = f"{operation}: " if operation else ""
    failure = graph_failure(exc)
    if failure is not None:
        status = failure.status or 0
        text = f"{where}{failure.code}: {failure.message}"
        if status == 429 or status >= 500:
            return ApplicationError(
                text,
                failure.details(),
                type=THROTTLED if status == 429 else UNAVAILABLE,
                next_retry_delay=failure.retry_after,
            )
        return ApplicationError(
            text,
            failure.details(),
            type=f"{PERMANENT_PREFIX}{failure.code}",
            non_retryable=True,
        )
    if _is_connection_error(exc):
        return ApplicationError(
            f"{where}cannot reach Microsoft Graph: {type(exc).__name__}: {exc}",
            {"status": None, "code": type(exc).__name__, "message": str(exc)},
            type=CONNECTION,
        )
    if _is_authentication_error(exc):
        return ApplicationError(
            f"{where}cannot get a Graph token: {type(exc).__name__}: {exc}",
            {"status": None, "code": type(exc).__name__, "message": str(exc)},
            type=AUTHENTICATION,
        )
    return None
