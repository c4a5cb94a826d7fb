"""Inviting external users as guests, on the worker (it holds the Graph credentials and the
catalog whose domain lists apply).

- `InviteGuestWorkflow`: one invitation, a short workflow the client waits on (like intake).
- `BulkInvitationWorkflow`: the rows of a CSV file, a page at a time across continue-as-new
  (workflows.paged_rows; results keyed by address here; a page of 100 rows is about 450
  events), so a row done is never invited again. A `progress` query answers how far it is;
  the result has every row of the file, in file order.

A worker that dies mid-run loses nothing: another worker replays the run and goes on. Each
invitation is idempotent by itself too (an address already in the directory is `existing`),
so even an invitation whose answer was lost is not sent twice. Throttling is retried by
Temporal at Graph's Retry-After pace; a row that still fails after `ROW_DEADLINE` is recorded
`failed` and the others go on.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from entitlements.invitations import (
        INVITE_EXTERNAL_USER,
        BulkInvitationInput,
        BulkInvitationProgress,
        BulkInvitationResult,
        Invitation,
        InvitationCounts,
        InvitationResult,
        InvitationStatus,
        result_error,
    )
    from workflows.activity_calls import DIRECTORY_RETRY

from workflows.paged_rows import PagedRows

CALL_TIMEOUT = timedelta(seconds=30)
SINGLE_DEADLINE = timedelta(minutes=2)  # someone is waiting on the command line
ROW_DEADLINE = timedelta(minutes=30)  # a row throttled or failing longer than this is failed


async def invite(invitation: Invitation, deadline: timedelta) -> InvitationResult:
    """One invitation's result; a call that fails for good is a `failed` result, not an error."""
    try:
        return await workflow.execute_activity(
            INVITE_EXTERNAL_USER,
            invitation,
            result_type=InvitationResult,
            start_to_close_timeout=CALL_TIMEOUT,
            schedule_to_close_timeout=deadline,
            retry_policy=DIRECTORY_RETRY,
        )
    except ActivityError as error:
        cause = error.cause
        text = str(cause) if cause is not None else str(error)
        return result_error(invitation, InvitationStatus.FAILED, text)


@workflow.defn
class InviteGuestWorkflow:
    @workflow.run
    async def run(self, invitation: Invitation) -> InvitationResult:
        workflow.set_current_details(f"inviting {invitation.email}")
        return await invite(invitation, SINGLE_DEADLINE)


def _duplicate(row: Invitation, first_line: int) -> InvitationResult:
    return result_error(row, InvitationStatus.INVALID, f"duplicate of line {first_line}")


@workflow.defn
class BulkInvitationWorkflow:
    @workflow.init
    def __init__(self, inp: BulkInvitationInput) -> None:
        self._rows = PagedRows(inp, InvitationCounts, _duplicate)
        self._source = inp.source

    @workflow.query
    def progress(self) -> BulkInvitationProgress:
        return BulkInvitationProgress(**self._rows.progress())

    @workflow.run
    async def run(self, inp: BulkInvitationInput) -> BulkInvitationResult:
        self._show()
        more = await self._rows.work_page(
            inp,
            lambda row: invite(row, ROW_DEADLINE),
            kept=lambda result: result.model_copy(update={"redeem_url": None}),
            changed=self._show,
        )
        if more:
            await self._rows.continue_as_new(inp)
        rows = self._rows.finish()
        self._show()
        return BulkInvitationResult(**self._rows.counts.model_dump(), rows=rows)

    def _show(self) -> None:
        """The UI's current details (the start's static summary stays on the first run)."""
        rows, c = self._rows, self._rows.counts
        where = "finished" if rows.finished else f"page {rows.page} of {rows.pages}"
        source = f" from {self._source}" if self._source else ""
        workflow.set_current_details(
            f"Inviting {c.total:,} guests{source}, {where}: {c.done:,} rows done: {c.tally()}"
        )
