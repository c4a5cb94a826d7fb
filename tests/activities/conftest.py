"""Directory activities against the in-process Graph emulator, run in an ActivityEnvironment."""

from __future__ import annotations

import pytest
from msgraph import GraphServiceClient
from temporalio.testing import ActivityEnvironment

from activities.directory import DirectoryActivities
from graph_emulator.testing import EmulatorControl
from tests.emulator.conftest import control, graph  # noqa: F401 - the same fixtures here


@pytest.fixture
def directory(graph: GraphServiceClient, control: EmulatorControl) -> DirectoryActivities:  # noqa: F811
    return DirectoryActivities(graph)


@pytest.fixture
def env() -> ActivityEnvironment:
    return ActivityEnvironment()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # msgraph-sdk's generated request builders warn about their own deprecated classes.
    for item in items:
        item.add_marker(
            pytest.mark.filterwarnings("ignore:This class is deprecated:DeprecationWarning")
        )
