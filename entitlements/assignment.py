"""The record of one request and the assignment it becomes: everything its workflow knows.

One model, so a workflow that continues-as-new carries all of it, and the status people see is
computed from it in one place.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel

from entitlements.approval_stage import StageRun
from entitlements.people import Person
from entitlements.status import (
    AuditEvent,
    Decision,
    Extension,
    ExtensionState,
    Reminder,
    RequestState,
    RequestStatus,
    ResourceDelivery,
    ResourceState,
)

if TYPE_CHECKING:  # requests.py carries a record; a record is made from a request
    from entitlements.requests import AccessRequestInput


class AssignmentRecord(BaseModel):
    target: Person
    invited: bool = False  # accessctl invited the target as a guest
    state: RequestState = RequestState.PENDING_APPROVAL
    approving: str | None = None  # "request" or "extension" while approvals are open
    stage: StageRun | None = None
    decisions: list[Decision] = []
    denial_reason: str | None = None
    resources: dict[str, ResourceDelivery] = {}
    start: datetime | None = None
    end: datetime | None = None
    delivered_at: datetime | None = None
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_reason: str | None = None
    reminders: list[Reminder] = []
    extensions: list[Extension] = []
    audit: list[AuditEvent] = []

    @classmethod
    def new(cls, request: AccessRequestInput) -> AssignmentRecord:
        return cls(
            target=request.target,
            start=request.start,
            resources={
                g.key: ResourceDelivery(
                    resource_id=g.resource_id, display_name=g.display_name, role=g.role
                )
                for g in request.package.grants
            },
        )

    @property
    def pending_extension(self) -> Extension | None:
        pending = [e for e in self.extensions if e.state == ExtensionState.PENDING_APPROVAL]
        return pending[-1] if pending else None

    @property
    def is_live(self) -> bool:
        """Delivered (wholly or in part) and not ended: an assignment one can extend or remove."""
        return self.state in (
            RequestState.DELIVERED,
            RequestState.PARTIALLY_DELIVERED,
            RequestState.DELIVERY_FAILED,
        )

    def failed_resources(self) -> list[str]:
        return [r.display_name for r in self.resources.values() if r.state == ResourceState.FAILED]


def waiting_for(record: AssignmentRecord) -> str:
    """One line: what the request waits for now."""
    stage = record.stage
    if record.approving and stage is not None:
        names = ", ".join(p.key for p in stage.eligible) or "nobody (no approver resolved)"
        forwarded = " (forwarded to alternates)" if stage.escalated else ""
        what = "approval" if record.approving == "request" else "approval of an extension"
        return (
            f"{what} at stage {stage.number} of {stage.of}{forwarded} from {names}, "
            f"until {stage.denial_at.isoformat()}"
        )
    if record.approving:
        return "resolving approvers"
    if record.state == RequestState.SCHEDULED and record.start:
        return f"the start of access at {record.start.isoformat()}"
    if record.state == RequestState.DELIVERING:
        return "the directory to grant the package's resources"
    if record.state in (RequestState.PARTIALLY_DELIVERED, RequestState.DELIVERY_FAILED):
        return f"an operator to reprocess: failed {', '.join(record.failed_resources())}"
    if record.state == RequestState.DELIVERED:
        return (
            f"the end of access at {record.end.isoformat()}" if record.end else "removal (no end)"
        )
    return f"nothing: the request is {record.state.value}"


def status_of(request: AccessRequestInput, record: AssignmentRecord) -> RequestStatus:
    return RequestStatus(
        id=request.request_id,
        request_type=request.request_type.value,
        package_id=request.package.id,
        package_display_name=request.package.display_name,
        catalog_id=request.package.catalog_id,
        policy_id=request.policy.id,
        policy_display_name=request.policy.display_name,
        target=record.target,
        requestor=request.requestor,
        state=record.state,
        waiting_for=waiting_for(record),
        denial_reason=record.denial_reason,
        stage=record.stage.status() if record.stage else None,
        decisions=record.decisions,
        resources=list(record.resources.values()),
        justification=request.justification,
        answers=request.answers,
        submitted_at=request.submitted_at,
        start=record.start,
        end=record.end or request.end,
        delivered_at=record.delivered_at,
        ended_at=record.ended_at,
        ended_by=record.ended_by,
        end_reason=record.end_reason,
        approving=record.approving,
        reminders=record.reminders,
        extensions=record.extensions,
    )
