"""Fault injection: rules that make matching Graph calls slow or fail.

A rule matches a call by method (or any) and a regex searched in the path after /v1.0
(e.g. `/groups/.*/members`). A matching rule first waits `latencyMs`, then, if it has a
`status`, answers with that error instead of handling the call. `count` limits how many
calls a rule affects; a spent rule is dropped. `$batch` sub-requests are matched one by one.
"""

from __future__ import annotations

import re
import threading
import uuid

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import GraphError, fault_error


class FaultRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    method: str | None = None  # None or "*" = any method
    pathRegex: str = ".*"
    status: int | None = Field(default=None, ge=400, le=599)  # None = only add latency
    retryAfterSeconds: int | None = Field(default=None, ge=0)
    latencyMs: int = Field(default=0, ge=0)
    count: int | None = Field(default=None, ge=1)  # None = every matching call
    errorCode: str | None = None
    errorMessage: str | None = None
    hits: int = 0

    @field_validator("pathRegex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        re.compile(value)
        return value

    def matches(self, method: str, path: str) -> bool:
        if self.method not in (None, "*") and self.method.upper() != method.upper():
            return False
        return re.search(self.pathRegex, path) is not None

    def error(self) -> GraphError | None:
        if self.status is None:
            return None
        return fault_error(self.status, self.errorCode, self.errorMessage, self.retryAfterSeconds)


class FaultInjector:
    """The active rules; the first unspent rule that matches a call applies to it."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def take(self, method: str, path: str) -> FaultRule | None:
        """The rule that applies to this call, counted as used."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.hits += 1
                    if rule.count is not None and rule.hits >= rule.count:
                        self._rules.remove(rule)
                    return rule
        return None
