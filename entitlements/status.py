"""What a request looks like from outside: its state, its stage, its decisions, its delivery."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from entitlements.people import Person


class RequestState(StrEnum):
    PENDING_APPROVAL = "pendingApproval"
    SCHEDULED = "scheduled"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    PARTIALLY_DELIVERED = "partiallyDelivered"
    DELIVERY_FAILED = "deliveryFailed"
    DENIED = "denied"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REMOVED = "removed"


OPEN_STATES = {
    RequestState.PENDING_APPROVAL,
    RequestState.SCHEDULED,
    RequestState.DELIVERING,
    RequestState.DELIVERED,
    RequestState.PARTIALLY_DELIVERED,
    RequestState.DELIVERY_FAILED,
}


class DecisionKind(StrEnum):
    APPROVE = "approve"
    DENY = "deny"


class Decision(BaseModel):
    stage: int  # 1-based
    by: str  # the approver's email
    decision: DecisionKind
    justification: str | None = None
    at: datetime
    for_extension: bool = False  # a decision on an extension, not on the first request


class StageStatus(BaseModel):
    number: int  # 1-based
    of: int
    approvers: list[Person]  # who may decide now
    escalated: bool = False
    escalation_at: datetime | None = None
    denial_at: datetime
    justification_required: bool = False


class ResourceState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    REVOKED = "revoked"
    KEPT = "keptByAnotherAssignment"  # revoked here, still granted by another assignment


class ResourceDelivery(BaseModel):
    resource_id: str
    display_name: str
    role: str
    state: ResourceState = ResourceState.PENDING
    error_code: str | None = None
    error_message: str | None = None


class Reminder(BaseModel):
    before_end: str  # "14 days", "1 day"
    due_at: datetime
    for_end: datetime  # the end it reminded of (an extension re-arms reminders)
    sent_at: datetime


class ExtensionState(StrEnum):
    PENDING_APPROVAL = "pendingApproval"
    APPROVED = "approved"
    DENIED = "denied"
    ENDED = "endedFirst"  # the assignment ended (expired, removed) before a decision


class Extension(BaseModel):
    requested_by: str
    requested_at: datetime
    justification: str | None = None
    previous_end: datetime
    new_end: datetime
    state: ExtensionState
    decided_at: datetime | None = None
    reason: str | None = None


class AuditEvent(BaseModel):
    """Who did what, when and why: one line in the worker's log, and `accessctl audit`."""

    at: datetime
    event: str  # stable name, e.g. decision.approved, resource.granted, assignment.expired
    actor: str  # a person's email, or "system"
    request_id: str
    package: str
    user: str
    detail: dict[str, str] = {}


class RequestStatus(BaseModel):
    id: str
    request_type: str
    package_id: str
    package_display_name: str
    catalog_id: str
    policy_id: str
    policy_display_name: str
    target: Person
    requestor: Person
    state: RequestState
    waiting_for: str  # one line: what happens next
    denial_reason: str | None = None  # an approver's decision, or timed out
    stage: StageStatus | None = None
    decisions: list[Decision] = []
    resources: list[ResourceDelivery] = []
    justification: str | None = None
    answers: dict[str, str] = {}
    submitted_at: datetime
    start: datetime | None = None
    end: datetime | None = None
    delivered_at: datetime | None = None
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_reason: str | None = None
    approving: str | None = None  # "request" or "extension" while a stage is open
    reminders: list[Reminder] = []
    extensions: list[Extension] = []
