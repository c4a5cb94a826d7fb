"""A bulk run's rows, a page at a time, across continue-as-new (bulk invitations, bulk direct
assignments): workflow code, deterministic.

Each run works on one page (`page_size` rows, at most `concurrency` at once), then continues as
new carrying only the rows not yet done and compact results keyed by row, so each run's
history stays small and a row done is never done again; a row repeated in a hand-made input
is rejected as a duplicate. A worker that dies mid-page loses nothing: another replays the run
and goes on.

The input is a pydantic model with the fields `rows`, `results`, `rejected`, `total`, `page`,
`page_size` and `concurrency`; rows and results have a `key` and a `line`, results a `status`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from entitlements.bulk_rows import RowCounts

Row = TypeVar("Row")
Result = TypeVar("Result")
Counts = TypeVar("Counts", bound=RowCounts)


class PagedRows(Generic[Row, Result, Counts]):
    def __init__(
        self, inp: Any, counts: type[Counts], duplicate: Callable[[Row, int], Result]
    ) -> None:
        """`duplicate(row, first_line)`: the result of a row whose key came before."""
        self.total: int = inp.total or len(inp.rows) + len(inp.results) + len(inp.rejected)
        self.results: dict[str, Result] = {r.key: r for r in inp.results}
        self.rejected: list[Result] = list(inp.rejected)
        self.pending: list[Row] = []
        seen: dict[str, int] = {}
        for row in inp.rows:
            if row.key in self.results:
                continue  # done in an earlier run
            if row.key in seen:  # the file readers reject these; a hand-made input may not
                self.rejected.append(duplicate(row, seen[row.key]))
                continue
            seen[row.key] = row.line
            self.pending.append(row)
        self.page: int = inp.page
        self.pages: int = inp.page - 1 + -(-len(self.pending) // inp.page_size)
        self.finished = False
        self.counts: Counts = counts.of(
            self.total, [r.status for r in [*self.results.values(), *self.rejected]]
        )
        self._rest: list[Row] = []

    def progress(self) -> dict:
        """The counts and the page, as a progress model's fields."""
        return {
            **self.counts.model_dump(),
            "page": self.page,
            "pages": self.pages,
            "finished": self.finished,
        }

    async def work_page(
        self,
        inp: Any,
        work: Callable[[Row], Awaitable[Result]],
        kept: Callable[[Result], Result] = lambda result: result,
        changed: Callable[[], None] = lambda: None,
    ) -> bool:
        """Work through this run's page; True when rows are left for the next run.
        `kept(result)`: what of a result the next runs carry; `changed()`: after each row."""
        page, self._rest = self.pending[: inp.page_size], self.pending[inp.page_size :]
        slots = asyncio.Semaphore(inp.concurrency)

        async def one(row: Row) -> None:
            async with slots:
                result = await work(row)
            self.results[row.key] = kept(result)
            self.counts.add(result.status)
            changed()

        await asyncio.gather(*(one(row) for row in page))
        return bool(self._rest)

    async def continue_as_new(self, inp: Any, **update: Any) -> None:
        """Hand the rows left to the next run (once this run's handlers have finished)."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            inp.model_copy(
                update={
                    "rows": self._rest,
                    "results": list(self.results.values()),
                    "rejected": self.rejected,
                    "total": self.total,
                    "page": self.page + 1,
                    **update,
                }
            )
        )

    def finish(self) -> list[Result]:
        """Every row's result, in file order."""
        self.finished = True
        return sorted([*self.results.values(), *self.rejected], key=lambda r: r.line)
