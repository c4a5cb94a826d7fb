"""The client side of a bulk workflow (invitations, direct assignments): its input must fit in
one Temporal payload, the same content joins a run already going, progress is a query on the
latest run (across continue-as-new), and the result has every row."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from activities.temporal_client import task_queue

# Temporal refuses payloads over 2 MB; the input and every continue-as-new must stay under.
MAX_INPUT_BYTES = 1_500_000
QUERY_TIMEOUT = timedelta(seconds=5)


class TooLarge(ValueError):
    """The file's rows do not fit in one Temporal payload: split it."""


Progress = TypeVar("Progress")
Result = TypeVar("Result")


class BulkRunClient(Generic[Progress, Result]):
    """A client of one bulk workflow class (with a `run` and a `progress` query)."""

    workflow: ClassVar[Any]

    def __init__(self, client: Client, queue: str | None = None) -> None:
        self.client = client
        self.task_queue = queue or task_queue()

    @classmethod
    def of(cls, access):
        """This client on an AccessClient's connection and task queue."""
        return cls(access.client, access.task_queue)

    async def _start_run(
        self, inp: BaseModel, *, rows: int, workflow_id: str, summary: str
    ) -> WorkflowHandle:
        """Start the workflow on `inp` (`rows` rows), or join the run of that id still going."""
        size = len(inp.model_dump_json())
        if size > MAX_INPUT_BYTES:
            raise TooLarge(
                f"{rows} rows make {size:,} bytes, more than one workflow input may "
                f"carry ({MAX_INPUT_BYTES:,}): split the file"
            )
        return await self.client.start_workflow(
            self.workflow.run,
            inp,
            id=workflow_id,
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=summary,
        )

    async def progress(self, workflow_id: str) -> Progress:
        """How far a bulk run is (its latest run, across continue-as-new)."""
        handle = self.client.get_workflow_handle(workflow_id)
        return await handle.query(self.workflow.progress, rpc_timeout=QUERY_TIMEOUT)

    async def result(self, workflow_id: str) -> Result:
        """Every row's outcome, once the run has ended."""
        return await self.client.get_workflow_handle_for(self.workflow.run, workflow_id).result()
