"""The worker as production runs it against Microsoft Graph (no GRAPH_BASE_URL: azure-identity
with the client secret from AZURE_CLIENT_SECRET), pointed at the emulator for the test.

Two things differ from `python worker.py`, both below the code under test: Graph's root is the
emulator's, and the credential's token request goes to a small token endpoint here instead of
login.microsoftonline.com. That endpoint checks the client secret it receives and answers with
the access token in SECRET_SCAN_TOKEN; every Graph call then carries that token as a bearer.
What the endpoint and the Graph calls saw is written, one word a line, to SECRET_SCAN_RECORD,
so the test knows the secret and the token were really used, without logging either.

Run: python tests/integration/credential_worker.py (environment as for worker.py, plus
SECRET_SCAN_GRAPH_ROOT, SECRET_SCAN_TOKEN, SECRET_SCAN_RECORD).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

ROOT = Path(__file__).parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from azure.core.pipeline.transport import AioHttpTransport  # noqa: E402
from azure.identity.aio import EnvironmentCredential  # noqa: E402

import worker  # noqa: E402
from activities import graph_client  # noqa: E402

LOGIN = "https://login.microsoftonline.com"
TOKEN = os.environ["SECRET_SCAN_TOKEN"]
RECORD = Path(os.environ["SECRET_SCAN_RECORD"])
_record_lock = threading.Lock()


def record(word: str) -> None:
    with _record_lock, RECORD.open("a") as file:
        file.write(word + "\n")


class TokenEndpoint(BaseHTTPRequestHandler):
    """The client-credentials grant, as Entra ID answers it."""

    def do_POST(self) -> None:  # noqa: N802 (the http.server API)
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        if form.get("client_secret") == [os.environ["AZURE_CLIENT_SECRET"]]:
            record("token-issued")
            status, body = 200, {"token_type": "Bearer", "expires_in": 3599, "access_token": TOKEN}
        else:
            record("token-refused")
            status, body = 401, {"error": "invalid_client"}
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass  # the worker's log is the thing under test: nothing of ours in it


class ToTheTokenEndpoint(AioHttpTransport):
    def __init__(self, token_root: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.token_root = token_root

    async def send(self, request, **config):
        request.url = request.url.replace(LOGIN, self.token_root, 1)
        return await super().send(request, **config)


async def _note_bearer(request: httpx.Request) -> None:
    carried = request.headers.get("Authorization") == f"Bearer {TOKEN}"
    record("graph-bearer" if carried else "graph-anonymous")


def _http_client_noting_bearers(timeout_seconds: float = 30.0):
    client = _build_http_client(timeout_seconds)
    client.event_hooks["request"].append(_note_bearer)
    return client


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), TokenEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    token_root = f"http://127.0.0.1:{server.server_port}"

    graph_client.GRAPH_ROOT = os.environ["SECRET_SCAN_GRAPH_ROOT"]
    graph_client.build_http_client = _http_client_noting_bearers
    build_graph_client = worker.build_graph_client
    worker.build_graph_client = lambda settings: build_graph_client(
        settings, credential=EnvironmentCredential(transport=ToTheTokenEndpoint(token_root))
    )
    worker.main()


_build_http_client = graph_client.build_http_client

if __name__ == "__main__":
    main()
