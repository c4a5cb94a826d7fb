"""Every committed history replays on today's workflow code: a change that would break the
runs in flight (a command added, removed or reordered) fails here, before it ships.

The histories come from `make histories` (tests/replay/record.py). A failure means the change
is not replay-safe: guard it with `workflow.patched`, or, when no run of the old code has to go
on, re-record (the README says which and how).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.workflow import NondeterminismError

from entitlements.requests import AccessRequestInput
from entitlements.status import RequestStatus
from tests.replay.history_files import (
    HISTORIES,
    history_files,
    load_history,
    replayer,
    workflow_type,
)
from worker import WORKFLOWS
from workflows.access_request import AccessRequestWorkflow

FILES = history_files()


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(HISTORIES)) for p in FILES])
async def test_the_workflows_replay_their_recorded_history(path):
    history = load_history(path)
    await replayer().replay_workflow(history)


def test_every_workflow_the_worker_runs_has_a_recorded_history():
    recorded = {workflow_type(load_history(path)) for path in FILES}
    registered = {getattr(w, "__temporal_workflow_definition").name for w in WORKFLOWS}
    assert registered <= recorded, f"no history for {sorted(registered - recorded)}"


@workflow.defn(name="AccessRequestWorkflow", sandboxed=False)
class RequestWithAGracePeriod(AccessRequestWorkflow):
    """A plausible edit: wait a minute before anything else. It starts a timer where the
    recorded runs did something else, so those runs could not go on under it."""

    @workflow.run
    async def run(self, request: AccessRequestInput) -> RequestStatus:
        await workflow.sleep(timedelta(minutes=1))
        return await super().run(request)


async def test_a_changed_workflow_fails_to_replay_a_recorded_history():
    recorded = [p for p in FILES if workflow_type(load_history(p)) == "AccessRequestWorkflow"]
    assert recorded
    history = load_history(recorded[0])
    changed = replayer(
        [RequestWithAGracePeriod, *(w for w in WORKFLOWS if w is not AccessRequestWorkflow)]
    )
    with pytest.raises(NondeterminismError):
        await changed.replay_workflow(history)
