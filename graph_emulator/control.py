"""Emulator-only endpoints under /_emulator/ (not part of Graph): outbox, faults, call log,
reset, state dump, settings (latency, page size, throttling) and the tenant's B2B domain
policy."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .emulator import Emulator
from .faults import FaultRule


class Settings(BaseModel):
    """Emulator behaviour: default latency of every Graph call, default page size, and
    throttling (at most throttleLimit calls in any throttleWindowMs; 0: no limit)."""

    model_config = ConfigDict(extra="forbid")
    latencyMs: int = Field(default=0, ge=0)
    pageSize: int = Field(default=100, ge=1, le=999)
    throttleLimit: int = Field(default=0, ge=0)
    throttleWindowMs: int = Field(default=1000, ge=1)

    @classmethod
    def of(cls, emulator: Emulator) -> Settings:
        return cls(
            latencyMs=emulator.latency_ms,
            pageSize=emulator.page_size,
            throttleLimit=emulator.throttle.limit,
            throttleWindowMs=emulator.throttle.window_ms,
        )


class B2BPolicy(BaseModel):
    """External collaboration settings: invitations to blocked domains fail; a non-empty
    allow list permits only its domains."""

    model_config = ConfigDict(extra="forbid")
    blockedDomains: list[str] = []
    allowedDomains: list[str] = []


async def _json(request: Request) -> dict:
    raw = await request.body()
    return {} if not raw else await request.json()


def _invalid(exc: Exception) -> JSONResponse:
    return JSONResponse({"error": {"code": "BadRequest", "message": str(exc)}}, status_code=400)


def control_routes(emulator: Emulator) -> list[Route]:
    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "tenant": emulator.directory.tenant["id"]})

    async def get_outbox(request: Request) -> Response:
        to = request.query_params.get("to", "").casefold()
        kind = request.query_params.get("kind")
        mails = [
            m
            for m in list(emulator.directory.outbox)
            if (not to or to in (a.casefold() for a in m["toRecipients"]))
            and (not kind or m["kind"] == kind)
        ]
        return JSONResponse({"value": mails})

    async def clear_outbox(request: Request) -> Response:
        with emulator.lock:
            emulator.directory.outbox.clear()
            emulator.directory.changed()
        emulator.save()
        return Response(status_code=204)

    async def list_faults(request: Request) -> Response:
        return JSONResponse({"value": [r.model_dump() for r in emulator.faults.rules()]})

    async def add_fault(request: Request) -> Response:
        try:
            rule = FaultRule.model_validate(await _json(request))
        except (ValidationError, ValueError, re.error) as exc:
            return _invalid(exc)
        emulator.faults.add(rule)
        return JSONResponse(rule.model_dump(), status_code=201)

    async def clear_faults(request: Request) -> Response:
        emulator.faults.clear()
        return Response(status_code=204)

    async def remove_fault(request: Request) -> Response:
        found = emulator.faults.remove(request.path_params["rule_id"])
        return Response(status_code=204 if found else 404)

    async def get_log(request: Request) -> Response:
        method = request.query_params.get("method", "").upper()
        path_regex = request.query_params.get("pathRegex")
        try:
            pattern = re.compile(path_regex) if path_regex else None
        except re.error as exc:
            return _invalid(exc)
        calls = [
            c
            for c in list(emulator.log)
            if (not method or c["method"] == method)
            and (pattern is None or pattern.search(c["path"]))
        ]
        return JSONResponse({"value": calls})

    async def clear_log(request: Request) -> Response:
        emulator.log.clear()
        return Response(status_code=204)

    async def reset(request: Request) -> Response:
        emulator.reset()
        return Response(status_code=204)

    async def state(request: Request) -> Response:
        return JSONResponse(emulator.snapshot())

    async def get_policy(request: Request) -> Response:
        return JSONResponse(emulator.directory.b2b_policy)

    async def set_policy(request: Request) -> Response:
        try:
            policy = B2BPolicy.model_validate(await _json(request))
        except (ValidationError, ValueError) as exc:
            return _invalid(exc)
        with emulator.lock:
            emulator.directory.b2b_policy = policy.model_dump()
            emulator.directory.changed()
        emulator.save()
        return JSONResponse(policy.model_dump())

    async def get_settings(request: Request) -> Response:
        return JSONResponse(Settings.of(emulator).model_dump())

    async def set_settings(request: Request) -> Response:
        try:
            current = Settings.of(emulator).model_dump()
            settings = Settings.model_validate({**current, **await _json(request)})
        except (ValidationError, ValueError) as exc:
            return _invalid(exc)
        emulator.latency_ms, emulator.page_size = settings.latencyMs, settings.pageSize
        emulator.throttle.configure(settings.throttleLimit, settings.throttleWindowMs)
        return JSONResponse(settings.model_dump())

    return [
        Route("/_emulator/health", health, methods=["GET"]),
        Route("/_emulator/settings", get_settings, methods=["GET"]),
        Route("/_emulator/settings", set_settings, methods=["PUT", "PATCH"]),
        Route("/_emulator/outbox", get_outbox, methods=["GET"]),
        Route("/_emulator/outbox", clear_outbox, methods=["DELETE"]),
        Route("/_emulator/faults", list_faults, methods=["GET"]),
        Route("/_emulator/faults", add_fault, methods=["POST"]),
        Route("/_emulator/faults", clear_faults, methods=["DELETE"]),
        Route("/_emulator/faults/{rule_id}", remove_fault, methods=["DELETE"]),
        Route("/_emulator/log", get_log, methods=["GET"]),
        Route("/_emulator/log", clear_log, methods=["DELETE"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/state", state, methods=["GET"]),
        Route("/_emulator/b2b-policy", get_policy, methods=["GET"]),
        Route("/_emulator/b2b-policy", set_policy, methods=["PUT", "POST"]),
    ]
