"""What the CSV-file commands share (`invite --csv`, `assign --csv`): reading the file, a rich
progress bar fed by the workflow's progress query while the worker goes through the rows,
the report CSV beside the file, and exit 1 when any row did not go through.

The rows are worked on the worker as a workflow: stopping the command (Ctrl-C) leaves it
running, and the same command again (same file content) follows the same run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from starter.bulk_runs import TooLarge
from starter.cli import err, out, run

POLL_SECONDS = 0.5
P = TypeVar("P")
R = TypeVar("R")


def parse_file(csv_file: Path, parse: Callable[[str], P], unreadable: type[Exception]) -> P:
    """The file parsed; a usage error (exit 2) when it cannot be read or `parse` raises
    `unreadable` (a file without the column the rows need)."""
    try:
        text = csv_file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise typer.BadParameter(f"cannot read {csv_file}: {error}", param_hint="--csv") from None
    try:
        return parse(text)
    except unreadable as error:
        raise typer.BadParameter(f"{csv_file}: {error}", param_hint="--csv") from None


def report_path(csv_file: Path, report: Path | None) -> Path:
    """Where the report goes: `--report`, or beside the file as FILE.report.csv."""
    return report or csv_file.with_name(csv_file.stem + ".report.csv")


def note_ignored(columns: list[str]) -> None:
    if columns:
        err.print(f"ignored column(s): {', '.join(columns)}", markup=False, highlight=False)


def run_file(
    start: Callable[[Any], Awaitable[tuple[Any, WorkflowHandle]]],
    *,
    verb: str,
    what: str,
    result_type: type[R],
    who: Callable[[Any], str],
    report: Path,
    as_json: bool,
) -> R:
    """Start the run (`start(access)`: the bulk client and the run's handle), follow it with a
    progress bar, print what came of it (JSON: every row): its result. A refusal of the whole
    run is exit 1; a file too large is a usage error; Ctrl-C stops following, not the work."""

    async def action(access) -> dict:
        try:
            bulk, handle = await start(access)
        except TooLarge as error:
            raise typer.BadParameter(str(error), param_hint="--csv") from None
        if not as_json:
            err.print(f"{verb} as workflow {handle.id}", markup=False, highlight=False)
        result = await follow(
            lambda: bulk.progress(handle.id),
            bulk.result(handle.id),
            lambda p: f"page {p.page}/{p.pages}: {p.tally()}",
            show_bar=not as_json,
        )
        return {"workflowId": handle.id, "report": str(report), **result.model_dump(mode="json")}

    def show(outcome: dict) -> None:
        result = result_type.model_validate(outcome)
        out.print(f"{result.total} rows: {result.tally()}; report: {report}", highlight=False)
        for row in result.rows:
            if not row.ok:
                rule = f" [{row.rule.value}]" if row.rule else ""
                out.print(
                    f"  line {row.line}: {who(row) or '-'}: {row.status.value}: {row.error}{rule}",
                    highlight=False,
                    markup=False,
                )

    try:
        outcome = run(action, as_json, show)
    except KeyboardInterrupt:
        err.print(
            f"stopped following; the {what} go on on the worker: run the same command to "
            "follow them again",
            markup=False,
        )
        raise typer.Exit(130) from None
    return result_type.model_validate(outcome)


def write_report(report: Path, text: str, rows: Iterable[Any]) -> None:
    """The report CSV; exit 1 when any row did not go through."""
    report.write_text(text, encoding="utf-8")
    if not all(row.ok for row in rows):
        raise typer.Exit(1)


async def follow(
    progress: Callable[[], Awaitable[Any]],
    result: Awaitable[Any],
    describe: Callable[[Any], str],
    show_bar: bool,
):
    """The run's result; meanwhile (unless `show_bar` is False) a progress bar on stderr,
    from the progress query (`total`, `done`, and what `describe` says of it)."""
    finished = asyncio.ensure_future(result)
    if not show_bar:
        return await finished
    columns = (
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=err) as bar:
        task = bar.add_task("starting", total=None)
        while not finished.done():
            try:
                now = await progress()
            except RPCError:  # no worker answering yet, or between two pages
                bar.update(task, description="waiting for a worker")
            else:
                bar.update(task, total=now.total, completed=now.done, description=describe(now))
            await asyncio.wait({finished}, timeout=POLL_SECONDS)
        done = finished.result()
        bar.update(task, total=done.total, completed=done.done, description="done")
    return done
