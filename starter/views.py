"""How requests read in a terminal: short, the state first, what the request waits for."""

from __future__ import annotations

from datetime import datetime

from rich.table import Table

from entitlements.status import RequestStatus


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


def status_lines(status: RequestStatus) -> list[str]:
    lines = [
        f"{status.id}",
        f"  state       {status.state.value}"
        + (f" ({status.denial_reason})" if status.denial_reason else ""),
        f"  waiting for {status.waiting_for}",
        f"  package     {status.package_display_name} ({status.package_id}), policy "
        f"{status.policy_id}",
        f"  for         {status.target.label()}"
        + (" [external]" if status.target.is_external else ""),
    ]
    if status.requestor.key != status.target.key:
        lines.append(f"  requested by {status.requestor.label()}")
    if status.stage:
        stage = status.stage
        lines.append(
            f"  stage       {stage.number} of {stage.of}"
            + (" (escalated)" if stage.escalated else "")
            + f", denied if undecided by {when(stage.denial_at)}"
        )
        if stage.escalation_at and not stage.escalated:
            lines.append(f"  escalates   {when(stage.escalation_at)}")
    for decision in status.decisions:
        said = f": {decision.justification}" if decision.justification else ""
        lines.append(
            f"  decision    stage {decision.stage} {decision.decision.value} by {decision.by} "
            f"at {when(decision.at)}{said}"
        )
    for resource in status.resources:
        error = f" ({resource.error_code}: {resource.error_message})" if resource.error_code else ""
        name = f"{resource.display_name} [{resource.role}]"
        lines.append(f"  resource    {name}: {resource.state.value}{error}")
    if status.start or status.end:
        lines.append(f"  access      from {when(status.start)} until {when(status.end)}")
    if status.ended_at:
        lines.append(
            f"  ended       {when(status.ended_at)} by {status.ended_by or 'system'}"
            + (f": {status.end_reason}" if status.end_reason else "")
        )
    return lines


def request_table(rows: list[dict], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("request", "package", "user", "state", "ends"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["id"], row["package"], row["user"], row["state"], when(row["end"]))
    return table


def audit_table(events) -> Table:
    table = Table(title=f"{len(events)} event(s)", title_justify="left")
    for column in ("when", "event", "actor", "request", "detail"):
        table.add_column(column, overflow="fold")
    for event in events:
        detail = ", ".join(f"{k}={v}" for k, v in event.detail.items() if v)
        table.add_row(when(event.at), event.event, event.actor, event.request_id, detail)
    return table
