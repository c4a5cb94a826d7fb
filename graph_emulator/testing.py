"""A small client for the emulator-only endpoints (/_emulator/...), for tests and scripts.

    control = EmulatorControl("http://127.0.0.1:8900")   # or EmulatorServer().control
    control.add_fault(method="POST", pathRegex="/members/\\$ref", status=429,
                      retryAfterSeconds=2, count=1)
    control.outbox(to="alice@contoso.example")

Calls are synchronous (httpx.Client) and short; from async tests they block the loop for a
moment only, which is fine while the emulator runs in its own thread or process.
"""

from __future__ import annotations

from typing import Any

import httpx


class EmulatorControl:
    def __init__(self, root_url: str, timeout: float = 10.0) -> None:
        self.root_url = root_url.rstrip("/").removesuffix("/v1.0")
        self._http = httpx.Client(base_url=f"{self.root_url}/_emulator", timeout=timeout)

    def _ok(self, response: httpx.Response) -> httpx.Response:
        response.raise_for_status()
        return response

    def health(self) -> dict:
        return self._ok(self._http.get("/health")).json()

    def reset(self) -> None:
        """Reseed from the tenant file; clears outbox, fault rules and call log."""
        self._ok(self._http.post("/reset"))

    def state(self) -> dict:
        return self._ok(self._http.get("/state")).json()

    def add_fault(self, **rule: Any) -> dict:
        """Fields: method, pathRegex, status, retryAfterSeconds, latencyMs, count,
        errorCode, errorMessage (see graph_emulator.faults.FaultRule)."""
        return self._ok(self._http.post("/faults", json=rule)).json()

    def faults(self) -> list[dict]:
        return self._ok(self._http.get("/faults")).json()["value"]

    def clear_faults(self) -> None:
        self._ok(self._http.delete("/faults"))

    def outbox(self, to: str | None = None, kind: str | None = None) -> list[dict]:
        params = {k: v for k, v in (("to", to), ("kind", kind)) if v}
        return self._ok(self._http.get("/outbox", params=params)).json()["value"]

    def clear_outbox(self) -> None:
        self._ok(self._http.delete("/outbox"))

    def log(self, method: str | None = None, path_regex: str | None = None) -> list[dict]:
        params = {k: v for k, v in (("method", method), ("pathRegex", path_regex)) if v}
        return self._ok(self._http.get("/log", params=params)).json()["value"]

    def clear_log(self) -> None:
        self._ok(self._http.delete("/log"))

    def settings(self, **changes: Any) -> dict:
        """Read, or change, latencyMs (every Graph call), pageSize (collections) and
        throttleLimit / throttleWindowMs (429 past that many calls in the window)."""
        if not changes:
            return self._ok(self._http.get("/settings")).json()
        return self._ok(self._http.patch("/settings", json=changes)).json()

    def set_b2b_policy(
        self, blocked_domains: list[str] | None = None, allowed_domains: list[str] | None = None
    ) -> dict:
        body = {"blockedDomains": blocked_domains or [], "allowedDomains": allowed_domains or []}
        return self._ok(self._http.put("/b2b-policy", json=body)).json()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EmulatorControl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
