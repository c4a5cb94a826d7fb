"""Mail the product sends (SEMANTICS.md "Notifications"): what happened, to whom, with what facts.

Workflows decide that a mail goes out and with which facts; the notification activity renders
it. Wording can change without touching running workflows.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from entitlements.people import Person


class NotificationKind(StrEnum):
    APPROVAL_REQUIRED = "approvalRequired"
    ESCALATED = "escalated"
    APPROVED = "approved"
    DENIED = "denied"
    TIMED_OUT = "timedOut"
    CANCELED = "canceled"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "deliveryFailed"
    EXPIRY_REMINDER = "expiryReminder"
    EXTENDED = "extended"
    ACCESS_ENDED = "accessEnded"
    REVIEW_STARTED = "reviewStarted"  # to reviewers: an access review waits for them
    REVIEW_REMINDER = "reviewReminder"  # to reviewers with undecided items, at the midpoint


class Notification(BaseModel):
    kind: NotificationKind
    sender: str  # the mailbox mail is sent from
    recipients: list[Person]
    request_id: str  # the request, or the access review, the mail is about
    package: str  # display name
    target: Person | None = None  # None in review mail: it is about many assignments
    requestor: Person | None = None
    justification: str | None = None
    answers: dict[str, str] = {}
    stage: int | None = None
    stages: int | None = None
    deadline: datetime | None = None
    decided_by: str | None = None
    decision_justification: str | None = None
    end: datetime | None = None
    detail: str | None = None
