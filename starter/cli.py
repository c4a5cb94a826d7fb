"""`accessctl`: the command line over the client. Exit 0 on success, 1 when refused, 2 on usage."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from entitlements.base import parse_moment
from entitlements.loading import InvalidCatalogError, load_catalog, summary
from entitlements.refusals import RequestRefused
from entitlements.status import RequestState

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
catalog_app = typer.Typer(no_args_is_help=True, help="Check and apply the catalog file.")
app.add_typer(catalog_app, name="catalog")

# Piped output is read by scripts and people alike: wide enough that rows never wrap. Ids and
# messages are printed as they are: `access:key:ann@x` must not become an emoji.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200, emoji=False)
err = Console(stderr=True, soft_wrap=True, emoji=False)

DEFAULT_CATALOG = "examples/catalog.yaml"


def catalog_path(file: Path | None) -> Path:
    return file or Path(os.environ.get("ACCESSCTL_CATALOG", DEFAULT_CATALOG))


@catalog_app.command("validate")
def catalog_validate(
    file: Path | None = typer.Argument(None, help="Catalog YAML (default: $ACCESSCTL_CATALOG)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Check a catalog file; print every problem with its place in the file."""
    path = catalog_path(file)
    try:
        catalog_file = load_catalog(path)
    except InvalidCatalogError as error:
        if as_json:
            problems = [
                {"path": p.path, "line": p.line, "message": p.message} for p in error.problems
            ]
            out.print_json(json.dumps({"file": str(path), "valid": False, "problems": problems}))
        else:
            err.print(f"[red]{path}: {len(error.problems)} problem(s)[/red]", highlight=False)
            for problem in error.problems:
                err.print(f"  {problem}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    if as_json:
        out.print_json(
            json.dumps({"file": str(path), "valid": True, "summary": summary(catalog_file)})
        )
    else:
        out.print(f"{path}: valid: {summary(catalog_file)}", highlight=False)


# ---- requests ---------------------------------------------------------------------------

JSON_OPTION = typer.Option(False, "--json", help="Machine-readable output.")


def run(
    action: Callable[[Any], Awaitable[Any]],
    as_json: bool,
    show: Callable[[Any], None],
    connect: Callable[[], Awaitable[Any]] | None = None,
):
    """Connect (an AccessClient unless told), act, print; a refusal is exit 1 with its rule."""
    from starter.client import AccessClient

    async def go():
        try:
            access = await (connect or AccessClient.connect)()
        except RuntimeError as error:  # the SDK raises RuntimeError when it cannot connect
            raise ConnectionError(str(error)) from error
        return await action(access)

    try:
        result = asyncio.run(go())
    except RequestRefused as refusal:
        if as_json:
            out.print_json(json.dumps({"refused": refusal.rule.value, "message": refusal.message}))
        else:
            err.print(f"refused: {refusal.message} [{refusal.rule.value}]", markup=False)
        raise typer.Exit(1) from None
    except ConnectionError as error:
        address = os.environ.get("TEMPORAL_ADDRESS", "localhost:7233")
        err.print(f"cannot reach Temporal at {address}: {error}", markup=False)
        raise typer.Exit(1) from None
    if as_json:
        out.print_json(json.dumps(_jsonable(result)))
    else:
        show(result)
    return result


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def parse_answers(answers: list[str]) -> dict[str, str]:
    parsed = {}
    for answer in answers:
        question, equals, value = answer.partition("=")
        if not equals or not question:
            raise typer.BadParameter(f"'{answer}' is not QUESTION_ID=VALUE", param_hint="--answer")
        parsed[question.strip()] = value
    return parsed


def parse_time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_moment(value)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint=option) from None


@app.command()
def request(
    package: str = typer.Argument(..., help="Access package id."),
    target: str = typer.Option(..., "--for", help="Who gets access: email, UPN or object id."),
    requestor: str | None = typer.Option(None, "--by", help="Who asks (default: --for)."),
    policy: str | None = typer.Option(None, "--policy", help="Policy id, when several apply."),
    justification: str | None = typer.Option(None, "--justification"),
    answer: list[str] = typer.Option([], "--answer", help="QUESTION_ID=VALUE, repeatable."),
    start: str | None = typer.Option(None, "--start", help="ISO 8601 start (custom schedule)."),
    end: str | None = typer.Option(None, "--end", help="ISO 8601 end (custom schedule)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Request an access package; prints the request id."""
    answers = parse_answers(answer)
    starts, ends = parse_time(start, "--start"), parse_time(end, "--end")
    run(
        lambda access: access.request_access(
            package, target, requestor=requestor, policy=policy, justification=justification,
            answers=answers, start=starts, end=ends,
        ),
        as_json,
        lambda request_id: out.print(request_id, highlight=False),
    )  # fmt: skip


def _decide(request_id: str, approver: str, justification: str | None, approve: bool, as_json):
    verb = "approved" if approve else "denied"
    run(
        lambda access: (access.approve if approve else access.deny)(
            request_id, approver, justification
        ),
        as_json,
        lambda decision: out.print(
            f"{verb}: stage {decision.stage} of {request_id} by {decision.by}", highlight=False
        ),
    )


@app.command()
def approve(
    request_id: str = typer.Argument(...),
    approver: str = typer.Option(..., "--as", help="The approver deciding."),
    justification: str | None = typer.Option(None, "--justification"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Approve the current stage of a request."""
    _decide(request_id, approver, justification, True, as_json)


@app.command()
def deny(
    request_id: str = typer.Argument(...),
    approver: str = typer.Option(..., "--as", help="The approver deciding."),
    justification: str | None = typer.Option(None, "--justification"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Deny a request at its current stage (ends the request)."""
    _decide(request_id, approver, justification, False, as_json)


@app.command()
def cancel(
    request_id: str = typer.Argument(...),
    by: str = typer.Option(..., "--as", help="The requestor."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Cancel a pending request (requestor only)."""

    async def act(access) -> dict:
        await access.cancel(request_id, by)
        return {"id": request_id, "canceled": True, "by": by}

    run(act, as_json, lambda _: out.print(f"canceled: {request_id}", highlight=False))


@app.command()
def status(request_id: str = typer.Argument(...), as_json: bool = JSON_OPTION) -> None:
    """A request's state, what it waits for, its decisions and resources."""
    from starter.views import status_lines

    run(
        lambda access: access.status(request_id),
        as_json,
        lambda found: out.print("\n".join(status_lines(found)), highlight=False, markup=False),
    )


@app.command("list")
def list_requests(
    package: str | None = typer.Option(None, "--package"),
    user: str | None = typer.Option(None, "--user", help="Target user's email."),
    # a choice, so a misspelt state is a usage error naming the states, not an empty list
    state: RequestState | None = typer.Option(None, "--state"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Requests and assignments matching the filters (Temporal visibility)."""
    from starter.views import request_table

    wanted = state.value if state else None
    run(
        lambda access: access.list_requests(package=package, user=user, state=wanted),
        as_json,
        lambda rows: out.print(request_table(rows, f"{len(rows)} request(s)")),
    )


@app.command()
def pending(
    approver: str = typer.Option(..., "--approver", help="Email, UPN or object id."),
    as_json: bool = JSON_OPTION,
) -> None:
    """The requests this person may decide now."""
    from starter.views import request_table

    run(
        lambda access: access.pending_for(approver),
        as_json,
        lambda rows: out.print(request_table(rows, f"{len(rows)} waiting for {approver}")),
    )


@app.command()
def remove(
    request_id: str = typer.Argument(...),
    by: str = typer.Option(..., "--as", help="The target (when allowed) or an administrator."),
    reason: str | None = typer.Option(None, "--reason"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Remove an assignment now: its resources are revoked."""

    async def act(access) -> dict:
        await access.remove(request_id, by, reason)
        return {"id": request_id, "removed": True, "by": by, "reason": reason}

    run(act, as_json, lambda _: out.print(f"removed: {request_id}", highlight=False))


@app.command()
def extend(
    request_id: str = typer.Argument(...),
    by: str = typer.Option(..., "--as", help="The person who holds the access."),
    end: str | None = typer.Option(None, "--end", help="ISO 8601 end (custom schedule)."),
    justification: str | None = typer.Option(None, "--justification"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Extend your access: at once, or after the policy's approvers agree."""
    ends = parse_time(end, "--end")
    run(
        lambda access: access.extend(request_id, by, end=ends, justification=justification),
        as_json,
        lambda extension: out.print(
            f"extension {extension.state.value}: {request_id} until "
            f"{extension.new_end.isoformat()}",
            highlight=False,
        ),
    )


@app.command()
def audit(
    since: str | None = typer.Option(None, "--since", help="ISO 8601: events from then on."),
    package: str | None = typer.Option(None, "--package"),
    user: str | None = typer.Option(None, "--user", help="Target user's email."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Who did what, when and why: requests, decisions, grants, revokes, extensions, removals."""
    from starter.views import audit_table

    starts = parse_time(since, "--since")
    run(
        lambda access: access.audit_trail(package=package, user=user, since=starts),
        as_json,
        lambda events: out.print(audit_table(events)),
    )


@app.command()
def reprocess(request_id: str = typer.Argument(...), as_json: bool = JSON_OPTION) -> None:
    """Retry the resources that failed to deliver."""
    from starter.views import status_lines

    run(
        lambda access: access.reprocess(request_id),
        as_json,
        lambda found: out.print("\n".join(status_lines(found)), highlight=False, markup=False),
    )


import starter.cli_assignments  # noqa: E402, F401  (registers `assign`)
import starter.cli_guests  # noqa: E402, F401  (registers `guest status` and `guest govern`)
import starter.cli_invitations  # noqa: E402, F401  (registers `invite`)
import starter.cli_reviews  # noqa: E402, F401  (registers `catalog apply` and `review`)


def main() -> None:
    """The `accessctl` entry point. It leaves with os._exit once output is flushed: the
    Temporal client's runtime thread can otherwise abort the interpreter at shutdown after the
    work is done (temporalio/sdk-python#300), turning a success into exit 134."""
    try:
        app()
        code = 0
    except SystemExit as leaving:
        code = leaving.code if isinstance(leaving.code, int) else (0 if leaving.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
