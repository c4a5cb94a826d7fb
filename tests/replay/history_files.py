"""The committed workflow histories (tests/replay/histories/*.json) and the replayer for them.

`make histories` rewrites the files directly in histories/; files in a folder below it (say
histories/v1.0/, the histories of a release in production) are kept and replayed too.

A file is one run's history as `WorkflowHistory.to_json_dict()` gives it (the `events` of the
Temporal CLI's and UI's JSON download too) plus its `workflowId`, which the replay needs:
workflows derive ids from it (review pages, reply addresses).
"""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from activities.log import LogContextInterceptor
from worker import WORKFLOWS

HISTORIES = Path(__file__).parent / "histories"


def history_files() -> list[Path]:
    """Every committed history: the current recording and any kept from earlier releases."""
    return sorted(HISTORIES.rglob("*.json"))


def history_json(history: WorkflowHistory) -> str:
    document = {"workflowId": history.workflow_id, **history.to_json_dict()}
    return json.dumps(document, indent=1) + "\n"


def load_history(path: Path) -> WorkflowHistory:
    document = json.loads(path.read_text())
    return WorkflowHistory.from_json(document["workflowId"], document)


def workflow_type(history: WorkflowHistory) -> str:
    return history.events[0].workflow_execution_started_event_attributes.workflow_type.name


def replayer(workflows=WORKFLOWS, **options) -> Replayer:
    """A replayer configured as the worker is: every workflow it registers, the pydantic
    data converter, its interceptors."""
    return Replayer(
        workflows=workflows,
        data_converter=pydantic_data_converter,
        interceptors=[LogContextInterceptor()],
        **options,
    )
