"""Test data: catalogs built from the example with the changes a test needs, and a worker."""

from __future__ import annotations

import copy
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from activities.graph_client import GraphSettings, build_graph_client
from entitlements.catalog import CatalogFile
from entitlements.loading import parse_catalog
from starter.client import AccessClient
from worker import create_worker

EXAMPLE_CATALOG = Path(__file__).parents[1] / "examples" / "catalog.yaml"
_EXAMPLE = yaml.safe_load(EXAMPLE_CATALOG.read_text())

# Example tenant people
ALICE = "alice@contoso.example"  # manager bob, whose manager is dana
BOB = "bob@contoso.example"
CAROL = "carol@contoso.example"
DANA = "dana@contoso.example"
ERIN = "erin@contoso.example"  # no manager
FRANK = "frank@contoso.example"  # in Sales, and a finance approver
ADMIN = "admin@contoso.example"
GRACE = "grace@fabrikam.example"  # an existing guest
FINANCE_READ = "6f1b6c2e-0000-4000-8000-000000000001"
FINANCE_SITE_GROUP = "6f1b6c2e-0000-4000-8000-000000000004"
SALES = "6f1b6c2e-0000-4000-8000-000000000005"
FINANCE_APPROVERS = "6f1b6c2e-0000-4000-8000-000000000009"
REPORTS_SP = "9a0e1f3d-0000-4000-8000-000000000002"
REPORTS_VIEWER = "1b2c3d4e-0000-4000-8000-000000000003"


def example_catalog() -> dict[str, Any]:
    return copy.deepcopy(_EXAMPLE)


def package(data: dict, package_id: str) -> dict:
    for catalog in data["catalogs"]:
        for candidate in catalog.get("accessPackages", []):
            if candidate["id"] == package_id:
                return candidate
    raise KeyError(package_id)


def policy(data: dict, package_id: str, policy_id: str) -> dict:
    return next(p for p in package(data, package_id)["assignmentPolicies"] if p["id"] == policy_id)


def stage(**overrides: Any) -> dict:
    """One approval stage: carol approves within 14 days unless told otherwise."""
    base = {
        "durationBeforeAutomaticDenial": "P14D",
        "primaryApprovers": [{"type": "singleUser", "user": CAROL}],
    }
    return {**base, **overrides}


def catalog_with_stages(
    *stages: dict, package_id="finance-reports", policy_id="employees", **policy_overrides
) -> CatalogFile:
    """The example catalog whose employees policy has these approval stages."""
    data = example_catalog()
    chosen = policy(data, package_id, policy_id)
    chosen["requestApprovalSettings"]["stages"] = list(stages)
    chosen["requestApprovalSettings"]["isApprovalRequiredForAdd"] = bool(stages)
    chosen["questions"] = []
    chosen["requestApprovalSettings"]["isRequestorJustificationRequired"] = False
    chosen.update(policy_overrides)
    return load(data)


def simple_policy(data: dict, package_id: str, policy_id: str, *stages: dict) -> dict:
    """That policy of `data`, changed in place: these approval stages (none: no approval),
    no questions, no justification required. Returns it for further changes."""
    chosen = policy(data, package_id, policy_id)
    approval = chosen.setdefault("requestApprovalSettings", {})
    approval["stages"] = list(stages)
    approval["isApprovalRequiredForAdd"] = bool(stages)
    approval["isApprovalRequiredForUpdate"] = bool(stages)
    approval["isRequestorJustificationRequired"] = False
    chosen["questions"] = []
    return chosen


def add_policy(
    data: dict, package_id: str, policy_id: str, scope: str, *targets: dict, **fields: Any
) -> dict:
    """Append a policy to a package of `data`: whoever `scope` (and `targets`) admit may ask,
    without approval, unless `fields` say otherwise. Returns it."""
    added = {"id": policy_id, "displayName": policy_id, "allowedTargetScope": scope, **fields}
    if targets:
        added["specificAllowedTargets"] = list(targets)
    package(data, package_id)["assignmentPolicies"].append(added)
    return added


def load(data: dict) -> CatalogFile:
    return parse_catalog(yaml.safe_dump(data), "<test catalog>")


@asynccontextmanager
async def running_worker(client, graph_server, catalog: CatalogFile, task_queue: str):
    """A worker of the real workflows and activities against the emulator; yields a client."""
    graph_client = build_graph_client(GraphSettings(base_url=graph_server.base_url))
    async with create_worker(client, catalog, graph_client, queue=task_queue):
        yield AccessClient(client, task_queue)


def group_members(graph_server, group_id: str, relation: str = "members") -> set[str]:
    """Addresses of a group's members (or owners), as Graph answers them."""
    response = httpx.get(f"{graph_server.base_url}/groups/{group_id}/{relation}")
    response.raise_for_status()
    return {(u.get("mail") or u["userPrincipalName"]).lower() for u in response.json()["value"]}


def app_role_holders(graph_server, service_principal_id: str) -> set[str]:
    response = httpx.get(
        f"{graph_server.base_url}/servicePrincipals/{service_principal_id}/appRoleAssignedTo"
    )
    response.raise_for_status()
    return {a["principalId"] for a in response.json()["value"]}
