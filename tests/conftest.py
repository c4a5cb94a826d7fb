"""Shared fixtures: the Graph emulator in-process, the time-skipping Temporal test server, and a
worker of the real workflows and activities against the emulator."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from graph_emulator.server import EmulatorServer
from workflows import search_attributes

BIN = Path(sys.executable).parent
TEST_SERVER = BIN / "temporal-test-server"
DEV_SERVER = BIN / "temporal"
EXAMPLES = Path(__file__).parents[1] / "examples"


@pytest.fixture(scope="session")
def emulator_server():
    with EmulatorServer(EXAMPLES / "tenant.yaml") as server:
        yield server


@pytest.fixture
def graph(emulator_server: EmulatorServer) -> EmulatorServer:
    """The emulator, reseeded from the example tenant, with no faults, mail or log."""
    control = emulator_server.control
    control.reset()
    control.clear_faults()
    control.clear_outbox()
    control.clear_log()
    return emulator_server


async def register_search_attributes(client: Client, namespace: str = "default") -> None:
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type)
                for key in search_attributes.ALL
            },
        )
    )


@pytest_asyncio.fixture
async def time_server() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server of the test's own: one shared clock across tests would let
    one test's timers and leftovers stall or expire another's (it starts in about 0.2 s)."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=pydantic_data_converter
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest.fixture
def time_env(time_server: WorkflowEnvironment):
    """The time-skipping server, moving time only when a test says so (`await time_env.sleep`).

    Otherwise waiting on any workflow's result (the client waits for intake) would let the
    server jump to the next timer, expiring assignments the test still relies on.
    """
    with time_server.auto_time_skipping_disabled():
        yield time_server


@pytest.fixture
def task_queue() -> str:
    return f"test-{uuid.uuid4()}"
