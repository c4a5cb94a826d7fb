"""structlog for the worker: JSON lines when not on a terminal, readable lines on one.

Every activity's lines carry the workflow's request id, package and user (bound by the
interceptor below from the workflow id), and no line ever carries a secret.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog
from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

SECRET_KEYS = re.compile(r"secret|token|password|authorization|api_?key|credential", re.I)
BEARER = re.compile(r"\b(bearer\s+)[\w.~+/-]+=*", re.I)  # an access token quoted in text
REDACTED = "[redacted]"


def _redacted(value: Any) -> Any:
    """Secrets at any depth: a field named like one, or a bearer token inside text."""
    if isinstance(value, dict):
        return {
            key: REDACTED if isinstance(key, str) and SECRET_KEYS.search(key) else _redacted(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_redacted(item) for item in value)
    if isinstance(value, str):
        return BEARER.sub(rf"\g<1>{REDACTED}", value)
    return value


def redact_secrets(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in list(event):
        if key == "_record":  # the standard library's record, read by the formatter only
            continue
        event[key] = REDACTED if SECRET_KEYS.search(key) else _redacted(event[key])
    return event


def configure_logging(log_format: str | None = None, level: str = "INFO") -> None:
    """`log_format` json or console; by default console on a terminal, json elsewhere."""
    as_json = (log_format or ("console" if sys.stderr.isatty() else "json")) == "json"
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # Redaction last before rendering, so it also sees the text of a formatted exception.
    finish = [structlog.processors.format_exc_info, redact_secrets]
    renderer = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, *finish, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    # The Temporal SDK and libraries log through the standard library: same format, same place.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            # `extra=` fields (the workflows' audit events, who sent a refused decision)
            # belong in the line too.
            foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *finish,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "azure", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def context_of_workflow_id(workflow_id: str) -> dict[str, str]:
    """`access:{package}:{user}` names a request; `user:{id}` a user's access workflow."""
    kind, _, rest = workflow_id.partition(":")
    if kind == "access" and ":" in rest:
        package, _, user = rest.partition(":")
        return {"request_id": workflow_id, "package": package, "user": user}
    if kind == "user":
        return {"user": rest}
    return {}


class _BindActivityContext(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        with structlog.contextvars.bound_contextvars(
            workflow_id=info.workflow_id,
            activity=info.activity_type,
            attempt=info.attempt,
            **context_of_workflow_id(info.workflow_id or ""),
        ):
            return await self.next.execute_activity(input)


class LogContextInterceptor(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _BindActivityContext(next)
