"""Messages people send to a running request: decisions, cancellation, removal."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from entitlements.status import DecisionKind


class DecisionInput(BaseModel):
    approver: str  # email, user principal name or object id
    decision: DecisionKind
    justification: str | None = None


class CancelInput(BaseModel):
    by: str


class RemoveInput(BaseModel):
    by: str
    reason: str | None = None


class ExtendInput(BaseModel):
    by: str  # the target: only they extend their own access
    end: datetime | None = None  # a chosen end, when the policy allows a custom schedule
    justification: str | None = None
