"""Grants and revocations sent to a user's access workflow, and what came of them."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel

from entitlements.people import Person
from entitlements.requests import ResourceGrant
from entitlements.status import ResourceState


class ChangeKind(StrEnum):
    GRANT = "grant"
    REVOKE = "revoke"


class AccessChange(BaseModel):
    change_id: str  # unique; a change delivered twice is applied once
    kind: ChangeKind
    assignment_id: str  # the request workflow that holds (or gives up) these roles
    user: Person  # has an object id
    grants: list[ResourceGrant]
    managed_guest: bool = False  # invited by accessctl: its lifecycle is ours to manage
    reply_to: str | None = None  # workflow id to signal the result to


class ResourceOutcome(BaseModel):
    resource_id: str
    role: str
    state: ResourceState
    error_code: str | None = None
    error_message: str | None = None
    graph_called: bool = False


class ChangeResult(BaseModel):
    change_id: str
    outcomes: list[ResourceOutcome]


class GrantCall(BaseModel):
    """One directory call: grant or revoke one resource role for one user."""

    grant: ResourceGrant
    principal_id: str
    assignment_id: str | None = None  # the request this call serves, for the logs


GRAPH_ERROR_PREFIX = "Graph"  # ApplicationError types for Graph failures start with this
