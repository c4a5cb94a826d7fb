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
from typing import Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from temporalio.service import RPCError

from starter.cli import err, out, run

POLL_SECONDS = 0.5


def read_text(csv_file: Path) -> str:
    try:
        return csv_file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise typer.BadParameter(f"cannot read {csv_file}: {error}", param_hint="--csv") from None


def report_path(csv_file: Path, report: Path | None) -> Path:
    """Where the report goes: `--report`, or beside the file as FILE.report.csv."""
    return report or csv_file.with_name(csv_file.stem + ".report.csv")


def note_ignored(columns: list[str]) -> None:
    if columns:
        err.print(f"ignored column(s): {', '.join(columns)}", markup=False, highlight=False)


def run_file(action: Callable[[Any], Awaitable[dict]], as_json: bool, show, what: str) -> dict:
    """`run` for a file's command: Ctrl-C stops following, not the work (exit 130)."""
    try:
        return run(action, as_json, show)
    except KeyboardInterrupt:
        err.print(
            f"stopped following; the {what} go on on the worker: run the same command to "
            "follow them again",
            markup=False,
        )
        raise typer.Exit(130) from None


def write_report(report: Path, text: str, all_ok: bool) -> None:
    report.write_text(text, encoding="utf-8")
    if not all_ok:
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


def show_bad_rows(lines: Iterable[tuple[int, str, str, str | None, Any]]) -> None:
    """One line a row that did not go through: (line, who, status, error, rule)."""
    for line, who, status, error, rule in lines:
        named = f" [{rule.value}]" if rule else ""
        out.print(
            f"  line {line}: {who or '-'}: {status}: {error}{named}",
            highlight=False,
            markup=False,
        )
