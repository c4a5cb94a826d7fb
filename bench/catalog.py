"""The catalog the throughput, Graph-call, event and invitation benchmarks use: the example
catalog plus `bench-three`, a package of three resources (two groups and an app role), with a
policy for each way a request goes."""

from __future__ import annotations

import yaml

from bench.stack import APPROVER, EXAMPLES
from entitlements.catalog import CatalogFile
from entitlements.loading import parse_catalog

PACKAGE = "bench-three"
AUTO = "auto"  # members, no approval
ONE_STAGE = "one-stage"  # members, one approver
GUESTS = "guests"  # any external address (a new guest is invited), one approver
YEARLY = "yearly"  # members, extensions approved, reviewed monthly
SALES = "6f1b6c2e-0000-4000-8000-000000000005"

ONE_APPROVER = {"primaryApprovers": [{"type": "singleUser", "user": APPROVER}]}


def _policy(policy_id: str, scope: str, stages: list | None, **fields) -> dict:
    return {
        "id": policy_id,
        "displayName": policy_id,
        "allowedTargetScope": scope,
        "expiration": {"type": "afterDuration", "duration": "P30D"},
        "requestApprovalSettings": {
            "isApprovalRequiredForAdd": bool(stages),
            "isApprovalRequiredForUpdate": bool(stages),
            "stages": stages or [],
        },
        **fields,
    }


def bench_catalog_data() -> dict:
    data = yaml.safe_load((EXAMPLES / "catalog.yaml").read_text())
    finance = data["catalogs"][0]
    finance["resources"].append(
        {"id": "sales-b", "type": "group", "originId": SALES, "displayName": "Sales"}
    )
    yearly = _policy(
        YEARLY,
        "allMemberUsers",
        [ONE_APPROVER],
        expiration={"type": "afterDuration", "duration": "P90D"},
        requestorSettings={
            "enableTargetsToSelfUpdateAccess": True,
            "allowCustomAssignmentSchedule": True,
        },
        reviewSettings={
            "schedule": {
                "startDateTime": "2026-01-05T09:00:00Z",
                "recurrence": "monthly",
                "duration": "P7D",
            },
            "primaryReviewers": [{"type": "singleUser", "user": APPROVER}],
            "expirationBehavior": "keepAccess",
        },
    )
    finance["accessPackages"].append(
        {
            "id": PACKAGE,
            "displayName": "Three resources",
            "resourceRoleScopes": [
                {"resource": "finance-read", "role": "Member"},
                {"resource": "sales-b", "role": "Member"},
                {"resource": "reports", "role": "Reports.Viewer"},
            ],
            "assignmentPolicies": [
                _policy(AUTO, "allMemberUsers", None),
                _policy(ONE_STAGE, "allMemberUsers", [ONE_APPROVER]),
                _policy(GUESTS, "allExternalUsers", [ONE_APPROVER]),
                yearly,
            ],
        }
    )
    return data


def bench_catalog() -> CatalogFile:
    return parse_catalog(yaml.safe_dump(bench_catalog_data()), "bench catalog")
