"""The tenant seed file (examples/tenant.yaml) as pydantic models.

People and groups refer to users by userPrincipalName, mail or object id; the references
are resolved when the directory is built from the seed (graph_emulator.directory).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field


class _Seed(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TenantInfo(_Seed):
    id: str
    displayName: str
    verifiedDomains: list[str] = Field(min_length=1)
    initialDomain: str


class SeedUser(_Seed):
    id: str
    displayName: str
    userPrincipalName: str
    mail: str | None = None
    otherMails: list[str] = []
    userType: Literal["Member", "Guest"] = "Member"
    manager: str | None = None
    lastSignInDateTime: datetime | None = None
    accountEnabled: bool = True


class SeedGroup(_Seed):
    id: str
    displayName: str
    groupTypes: list[str] = []
    members: list[str] = []
    owners: list[str] = []


class SeedAppRole(_Seed):
    id: str
    value: str
    displayName: str


class SeedServicePrincipal(_Seed):
    id: str
    displayName: str
    appId: str
    appRoles: list[SeedAppRole] = []


class SeedSite(_Seed):
    id: str
    displayName: str
    webUrl: str
    groupId: str


class SeedOtherTenant(_Seed):
    id: str
    displayName: str
    verifiedDomains: list[str] = Field(min_length=1)


class TenantSeed(_Seed):
    tenant: TenantInfo
    users: list[SeedUser] = []
    groups: list[SeedGroup] = []
    servicePrincipals: list[SeedServicePrincipal] = []
    sites: list[SeedSite] = []
    otherTenants: list[SeedOtherTenant] = []


def load_seed(path: str | Path) -> TenantSeed:
    """Read and validate a tenant seed YAML file."""
    with open(path, encoding="utf-8") as f:
        return TenantSeed.model_validate(yaml.safe_load(f))


def default_seed_path() -> Path:
    """examples/tenant.yaml of this checkout."""
    return Path(__file__).resolve().parent.parent / "examples" / "tenant.yaml"
