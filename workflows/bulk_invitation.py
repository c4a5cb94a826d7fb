"""Inviting external users as guests, on the worker (it holds the Graph credentials and the
catalog whose domain lists apply).

- `InviteGuestWorkflow`: one invitation, a short workflow the client waits on (like intake).
- `BulkInvitationWorkflow`: the rows of a CSV file, a page at a time (`page_size` rows, at
  most `concurrency` invitations at once), continuing as new between pages with only the rows
  not yet done and compact results (keyed by address here), so each run's history stays small
  (a page of 100 rows is about 450 events) and a row done is never invited again. A `progress`
  query answers how far it is; the result has every row of the file, in file order.

A worker that dies mid-run loses nothing: another worker replays the run and goes on. Each
invitation is idempotent by itself too (an address already in the directory is `existing`),
so even an invitation whose answer was lost is not sent twice. Throttling is retried by
Temporal at Graph's Retry-After pace; a row that still fails after `ROW_DEADLINE` is recorded
`failed` and the others go on.
"""

from __future__ import annotations

import asyncio
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


@workflow.defn
class BulkInvitationWorkflow:
    @workflow.init
    def __init__(self, inp: BulkInvitationInput) -> None:
        self._total = inp.total or len(inp.rows) + len(inp.results) + len(inp.rejected)
        self._results: dict[str, InvitationResult] = {r.key: r for r in inp.results}
        self._rejected = list(inp.rejected)
        self._pending: list[Invitation] = []
        seen: dict[str, int] = {}
        for row in inp.rows:
            if row.key in self._results:
                continue  # done in an earlier run
            if row.key in seen:  # the file reader rejects these; a hand-made input may not
                self._rejected.append(
                    result_error(
                        row, InvitationStatus.INVALID, f"duplicate of line {seen[row.key]}"
                    )
                )
                continue
            seen[row.key] = row.line
            self._pending.append(row)
        self._page = inp.page
        self._pages = inp.page - 1 + -(-len(self._pending) // inp.page_size)
        self._finished = False
        self._source = inp.source
        self._counts = InvitationCounts.of(self._total, [*self._results.values(), *self._rejected])

    @workflow.query
    def progress(self) -> BulkInvitationProgress:
        return BulkInvitationProgress(
            **self._counts.model_dump(), page=self._page, pages=self._pages, finished=self._finished
        )

    @workflow.run
    async def run(self, inp: BulkInvitationInput) -> BulkInvitationResult:
        page, rest = self._pending[: inp.page_size], self._pending[inp.page_size :]
        self._show()
        slots = asyncio.Semaphore(inp.concurrency)

        async def one(row: Invitation) -> None:
            async with slots:
                result = await invite(row, ROW_DEADLINE)
            self._results[row.key] = result.model_copy(update={"redeem_url": None})
            self._counts.add(result)
            self._show()

        await asyncio.gather(*(one(row) for row in page))
        if rest:
            await workflow.wait_condition(workflow.all_handlers_finished)
            workflow.continue_as_new(
                inp.model_copy(
                    update={
                        "rows": rest,
                        "results": list(self._results.values()),
                        "rejected": self._rejected,
                        "total": self._total,
                        "page": self._page + 1,
                    }
                )
            )
        self._finished = True
        self._show()
        rows = sorted([*self._results.values(), *self._rejected], key=lambda r: r.line)
        return BulkInvitationResult(**self._counts.model_dump(), rows=rows)

    def _show(self) -> None:
        """The UI's current details (the start's static summary stays on the first run)."""
        c = self._counts
        where = "finished" if self._finished else f"page {self._page} of {self._pages}"
        source = f" from {self._source}" if self._source else ""
        workflow.set_current_details(
            f"Inviting {c.total:,} guests{source}, {where}: {c.done:,} rows done: "
            f"{c.invited:,} invited, {c.existing:,} existing, {c.failed:,} failed, "
            f"{c.invalid:,} invalid"
        )
