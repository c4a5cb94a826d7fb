"""The ASGI app: Graph v1.0 under /v1.0, emulator controls under /_emulator."""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .control import control_routes
from .emulator import Emulator
from .router import GraphRequest

GRAPH_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


def create_app(emulator: Emulator) -> Starlette:
    async def graph(request: Request) -> Response:
        raw = await request.body()
        body, invalid = None, False
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                invalid = True
        req = GraphRequest(
            method=request.method,
            path="/" + request.path_params.get("path", ""),
            query=dict(request.query_params),
            headers=dict(request.headers),
            body=body,
            body_invalid=invalid,
            service_root=f"{request.url.scheme}://{request.url.netloc}/v1.0",
        )
        answer = await emulator.handle(req)
        return Response(answer.encoded(), status_code=answer.status, headers=answer.headers)

    routes = [
        Route("/v1.0/{path:path}", graph, methods=GRAPH_METHODS),
        *control_routes(emulator),
    ]
    app = Starlette(routes=routes)
    app.state.emulator = emulator
    return app
