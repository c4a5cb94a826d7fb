"""What a request carries: the ask (from a client), and the snapshot a workflow starts with.

A request carries a snapshot of its package and policy, so editing the catalog never changes a
request already in flight (SEMANTICS.md: "Changing a policy does not change requests already
pending or assignments already delivered").
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from entitlements.assignment import AssignmentRecord
from entitlements.catalog import ConnectedOrganization, ResourceType, Settings
from entitlements.people import Person
from entitlements.policy import AssignmentPolicy


class RequestType(StrEnum):
    USER_ADD = "userAdd"
    ADMIN_ADD = "adminAdd"


class AccessAsk(BaseModel):
    """What a service or person asks for; the worker resolves and checks it."""

    package_id: str
    target: str  # email, user principal name or object id
    requestor: str | None = None  # who asks; the target when omitted
    policy_id: str | None = None
    justification: str | None = None
    answers: dict[str, str] = {}
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    request_type: RequestType = RequestType.USER_ADD

    @property
    def asked_by(self) -> str:
        return self.requestor or self.target


class ResourceGrant(BaseModel):
    """One resource role of a package, as the directory needs it."""

    model_config = ConfigDict(frozen=True)

    resource_id: str
    display_name: str
    type: ResourceType
    origin_id: str  # group, service principal or site object id
    role: str  # Member / Owner / an app role's name
    app_role_id: str | None = None
    group_id: str | None = None  # a site's Microsoft 365 group

    @property
    def key(self) -> str:
        """Two packages granting the same role on the same object share this key."""
        target = self.group_id if self.type == ResourceType.SITE else self.origin_id
        role = self.app_role_id if self.type == ResourceType.APPLICATION else self.role
        kind = "application" if self.type == ResourceType.APPLICATION else "group"
        return f"{kind}:{target}:{role}"

    def label(self) -> str:
        return f"{self.display_name} ({self.role})"


class PackageSnapshot(BaseModel):
    id: str
    display_name: str
    description: str = ""
    catalog_id: str
    catalog_display_name: str
    grants: list[ResourceGrant]


class AccessRequestInput(BaseModel):
    """Everything a request workflow needs, resolved and checked at intake."""

    request_id: str
    request_type: RequestType
    package: PackageSnapshot
    policy: AssignmentPolicy
    target: Person
    requestor: Person
    connected_organization: ConnectedOrganization | None = None
    justification: str | None = None
    answers: dict[str, str] = {}
    start: datetime | None = None  # a requested future start; None = at once
    end: datetime | None = None  # a requested end (custom schedule or an administrator's)
    settings: Settings = Field(default_factory=Settings)
    submitted_at: datetime
    # Continue-as-new: the record so far (None on the first run), and the history length at
    # which a run hands over to the next one.
    record: AssignmentRecord | None = None
    history_limit: int = 1_000


REQUEST_ID_PREFIX = "access:"


def request_id_for(package_id: str, target: Person) -> str:
    """One request (and then assignment) per package and user: the workflow id says both."""
    return f"{REQUEST_ID_PREFIX}{package_id}:{target.key}"


def user_workflow_id(user_object_id: str) -> str:
    return f"user:{user_object_id}"


class ScopeCheck(BaseModel):
    """Is this user still in the policy's scope (for an extension)?"""

    package_id: str
    policy: AssignmentPolicy
    target: Person
