"""`accessctl invite`: invite external users as guests, one or a CSV file's worth.

    accessctl invite EMAIL [--name NAME] [--redirect-url URL] [--message TEXT] [--send-mail]
    accessctl invite --csv FILE [--report OUT.csv] [--redirect-url URL] [--message TEXT]
                     [--send-mail | --no-send-mail]

One guest: exit 0 invited or already in the directory, 1 refused (a malformed address, a
domain the catalog's invitation settings deny or do not allow: `[invitationDomain]`) or
refused by Graph, 2 usage. A file: a progress bar while the worker invites, then a report CSV
(line, email, status invited/existing/failed/invalid, objectId, error; default FILE's name
with `.report.csv`); exit 0 when every row is invited or existing, 1 when any row failed or
was invalid, 2 when the file cannot be read. `--redirect-url`, `--message` and `--send-mail`
are defaults for rows that say nothing; the catalog's settings are the defaults of those.

The invitations run on the worker as workflows; stopping this command leaves them running,
and the same command again (same file content) follows the same run.

Registered on `starter.cli.app` when starter.cli imports this module.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from entitlements.invitations import (
    BulkInvitationResult,
    InvitationCsvError,
    InvitationResult,
    InvitationStatus,
    ParsedInvitations,
    invalid_redirect_url,
    parse_invitation_csv,
    report_csv,
)
from starter.cli import JSON_OPTION, app, err, out, run
from starter.cli_bulk import note_ignored, parse_file, report_path, run_file, write_report
from starter.invitations import InvitationClient, InvitationFailed


@app.command()
def invite(
    email: str | None = typer.Argument(None, help="The address to invite (or use --csv)."),
    csv_file: Path | None = typer.Option(
        None,
        "--csv",
        help="Invite every row: UserPrincipalName,DisplayName,InviteRedirectUrl "
        "or Entra's bulk-invite template.",
        dir_okay=False,
    ),
    report: Path | None = typer.Option(
        None,
        "--report",
        help="Where the per-row report goes (default: FILE.report.csv).",
        dir_okay=False,
    ),
    name: str | None = typer.Option(None, "--name", help="The guest's display name."),
    redirect_url: str | None = typer.Option(
        None, "--redirect-url", help="Where the guest lands (default: the catalog settings')."
    ),
    message: str | None = typer.Option(None, "--message", help="Text for the invitation mail."),
    send_mail: bool | None = typer.Option(
        None,
        "--send-mail/--no-send-mail",
        help="Send Microsoft's invitation mail (default: the catalog settings').",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Invite an external user as a guest, or every row of a CSV file."""
    if (email is None) == (csv_file is None):
        raise typer.BadParameter("give one EMAIL, or --csv FILE", param_hint="EMAIL")
    if redirect_url and (problem := invalid_redirect_url(redirect_url)):
        raise typer.BadParameter(problem, param_hint="--redirect-url")
    if email is not None:
        if report is not None:
            raise typer.BadParameter("--report goes with --csv", param_hint="--report")
        _invite_one(email, name, redirect_url, message, send_mail, as_json)
        return
    assert csv_file is not None
    if name is not None:
        raise typer.BadParameter("a file names its guests in DisplayName", param_hint="--name")
    _invite_file(csv_file, report, redirect_url, message, send_mail, as_json)


# ------------------------------------------------------------------------------ one guest
def _invite_one(email, name, redirect_url, message, send_mail, as_json) -> None:
    try:
        run(
            lambda access: InvitationClient.of(access).invite(
                email, display_name=name, redirect_url=redirect_url, message=message,
                send_mail=send_mail,
            ),
            as_json,
            _show_one,
        )  # fmt: skip
    except InvitationFailed as failure:
        if as_json:
            out.print_json(json.dumps(failure.result.model_dump(mode="json")))
        else:
            err.print(f"failed: {failure}", markup=False, highlight=False)
        raise typer.Exit(1) from None


def _show_one(result: InvitationResult) -> None:
    if result.status == InvitationStatus.EXISTING:
        out.print(f"already in the directory: {result.email} {result.object_id}", highlight=False)
        return
    out.print(f"invited: {result.email} {result.object_id}", highlight=False)
    if result.redeem_url:
        out.print(f"  redeem: {result.redeem_url}", highlight=False, markup=False)


# ----------------------------------------------------------------------------------- file
def _with_defaults(parsed: ParsedInvitations, redirect_url, message, send_mail) -> None:
    defaults = {"redirect_url": redirect_url, "message": message, "send_mail": send_mail}
    defaults = {k: v for k, v in defaults.items() if v is not None}
    if defaults:
        parsed.rows = [
            row.model_copy(update={k: v for k, v in defaults.items() if getattr(row, k) is None})
            for row in parsed.rows
        ]


def _invite_file(csv_file, report, redirect_url, message, send_mail, as_json) -> None:
    parsed = parse_file(csv_file, parse_invitation_csv, InvitationCsvError)
    _with_defaults(parsed, redirect_url, message, send_mail)
    note_ignored(parsed.ignored_columns)
    report = report_path(csv_file, report)

    async def start(access):
        invitations = InvitationClient.of(access)
        return invitations, await invitations.start_bulk(parsed, source=csv_file.name)

    result = run_file(
        start, verb="inviting", what="invitations", result_type=BulkInvitationResult,
        who=lambda row: row.email, report=report, as_json=as_json,
    )  # fmt: skip
    write_report(report, report_csv(result.rows), result.rows)
