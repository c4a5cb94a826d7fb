"""`accessctl assign`: direct assignment by an administrator (adminAdd), one user or a CSV
file's worth (Entra's portal cannot do a file).

    accessctl assign PACKAGE --for USER --as ADMIN [--end ISO] [--policy POLICY]
    accessctl assign PACKAGE --csv FILE --as ADMIN [--end ISO] [--policy POLICY] [--report OUT.csv]

One user: prints the request id; exit 1 when refused (the message names the rule). A file
(a user column `UserPrincipalName`, `Email`, `User` or `ObjectId`, and an optional `End` per
row that overrides `--end`): a progress bar while the worker assigns, then a report CSV (line,
user, status assigned/alreadyAssigned/refused/invalid/failed, requestId, error; default
FILE's name with `.report.csv`); exit 0 when every row is assigned or already assigned, 1 when
any row was refused, invalid or failed, or the whole file was refused (not an administrator,
an unknown package or policy: nothing assigned, no report), 2 for usage errors and a file
that cannot be read. Every row goes through the single assignment's rules.

Registered on `starter.cli.app` when starter.cli imports this module.
"""

from __future__ import annotations

from pathlib import Path

import typer

from entitlements.bulk_assignment import (
    AssignmentCsvError,
    BulkAssignmentResult,
    assignment_report_csv,
    parse_assignment_csv,
)
from starter.assignments import AssignmentClient
from starter.cli import JSON_OPTION, app, out, parse_time, run
from starter.cli_bulk import note_ignored, parse_file, report_path, run_file, write_report


@app.command()
def assign(
    package: str = typer.Argument(..., help="Access package id."),
    target: str | None = typer.Option(
        None, "--for", help="Who gets access: email, UPN or object id (or use --csv)."
    ),
    csv_file: Path | None = typer.Option(
        None,
        "--csv",
        help="Assign every row's user: a UserPrincipalName, Email, User or ObjectId column, "
        "and an optional End column.",
        dir_okay=False,
    ),
    admin: str = typer.Option(..., "--as", help="The administrator."),
    end: str | None = typer.Option(
        None, "--end", help="ISO 8601 end within the policy (a file's End column overrides it)."
    ),
    policy: str | None = typer.Option(None, "--policy"),
    report: Path | None = typer.Option(
        None,
        "--report",
        help="Where the per-row report goes (default: FILE.report.csv).",
        dir_okay=False,
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Assign a package directly (adminAdd): no approval, no completion mail; one user or a
    CSV file's users."""
    if (target is None) == (csv_file is None):
        raise typer.BadParameter("give one user with --for, or --csv FILE", param_hint="--for")
    ends = parse_time(end, "--end")
    if target is not None:
        if report is not None:
            raise typer.BadParameter("--report goes with --csv", param_hint="--report")
        run(
            lambda access: access.assign(package, target, admin=admin, end=ends, policy=policy),
            as_json,
            lambda request_id: out.print(request_id, highlight=False),
        )
        return
    assert csv_file is not None
    _assign_file(csv_file, report, package, admin, ends, policy, as_json)


def _assign_file(csv_file, report, package, admin, end, policy, as_json) -> None:
    parsed = parse_file(csv_file, parse_assignment_csv, AssignmentCsvError)
    note_ignored(parsed.ignored_columns)
    report = report_path(csv_file, report)

    async def start(access):
        assignments = AssignmentClient.of(access)
        handle = await assignments.start_bulk(
            parsed, package, admin=admin, end=end, policy=policy, source=csv_file.name
        )
        return assignments, handle

    result = run_file(
        start, verb="assigning", what="assignments", result_type=BulkAssignmentResult,
        who=lambda row: row.user, report=report, as_json=as_json,
    )  # fmt: skip
    write_report(report, assignment_report_csv(result.rows), result.rows)
