"""`accessctl catalog apply` and `accessctl review ...`: access reviews on the command line.

Registered on `starter.cli.app` when starter.cli imports this module. Exit 0 on success, 1 when
refused (the message names the rule) or the catalog is invalid, 2 for usage errors.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from entitlements.loading import InvalidCatalogError, load_catalog
from entitlements.status import DecisionKind
from starter.cli import JSON_OPTION, app, catalog_app, catalog_path, err, out, run
from starter.views import when

review_app = typer.Typer(
    no_args_is_help=True,
    help="Access reviews: what waits for a reviewer, decisions, a review's report.",
)
app.add_typer(review_app, name="review")


def _run(action: Callable[[Any], Awaitable[Any]], as_json: bool, show: Callable[[Any], None]):
    from starter.reviews import ReviewClient

    return run(action, as_json, show, connect=ReviewClient.connect)


# ---- catalog apply ------------------------------------------------------------------------------


@catalog_app.command("apply")
def catalog_apply(
    file: Path | None = typer.Argument(None, help="Catalog YAML (default: $ACCESSCTL_CATALOG)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create, update and delete the review schedules to match the file; print what changed."""
    from activities.temporal_client import connect_temporal, task_queue
    from starter.review_schedules import apply_review_schedules, desired_schedules

    path = catalog_path(file)
    try:
        catalog_file = load_catalog(path)
    except InvalidCatalogError as error:
        err.print(f"{path}: {len(error.problems)} problem(s); nothing applied", markup=False)
        for problem in error.problems:
            err.print(f"  {problem}", highlight=False, markup=False)
        raise typer.Exit(1) from None

    async def apply():
        try:
            client = await connect_temporal()
        except RuntimeError as error:
            raise ConnectionError(str(error)) from error
        return await apply_review_schedules(client, catalog_file, task_queue())

    try:
        desired_schedules(catalog_file, task_queue())
    except ValueError as error:  # what the validator does not check yet: an unknown time zone
        err.print(f"{path}: {error}; nothing applied", markup=False)
        raise typer.Exit(1) from None
    try:
        result = asyncio.run(apply())
    except ConnectionError as error:
        address = os.environ.get("TEMPORAL_ADDRESS", "localhost:7233")
        err.print(f"cannot reach Temporal at {address}: {error}", markup=False)
        raise typer.Exit(1) from None
    if as_json:
        out.print_json(json.dumps({"file": str(path), **result.model_dump(mode="json")}))
        return
    for schedule_id, label in result.created.items():
        out.print(f"created {schedule_id}: {label}", highlight=False, markup=False)
    for schedule_id, changes in result.updated.items():
        out.print(f"updated {schedule_id}: {', '.join(changes)}", highlight=False, markup=False)
    for schedule_id in result.deleted:
        out.print(f"deleted {schedule_id}", highlight=False, markup=False)
    for schedule_id in result.not_ours:
        err.print(f"left alone {schedule_id}: not created by accessctl", markup=False)
    if not result.changed:
        out.print(
            f"no changes: {len(result.unchanged)} review schedule(s) match {path}",
            highlight=False,
            markup=False,
        )


# ---- reviews ------------------------------------------------------------------------------------


def _recommendation(rec) -> str:
    return f"{rec.decision.value} ({rec.reason})" if rec else "-"


def _decision(decision) -> str:
    if decision is None:
        return "-"
    said = f": {decision.justification}" if decision.justification else ""
    return f"{decision.decision.value} by {decision.by}{said}"


@review_app.command("list")
def review_list(
    reviewer: str | None = typer.Option(
        None, "--reviewer", help="Email, UPN or object id: what this person may decide."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """What a reviewer may decide in open reviews (no --reviewer: the open reviews)."""
    if reviewer is None:

        async def reviews(client):
            return [await client.view(review_id) for review_id in await client.running_reviews()]

        def show_reviews(views) -> None:
            table = Table(title=f"{len(views)} open review(s)", title_justify="left")
            for column in ("review", "package", "policy", "phase", "assignments", "ends"):
                table.add_column(column, overflow="fold")
            for v in views:
                table.add_row(
                    v.review_id,
                    v.scope.package_id,
                    v.scope.policy_id,
                    v.phase.value,
                    str(v.targets),
                    when(v.ends_at),
                )
            out.print(table)

        _run(reviews, as_json, show_reviews)
        return

    def show(rows) -> None:
        table = Table(title=f"{len(rows)} to review for {reviewer}", title_justify="left")
        for column in ("review", "user", "request", "recommendation", "decision", "ends"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(
                row.review_id,
                row.target,
                row.request_id,
                _recommendation(row.recommendation),
                _decision(row.decision),
                when(row.ends_at),
            )
        out.print(table)

    _run(lambda client: client.pending_for(reviewer), as_json, show)


@review_app.command("decide")
def review_decide(
    review_id: str = typer.Argument(..., help="The review's id (review:PACKAGE:POLICY-TIME)."),
    target: str = typer.Argument(..., help="The user (email, UPN, object id) or request id."),
    decision: DecisionKind = typer.Argument(..., help="approve or deny."),
    reviewer: str = typer.Option(..., "--as", help="The reviewer deciding."),
    justification: str | None = typer.Option(None, "--justification"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Approve or deny one assignment in a review (a reviewer may change it until the end)."""
    _run(
        lambda client: client.decide(review_id, target, reviewer, decision, justification),
        as_json,
        lambda item: out.print(
            f"{item.decision.decision.value}: {item.target.key} ({item.request_id}) "
            f"by {item.decision.by} in {review_id}",
            highlight=False,
            markup=False,
        ),
    )


@review_app.command("report")
def review_report(
    review_id: str = typer.Argument(...),
    csv_out: Path | None = typer.Option(
        None, "--csv", help="Write the report as CSV to this file ('-': standard output)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """A review's result: each assignment's decision, reviewer, time, justification,
    recommendation, and what was applied."""
    from starter.reviews import report_csv

    def show(report) -> None:
        if csv_out is not None:
            text = report_csv(report)
            if str(csv_out) == "-":
                sys.stdout.write(text)
            else:
                csv_out.write_text(text)
                out.print(
                    f"{len(report.rows)} row(s) written to {csv_out}", highlight=False, markup=False
                )
            return
        view, totals = report.review, report.totals
        out.print(
            f"{view.review_id}: {view.phase.value}, {view.scope.package_id} / "
            f"{view.scope.policy_id}, {when(view.period_start)} to {when(view.ends_at)}\n"
            f"  {totals.items} assignment(s): {totals.approved} approved, {totals.denied} "
            f"denied, {totals.items - totals.decided} not reviewed; {totals.kept} kept, "
            f"{totals.removed} removed, {totals.already_ended} had already ended",
            highlight=False,
            markup=False,
        )
        table = Table(title_justify="left")
        columns = ("user", "decision", "by", "at", "justification", "recommendation", "applied")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in report.rows:
            rec = (
                f"{row.recommendation} ({row.recommendation_reason})" if row.recommendation else "-"
            )
            table.add_row(
                row.target,
                row.decision or "-",
                row.decided_by or "-",
                when(row.decided_at),
                row.justification or "-",
                rec,
                row.applied.value,
            )
        out.print(table)

    _run(lambda client: client.report(review_id), as_json and csv_out is None, show)
