"""The packages the CLI integration tests run against, in a catalog of their own, so their
requests (access:PACKAGE:USER) never collide with the other integration tests'.

- `cli-approval`: the requestor's manager approves; after ESCALATION the manager's manager
  may too (alice -> bob, then dana too).
- `cli-tools`: a group and an app role, no approval for members (who may remove themselves),
  and an `admins` policy for direct assignment only.
- `cli-partners`: Fabrikam staff, no approval: asking for it invites the guest.
"""

from __future__ import annotations

from datetime import timedelta

CLI_GROUP = "6f1b6c2e-0000-4000-8000-000000000004"  # Finance Site Members, as lab-sandbox
REPORTS_SP = "9a0e1f3d-0000-4000-8000-000000000002"  # the Reports app
# Long enough for a loaded machine to list before it, short enough to wait for in a test.
ESCALATION = timedelta(seconds=8)
REPORTS_EDITOR = "1b2c3d4e-0000-4000-8000-000000000007"
DAY = {"type": "afterDuration", "duration": "P1D"}


def cli_tests_catalog() -> dict:
    return {
        "id": "cli-tests",
        "displayName": "CLI tests",
        "resources": [
            {"id": "cli-group", "type": "group", "originId": CLI_GROUP, "displayName": "CLI"},
            {
                "id": "cli-reports",
                "type": "application",
                "originId": REPORTS_SP,
                "displayName": "Reports",
                "roles": [{"id": REPORTS_EDITOR, "displayName": "Reports.Editor"}],
            },
        ],
        "accessPackages": [
            {
                "id": "cli-approval",
                "displayName": "CLI approval",
                "resourceRoleScopes": [{"resource": "cli-group", "role": "Member"}],
                "assignmentPolicies": [
                    {
                        "id": "managers",
                        "displayName": "Members, approved by their manager",
                        "allowedTargetScope": "allMemberUsers",
                        "expiration": DAY,
                        "requestApprovalSettings": {
                            "isApprovalRequiredForAdd": True,
                            "stages": [
                                {
                                    "durationBeforeAutomaticDenial": "PT10M",
                                    "isEscalationEnabled": True,
                                    "durationBeforeEscalation": (
                                        f"PT{int(ESCALATION.total_seconds())}S"
                                    ),
                                    "primaryApprovers": [
                                        {"type": "requestorManager", "managerLevel": 1}
                                    ],
                                    "fallbackPrimaryApprovers": [
                                        {"type": "singleUser", "user": "admin@contoso.example"}
                                    ],
                                    "escalationApprovers": [
                                        {"type": "requestorManager", "managerLevel": 2}
                                    ],
                                    "fallbackEscalationApprovers": [
                                        {"type": "singleUser", "user": "admin@contoso.example"}
                                    ],
                                }
                            ],
                        },
                    }
                ],
            },
            {
                "id": "cli-tools",
                "displayName": "CLI tools",
                "resourceRoleScopes": [
                    {"resource": "cli-group", "role": "Member"},
                    {"resource": "cli-reports", "role": "Reports.Editor"},
                ],
                "assignmentPolicies": [
                    {
                        "id": "members",
                        "displayName": "Members, no approval",
                        "allowedTargetScope": "allMemberUsers",
                        "expiration": DAY,
                        "requestorSettings": {"enableTargetsToSelfRemoveAccess": True},
                    },
                    {
                        "id": "admins",
                        "displayName": "Direct assignment only",
                        "allowedTargetScope": "notSpecified",
                        "expiration": DAY,
                    },
                ],
            },
            {
                "id": "cli-partners",
                "displayName": "CLI partners",
                "resourceRoleScopes": [{"resource": "cli-group", "role": "Member"}],
                "assignmentPolicies": [
                    {
                        "id": "fabrikam",
                        "displayName": "Fabrikam staff, no approval",
                        "allowedTargetScope": "specificConnectedOrganizationUsers",
                        "specificAllowedTargets": [
                            {
                                "type": "connectedOrganizationMembers",
                                "connectedOrganization": "fabrikam",
                            }
                        ],
                        "expiration": DAY,
                    }
                ],
            },
        ],
    }
