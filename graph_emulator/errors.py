"""Graph's error answers: one exception type and the `{"error": {...}}` body it becomes.

Messages follow what Microsoft Graph v1.0 answers where we know the wording (the
directory's reference and throttling errors); the few we could not confirm are marked.
"""

from __future__ import annotations

from datetime import UTC, datetime


class GraphError(Exception):
    """An error answer: HTTP status, Graph error code and message, extra headers."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_body(code: str, message: str, request_id: str) -> dict:
    """The JSON body Graph sends with every error."""
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": request_id,
            },
        }
    }


def not_found(resource_id: str) -> GraphError:
    """404 for an object that does not exist (or is soft-deleted)."""
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{resource_id}' does not exist or one of its queried "
        "reference-property objects are not present.",
    )


def bad_request(message: str, code: str = "Request_BadRequest") -> GraphError:
    return GraphError(400, code, message)


def unknown_segment(segment: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")


def method_not_allowed() -> GraphError:
    return GraphError(
        405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."
    )


# Defaults for injected faults, by status. 429/503/504 are the ones Graph documents for
# throttling and transient failures; the others let a test inject any status it likes.
DEFAULT_FAULTS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "The request is malformed or incorrect."),
    401: ("InvalidAuthenticationToken", "Access token is empty."),
    403: ("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    404: ("Request_ResourceNotFound", "The requested resource does not exist."),
    409: ("Request_MultipleObjectsWithSameKeyValue", "Another object with the same value exists."),
    429: ("TooManyRequests", "Too many requests. Please retry again later."),
    500: ("generalException", "An unspecified error has occurred."),
    502: ("BadGateway", "The gateway received an invalid response."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable. Please retry later."),
    504: ("UnknownError", "Gateway timeout: the service did not answer in time."),
}


def fault_error(
    status: int,
    code: str | None = None,
    message: str | None = None,
    retry_after_seconds: float | None = None,
) -> GraphError:
    """The error an injected fault answers with (429 always carries Retry-After)."""
    default_code, default_message = DEFAULT_FAULTS.get(status, ("UnknownError", "Injected fault."))
    headers: dict[str, str] = {}
    if retry_after_seconds is None and status == 429:
        retry_after_seconds = 1
    if retry_after_seconds is not None:
        headers["Retry-After"] = str(int(retry_after_seconds))
    return GraphError(status, code or default_code, message or default_message, headers)
