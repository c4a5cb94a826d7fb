"""AssignmentClient: direct assignment in bulk, an access package to every user of a CSV file.

The rows are checked and assigned on the worker, by the same rules as `AccessClient.assign`.

    assignments = AssignmentClient.of(await AccessClient.connect())
    handle = await assignments.start_bulk(
        parse_assignment_csv(text), "finance-reports", admin="admin@contoso.example"
    )
    await assignments.progress(handle.id)      # BulkAssignmentProgress
    result = await assignments.result(handle.id)  # BulkAssignmentResult, every row
"""

from __future__ import annotations

from datetime import datetime

from temporalio.client import Client, WorkflowHandle

from activities.temporal_client import task_queue
from entitlements.bulk_assignment import (
    BulkAssignmentProgress,
    BulkAssignmentResult,
    ParsedAssignments,
    bulk_workflow_id,
)
from entitlements.refusals import RequestRefused
from starter.bulk_runs import query_progress, start_bulk_workflow
from workflows.bulk_assignment import BulkAssignmentWorkflow


class AssignmentClient:
    def __init__(self, client: Client, queue: str | None = None) -> None:
        self.client = client
        self.task_queue = queue or task_queue()

    @classmethod
    def of(cls, access) -> AssignmentClient:
        """The assignment client on an AccessClient's connection and task queue."""
        return cls(access.client, access.task_queue)

    async def start_bulk(
        self,
        parsed: ParsedAssignments,
        package: str,
        *,
        admin: str,
        end: datetime | None = None,
        policy: str | None = None,
        source: str = "",
        workflow_id: str | None = None,
        page_size: int = 100,
        concurrency: int = 10,
    ) -> WorkflowHandle:
        """Start assigning `package` to a parsed file's users as `admin` (invalid rows go into
        the result as they are); `end` for rows without an end of their own. The same content
        started again while it runs joins the running workflow. `TooLarge`: split the file."""
        inp = parsed.bulk_input(
            package, admin, policy_id=policy, end=end, source=source,
            page_size=page_size, concurrency=concurrency,
        )  # fmt: skip
        name = f" from {source}" if source else ""
        return await start_bulk_workflow(
            self.client,
            BulkAssignmentWorkflow.run,
            inp,
            rows=parsed.total,
            workflow_id=workflow_id or bulk_workflow_id(inp),
            task_queue=self.task_queue,
            summary=f"Assign {package} to {parsed.total:,} users{name} (by {admin})",
        )

    async def progress(self, workflow_id: str) -> BulkAssignmentProgress:
        """How far a bulk run is (its latest run, across continue-as-new)."""
        return await query_progress(self.client, BulkAssignmentWorkflow.progress, workflow_id)

    async def result(self, workflow_id: str) -> BulkAssignmentResult:
        """Every row's outcome, once the run has ended; `RequestRefused` when the run as a
        whole was refused (not an administrator, an unknown package or policy)."""
        handle = self.client.get_workflow_handle_for(BulkAssignmentWorkflow.run, workflow_id)
        result = await handle.result()
        if result.refusal_rule is not None:
            raise RequestRefused(result.refusal_rule, result.refusal or "refused")
        return result
