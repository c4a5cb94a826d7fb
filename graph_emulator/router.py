"""Routing of Graph calls, independent of HTTP, so `$batch` sub-requests take the same path.

A route is a method and a path template such as `/groups/{group}/members/{uid}/$ref`;
each segment is matched on its own, so an unknown path can be answered the way Graph does
("Resource not found for the segment 'x'.").
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import GraphError, method_not_allowed, unknown_segment


@dataclass
class GraphRequest:
    method: str
    path: str  # after /v1.0, percent-decoded, e.g. "/users/alice@contoso.example"
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # parsed JSON, or None
    service_root: str = "https://graph.microsoft.com/v1.0"  # for @odata.context and nextLink
    batch_id: str | None = None  # request id of the enclosing $batch, if any
    body_invalid: bool = False  # the payload was not JSON
    page_size: int = 100  # collections are paged like Graph's (100 by default)

    def json_object(self) -> dict:
        if self.body_invalid:
            raise GraphError(
                400,
                "BadRequest",
                "Unable to read JSON request payload. Please ensure Content-Type header is set "
                "and payload is of valid JSON format.",
            )
        if not isinstance(self.body, dict):
            raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
        return self.body


@dataclass
class GraphResponse:
    status: int
    body: Any = None  # JSON-able, or None for no content
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body).encode()


Handler = Callable[..., GraphResponse | Awaitable[GraphResponse]]


@dataclass
class _Route:
    method: str
    segments: list[re.Pattern[str]]
    handler: Handler


def _compile_segment(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[a-zA-Z_]+\})", template)
    regex = "".join(
        f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") and p.endswith("}") else re.escape(p)
        for p in parts
    )
    return re.compile(f"^{regex}$", re.IGNORECASE)


class Router:
    def __init__(self) -> None:
        self._routes: list[_Route] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        segments = [_compile_segment(s) for s in template.strip("/").split("/")]
        self._routes.append(_Route(method.upper(), segments, handler))

    def route(self, method: str, template: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.add(method, template, handler)
            return handler

        return register

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        """The handler and path parameters for a call, or the GraphError Graph would answer."""
        segments = [s for s in path.split("/") if s]
        path_matches = False
        deepest = 0
        for route in self._routes:
            depth, params = 0, {}
            for pattern, segment in zip(route.segments, segments, strict=False):
                m = pattern.match(segment)
                if not m:
                    break
                params.update(m.groupdict())
                depth += 1
            if depth == len(segments) == len(route.segments):
                if route.method == method.upper():
                    return route.handler, params
                path_matches = True
            deepest = max(deepest, depth)
        if path_matches:
            raise method_not_allowed()
        if not segments:
            raise unknown_segment("")
        raise unknown_segment(segments[min(deepest, len(segments) - 1)])
