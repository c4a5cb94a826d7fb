"""The emulator in-process on a free port; every Graph call in these tests goes through
msgraph-sdk's GraphServiceClient (built without the SDK's RetryHandler, as production does)."""

from __future__ import annotations

import pytest
from msgraph import GraphServiceClient

from activities.graph_client import GraphSettings, build_graph_client
from graph_emulator.server import EmulatorServer
from graph_emulator.testing import EmulatorControl


@pytest.fixture
def control(emulator_server: EmulatorServer) -> EmulatorControl:
    """Emulator controls, on a freshly seeded tenant."""
    emulator_server.control.reset()
    return emulator_server.control


@pytest.fixture(scope="session")
async def graph(emulator_server: EmulatorServer):
    client: GraphServiceClient = build_graph_client(
        GraphSettings(base_url=emulator_server.base_url)
    )
    yield client
    await client.request_adapter._http_client.aclose()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # msgraph-sdk's generated request builders warn about their own deprecated classes.
    for item in items:
        item.add_marker(
            pytest.mark.filterwarnings("ignore:This class is deprecated:DeprecationWarning")
        )
