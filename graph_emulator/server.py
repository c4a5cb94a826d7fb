"""Run the emulator in-process on a free port, in a background thread (for tests).

with EmulatorServer() as server:           # or: async with EmulatorServer() as server:
    client = graph_client(server.base_url)  # http://127.0.0.1:PORT/v1.0
    server.emulator.directory ...          # the live state, for assertions
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import uvicorn

from .app import create_app
from .emulator import Emulator
from .seed import TenantSeed, default_seed_path
from .testing import EmulatorControl


class EmulatorServer:
    def __init__(
        self,
        tenant: TenantSeed | str | Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        state_file: str | Path | None = None,
        latency_ms: int = 0,
        blocked_domains: list[str] | tuple[str, ...] = (),
    ) -> None:
        self.emulator = Emulator(
            tenant or default_seed_path(), state_file, latency_ms, blocked_domains
        )
        self.host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._control: EmulatorControl | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def root_url(self) -> str:
        """http://host:port (the emulator-only endpoints live under /_emulator)."""
        return f"http://{self.host}:{self._port}"

    @property
    def base_url(self) -> str:
        """The Graph service root to give GraphRequestAdapter.base_url."""
        return f"{self.root_url}/v1.0"

    @property
    def control(self) -> EmulatorControl:
        """HTTP client for the /_emulator endpoints of this server."""
        if self._control is None:
            self._control = EmulatorControl(self.root_url)
        return self._control

    def start(self, timeout: float = 10.0) -> EmulatorServer:
        if self._thread is not None:
            return self
        # IPPROTO_TCP given, so asyncio sets TCP_NODELAY on every accepted connection (it
        # checks sock.proto); without it each answer waits ~40 ms on Nagle and delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._port))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(self.emulator), log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="graph-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Graph emulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> EmulatorServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)
