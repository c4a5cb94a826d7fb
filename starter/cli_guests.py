"""`accessctl guest`: a guest's lifecycle (active, blocked since, deletion due), and marking an
existing guest as governed by accessctl. Registered on `starter.cli.app` on import."""

from __future__ import annotations

import typer

from starter.cli import JSON_OPTION, app, out, run
from starter.guests import guest_status, mark_governed, status_lines

guest_app = typer.Typer(no_args_is_help=True, help="External users accessctl manages.")
app.add_typer(guest_app, name="guest")


@guest_app.command("status")
def status(
    user: str = typer.Argument(..., help="The guest's email or object id."),
    as_json: bool = JSON_OPTION,
) -> None:
    """The guest's lifecycle: active, blocked since, deletion due at, live assignments."""
    run(
        lambda access: guest_status(access.client, user),
        as_json,
        lambda view: out.print("\n".join(status_lines(view)), highlight=False, markup=False),
    )


@guest_app.command("govern")
def govern(
    user: str = typer.Argument(..., help="The guest's object id (or an address accessctl knows)."),
    admin: str = typer.Option(..., "--as", help="The administrator."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Mark an existing guest as governed: blocked and deleted when their last access ends."""
    run(
        lambda access: mark_governed(access.client, access.task_queue, user, admin),
        as_json,
        lambda view: out.print("\n".join(status_lines(view)), highlight=False, markup=False),
    )
