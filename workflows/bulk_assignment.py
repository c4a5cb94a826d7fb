"""BulkAssignmentWorkflow: an administrator assigns one access package directly (adminAdd) to
every user of a CSV file, a page at a time across continue-as-new (workflows.paged_rows), with
a `progress` query for the command line's progress bar.

First (once, before any row) the administrator is checked as every direct assignment checks
them: an administrator, a known package, a policy; a refusal there refuses the whole run and
nothing is assigned. Then each row goes the single assignment's way: its ask is checked by
intake (the user in the directory or invitable, the end within the policy, separation of
duties, no open request), and its request workflow is started as a child that outlives this
run (ParentClosePolicy.ABANDON), with the id, search attributes and summary the client gives
one. A refused row is reported with the rule's message and the others go on.

Idempotent per user: the request workflow's id is the package and the user, so a user who
holds the package or has an open request for it (by another row naming them differently, an
earlier run of the same file, or their own request) is `alreadyAssigned`, never assigned twice.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from entitlements.bulk_assignment import (
        AssignmentCounts,
        AssignmentResult,
        AssignmentRow,
        AssignmentStatus,
        BulkAssignmentInput,
        BulkAssignmentProgress,
        BulkAssignmentResult,
        row_error,
    )
    from entitlements.refusals import Rule
    from entitlements.requests import AccessAsk, AccessRequestInput, RequestType
    from workflows.request_start import already_open, request_search_attributes, request_summary

from workflows.access_request import AccessRequestWorkflow
from workflows.activity_calls import CALL_FAILURES
from workflows.intake import DirectAssignmentCheck, check_direct_assignment, evaluate_ask
from workflows.paged_rows import PagedRows

ROW_DEADLINE = timedelta(minutes=30)  # a row the directory cannot answer for this long failed


def _duplicate(row: AssignmentRow, first_line: int) -> AssignmentResult:
    return row_error(row, AssignmentStatus.INVALID, f"duplicate of line {first_line}")


@workflow.defn
class BulkAssignmentWorkflow:
    @workflow.init
    def __init__(self, inp: BulkAssignmentInput) -> None:
        self._rows = PagedRows(inp, AssignmentCounts, _duplicate)
        self._package = inp.package_id
        self._source = inp.source

    @workflow.query
    def progress(self) -> BulkAssignmentProgress:
        return BulkAssignmentProgress(**self._rows.progress())

    @workflow.run
    async def run(self, inp: BulkAssignmentInput) -> BulkAssignmentResult:
        self._show()
        if not inp.admin_checked:
            check = DirectAssignmentCheck(
                package_id=inp.package_id, admin=inp.admin, policy_id=inp.policy_id
            )
            refused = await check_direct_assignment(check)
            if refused.refusal is not None:
                self._rows.finished = True
                self._show(refused.refusal)
                return BulkAssignmentResult(
                    total=self._rows.total,
                    refusal_rule=_rule(refused.refusal_rule),
                    refusal=refused.refusal,
                )
        if await self._rows.work_page(inp, lambda row: _assign(row, inp), changed=self._show):
            await self._rows.continue_as_new(inp, admin_checked=True)
        rows = self._rows.finish()
        self._show()
        return BulkAssignmentResult(**self._rows.counts.model_dump(), rows=rows)

    def _show(self, refusal: str | None = None) -> None:
        """The UI's current details (the start's static summary stays on the first run)."""
        rows, c = self._rows, self._rows.counts
        where = "finished" if rows.finished else f"page {rows.page} of {rows.pages}"
        source = f" from {self._source}" if self._source else ""
        what = f"Assigning {self._package} to {c.total:,} users{source}"
        if refusal is not None:
            workflow.set_current_details(f"{what}: refused: {refusal}")
            return
        workflow.set_current_details(f"{what}, {where}: {c.done:,} rows done: {c.tally()}")


async def _assign(row: AssignmentRow, inp: BulkAssignmentInput) -> AssignmentResult:
    """One row as a single direct assignment: intake's checks, then its request workflow."""
    ask = AccessAsk(
        package_id=inp.package_id,
        target=row.user,
        requestor=inp.admin,
        policy_id=inp.policy_id,
        end=row.end or inp.end,
        request_type=RequestType.ADMIN_ADD,
    )
    try:
        outcome = await evaluate_ask(ask, ROW_DEADLINE)
    except CALL_FAILURES as error:
        cause = error.cause if isinstance(error, ActivityError) and error.cause else error
        return row_error(row, AssignmentStatus.FAILED, str(cause))
    if outcome.request is None:
        rule = _rule(outcome.refusal_rule)
        status = (
            AssignmentStatus.ALREADY_ASSIGNED
            if rule == Rule.OPEN_REQUEST_EXISTS
            else AssignmentStatus.REFUSED
        )
        return row_error(row, status, outcome.refusal or "refused", rule)
    return await _start_request(row, outcome.request)


async def _start_request(row: AssignmentRow, request: AccessRequestInput) -> AssignmentResult:
    status, error, rule = AssignmentStatus.ASSIGNED, None, None
    try:
        await workflow.start_child_workflow(
            AccessRequestWorkflow.run,
            request,
            id=request.request_id,
            search_attributes=request_search_attributes(request),
            static_summary=request_summary(request),
            parent_close_policy=ParentClosePolicy.ABANDON,  # the assignment lives on its own
        )
    except WorkflowAlreadyStartedError:  # started since intake looked (another row, a request)
        status, rule = AssignmentStatus.ALREADY_ASSIGNED, Rule.OPEN_REQUEST_EXISTS
        error = already_open(request.request_id)
    return AssignmentResult(
        user=row.user,
        line=row.line,
        status=status,
        request_id=request.request_id,
        rule=rule,
        error=error,
    )


def _rule(value: str | None) -> Rule | None:
    try:
        return Rule(value) if value else None
    except ValueError:
        return None
