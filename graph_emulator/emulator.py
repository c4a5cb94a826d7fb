"""The emulator's core: one Graph call in, one answer out.

Every call (and every `$batch` sub-request) goes through `Emulator.call`: throttling and
injected faults first, then the route, then the call log. The state is saved to the state
file (if any) after each call that changed it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from . import routes_directory, routes_groups, routes_service_principals, routes_users
from .directory import Directory
from .errors import GraphError, error_body, fault_error
from .faults import FaultInjector
from .responses import JSON
from .router import GraphRequest, GraphResponse, Router
from .seed import TenantSeed, load_seed
from .throttling import Throttle

logger = logging.getLogger("graph_emulator")

BATCH_LIMIT = 20
DEFAULT_PAGE_SIZE = 100


def build_router() -> Router:
    router = Router()
    for module in (routes_users, routes_groups, routes_service_principals, routes_directory):
        module.register(router)
    return router


class Emulator:
    """Directory state, fault rules and call log of one emulated tenant."""

    def __init__(
        self,
        seed: TenantSeed | str | Path,
        state_file: str | Path | None = None,
        latency_ms: int = 0,
        blocked_domains: list[str] | tuple[str, ...] = (),
    ) -> None:
        self._seed = seed
        self.state_file = Path(state_file) if state_file else None
        self.latency_ms = self._initial_latency_ms = latency_ms
        self.blocked_domains = list(blocked_domains)  # B2B policy applied on every (re)seed
        self.page_size = DEFAULT_PAGE_SIZE
        self.faults = FaultInjector()
        self.throttle = Throttle()
        self.log: list[dict] = []
        self.lock = threading.RLock()
        self.router = build_router()
        self._saved_version = -1
        if self.state_file and self.state_file.exists():
            with open(self.state_file, encoding="utf-8") as f:
                self.directory = Directory.from_dict(json.load(f))
            self._block(self.directory)
        else:
            self.directory = self._fresh_directory()
        self.save()

    def _load_seed(self) -> TenantSeed:
        return self._seed if isinstance(self._seed, TenantSeed) else load_seed(self._seed)

    def _block(self, directory: Directory) -> None:
        policy = directory.b2b_policy
        policy["blockedDomains"] = sorted({*policy["blockedDomains"], *self.blocked_domains})

    def _fresh_directory(self) -> Directory:
        directory = Directory.from_seed(self._load_seed())
        self._block(directory)
        return directory

    # ------------------------------------------------------------------- state control
    def reset(self) -> None:
        """Reseed from the tenant file (read again); forget outbox, faults, log and settings."""
        directory = self._fresh_directory()
        with self.lock:
            self.directory = directory
            self.faults.clear()
            self.log.clear()
            self.page_size = DEFAULT_PAGE_SIZE
            self.latency_ms = self._initial_latency_ms
            self.throttle.configure(0, 1000)
            self.save()

    def save(self) -> None:
        if not self.state_file:
            return
        with self.lock:
            data = json.dumps(self.directory.to_dict(), indent=1)
            self._saved_version = self.directory.version
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.write_text(data, encoding="utf-8")
        os.replace(tmp, self.state_file)

    def snapshot(self) -> dict:
        with self.lock:
            return json.loads(json.dumps(self.directory.to_dict()))

    # ----------------------------------------------------------------------- calls
    async def handle(self, req: GraphRequest) -> GraphResponse:
        """A call from HTTP: default latency, the call, then persistence."""
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        response = await self.call(req)
        if self.state_file and self.directory.version != self._saved_version:
            self.save()
        return response

    async def call(self, req: GraphRequest) -> GraphResponse:
        request_id = str(uuid.uuid4())
        req.page_size = self.page_size
        is_batch = req.path.rstrip("/").lower() == "/$batch"
        try:
            wait = None if is_batch else self.throttle.retry_after()
            if wait is not None:
                raise fault_error(429, retry_after_seconds=wait)
            rule = self.faults.take(req.method, req.path)
            if rule is not None:
                if rule.latencyMs:
                    await asyncio.sleep(rule.latencyMs / 1000)
                error = rule.error()
                if error is not None:
                    raise error
            if is_batch:
                response = await self._batch(req, request_id)
            else:
                handler, params = self.router.resolve(req.method, req.path)
                with self.lock:
                    response = handler(req, self.directory, **params)
        except GraphError as e:
            headers = {**JSON, **e.headers}
            response = GraphResponse(e.status, error_body(e.code, e.message, request_id), headers)
        except Exception:  # a bug in the emulator: answer like Graph's 500 and say why
            logger.exception("emulator failed on %s %s", req.method, req.path)
            response = GraphResponse(
                500,
                error_body("generalException", "The emulator failed; see its log.", request_id),
                dict(JSON),
            )
        response.headers.setdefault("request-id", request_id)
        response.headers.setdefault("client-request-id", request_id)
        self.log.append(
            {
                "time": time.time(),
                "method": req.method.upper(),
                "path": req.path,
                "query": dict(req.query),
                "status": response.status,
                "requestId": request_id,
                "batchId": req.batch_id,
            }
        )
        return response

    async def _batch(self, req: GraphRequest, request_id: str) -> GraphResponse:
        if req.method.upper() != "POST":
            raise GraphError(405, "BadRequest", "The $batch endpoint only accepts POST.")
        if req.batch_id is not None:
            raise GraphError(400, "BadRequest", "A $batch request cannot contain a $batch.")
        requests = req.json_object().get("requests")
        if not isinstance(requests, list) or not requests:
            raise GraphError(400, "BadRequest", "Invalid batch payload format.")
        if len(requests) > BATCH_LIMIT:
            raise GraphError(
                400,
                "BadRequest",
                f"The number of requests in the batch exceeds the limit of {BATCH_LIMIT}.",
            )
        ids = [item.get("id") if isinstance(item, dict) else None for item in requests]
        if any(not isinstance(i, str) or not i for i in ids) or len(set(ids)) != len(ids):
            raise GraphError(
                400, "BadRequest", "Every request in a batch needs a unique, non-empty id."
            )
        statuses: dict[str, int] = {}
        answers = []
        for item in requests:
            depends_on = item.get("dependsOn") or item.get("depends_on") or []
            failed = [d for d in depends_on if statuses.get(d, 424) >= 400]
            if failed:
                sub = GraphResponse(
                    424,
                    error_body(
                        "FailedDependency",
                        f"Failed dependency: request(s) {', '.join(failed)} did not succeed.",
                        request_id,
                    ),
                    dict(JSON),
                )
            else:
                sub = await self.call(self._sub_request(req, item, request_id))
            statuses[item["id"]] = sub.status
            answer = {"id": item["id"], "status": sub.status, "headers": sub.headers}
            if sub.body is not None:
                answer["body"] = sub.body
            answers.append(answer)
        return GraphResponse(200, {"responses": answers}, dict(JSON))

    @staticmethod
    def _sub_request(outer: GraphRequest, item: dict, batch_id: str) -> GraphRequest:
        url = urlsplit(str(item.get("url") or ""))
        path = unquote(url.path)
        if not path.startswith("/"):
            path = "/" + path
        if "/v1.0/" in path or path.endswith("/v1.0"):  # absolute URLs, as msgraph-sdk sends
            path = path.split("/v1.0", 1)[1] or "/"
        body = item.get("body")
        if isinstance(body, str):  # base64 or JSON text
            try:
                body = json.loads(base64.b64decode(body, validate=True))
            except ValueError:
                try:
                    body = json.loads(body)
                except ValueError:
                    body = None
        return GraphRequest(
            method=str(item.get("method") or "GET").upper(),
            path=path,
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers={str(k): str(v) for k, v in (item.get("headers") or {}).items()},
            body=body,
            service_root=outer.service_root,
            batch_id=batch_id,
        )
