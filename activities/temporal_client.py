"""Connecting to Temporal: one place, used by the worker, the client and the CLI.

Address, namespace, TLS and API key come from Temporal's own environment variables
(TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS,
TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH, ... or a TEMPORAL_CONFIG_FILE profile),
read by temporalio.envconfig.
pydantic models cross Temporal with the pydantic data converter on every client.
"""

from __future__ import annotations

import os

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig

DEFAULT_TASK_QUEUE = "accessctl"
DEFAULT_ADDRESS = "localhost:7233"


def task_queue() -> str:
    return os.environ.get("TEMPORAL_TASK_QUEUE", DEFAULT_TASK_QUEUE)


def user_task_queue(queue: str) -> str:
    """Where users' access workflows run. A request waits, inside its workflow task, for its
    user's workflow to apply a revoke; on a queue of their own, with their own task slots,
    the user workflows are never stuck behind the requests that wait for them."""
    return f"{queue}-users"


async def connect_temporal(**overrides) -> Client:
    config = ClientConfig.load_client_connect_config()
    config.setdefault("target_host", DEFAULT_ADDRESS)
    config.update(overrides)
    return await Client.connect(**config, data_converter=pydantic_data_converter)
