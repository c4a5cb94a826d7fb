"""Starting and following the bulk workflows (invitations, direct assignments) from a client:
the input must fit in one Temporal payload, the same content joins a run already going, and
progress is a query on the latest run (across continue-as-new)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

# Temporal refuses payloads over 2 MB; the input and every continue-as-new must stay under.
MAX_INPUT_BYTES = 1_500_000
QUERY_TIMEOUT = timedelta(seconds=5)


class TooLarge(ValueError):
    """The file's rows do not fit in one Temporal payload: split it."""


async def start_bulk_workflow(
    client: Client,
    run,
    inp: BaseModel,
    *,
    rows: int,
    workflow_id: str,
    task_queue: str,
    summary: str,
) -> WorkflowHandle:
    """Start `run` on `inp` (`rows` rows), or join the run of that id still going."""
    size = len(inp.model_dump_json())
    if size > MAX_INPUT_BYTES:
        raise TooLarge(
            f"{rows} rows make {size:,} bytes, more than one workflow input may "
            f"carry ({MAX_INPUT_BYTES:,}): split the file"
        )
    return await client.start_workflow(
        run,
        inp,
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary=summary,
    )


async def query_progress(client: Client, query, workflow_id: str):
    return await client.get_workflow_handle(workflow_id).query(query, rpc_timeout=QUERY_TIMEOUT)
