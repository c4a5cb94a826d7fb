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

from temporalio.client import WorkflowHandle

from entitlements.bulk_assignment import (
    BulkAssignmentProgress,
    BulkAssignmentResult,
    ParsedAssignments,
    bulk_workflow_id,
)
from entitlements.identifiers import check_name, check_person
from entitlements.refusals import RequestRefused
from starter.bulk_runs import BulkRunClient
from workflows.bulk_assignment import BulkAssignmentWorkflow


class AssignmentClient(BulkRunClient[BulkAssignmentProgress, BulkAssignmentResult]):
    workflow = BulkAssignmentWorkflow

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
        started again while it runs joins the running workflow. `TooLarge`: split the file;
        `RequestRefused` (textInvalid): a name with control characters or far too long."""
        inp = parsed.bulk_input(
            check_name("the package id", package),
            check_person("the administrator", admin),
            policy_id=check_name("the policy id", policy) if policy is not None else None,
            end=end, source=source, page_size=page_size, concurrency=concurrency,
        )  # fmt: skip
        name = f" from {source}" if source else ""
        return await self._start_run(
            inp,
            rows=parsed.total,
            workflow_id=workflow_id or bulk_workflow_id(inp),
            summary=f"Assign {package} to {parsed.total:,} users{name} (by {admin})",
        )

    async def result(self, workflow_id: str) -> BulkAssignmentResult:
        """Every row's outcome, once the run has ended; `RequestRefused` when the run as a
        whole was refused (not an administrator, an unknown package or policy)."""
        result = await super().result(workflow_id)
        if result.refusal_rule is not None:
            raise RequestRefused(result.refusal_rule, result.refusal or "refused")
        return result
