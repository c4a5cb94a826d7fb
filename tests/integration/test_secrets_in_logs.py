"""No secret in any log line: a full run (request, a refused decision, approval, invitation,
a failed grant and its reprocessing, extension, removal, the guest blocked and deleted) by a
worker that authenticates to Graph the production way, with a sentinel client secret and a
sentinel access token; then every line it logged, and the workflows' histories, are scanned."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import yaml

from entitlements.decisions import DecisionInput
from entitlements.status import RequestState
from graph_emulator.testing import EmulatorControl
from starter.client import AccessClient
from tests.conftest import EXAMPLES
from tests.factories import CAROL
from tests.integration.conftest import BIN, ROOT, Stack, stop
from tests.waiting import wait_for

LAUNCHER = Path(__file__).with_name("credential_worker.py")


def scan_catalog(folder: Path) -> Path:
    """The example catalog plus `secret-scan`: any external user, carol approves, two
    resources (a group and an app role); a guest is deleted as soon as their access ends."""
    data = yaml.safe_load((EXAMPLES / "catalog.yaml").read_text())
    data["settings"]["durationUntilExternalUserDeletedAfterBlocked"] = "P0D"
    data["catalogs"][0]["accessPackages"].append(
        {
            "id": "secret-scan",
            "displayName": "Secret scan",
            "resourceRoleScopes": [
                {"resource": "finance-read", "role": "Member"},
                {"resource": "reports", "role": "Reports.Viewer"},
            ],
            "assignmentPolicies": [
                {
                    "id": "partners",
                    "displayName": "Any external user, approved by carol",
                    "allowedTargetScope": "allExternalUsers",
                    "expiration": {"type": "afterDuration", "duration": "P30D"},
                    "requestorSettings": {
                        "enableTargetsToSelfUpdateAccess": True,
                        "enableTargetsToSelfRemoveAccess": True,
                    },
                    "requestApprovalSettings": {
                        "isApprovalRequiredForAdd": True,
                        "isRequestorJustificationRequired": True,
                        "stages": [
                            {
                                "durationBeforeAutomaticDenial": "P7D",
                                "isApproverJustificationRequired": True,
                                "primaryApprovers": [{"type": "singleUser", "user": CAROL}],
                            }
                        ],
                    },
                }
            ],
        }
    )
    path = folder / "catalog.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def start_credential_worker(stack: Stack, folder: Path, secret: str, token: str, queue: str):
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": stack.temporal_address,
        "TEMPORAL_TASK_QUEUE": queue,
        "ACCESSCTL_CATALOG": str(scan_catalog(folder)),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "DEBUG",
        "AZURE_TENANT_ID": "8b1a2f3e-0000-4000-8000-00000000c051",
        "AZURE_CLIENT_ID": "a11c7c71-0000-4000-8000-000000000001",
        "AZURE_CLIENT_SECRET": secret,
        "SECRET_SCAN_GRAPH_ROOT": stack.graph_base_url,
        "SECRET_SCAN_TOKEN": token,
        "SECRET_SCAN_RECORD": str(folder / "record.txt"),
    }
    env.pop("GRAPH_BASE_URL", None)  # the production path: Microsoft Graph with azure-identity
    return subprocess.Popen(
        [str(BIN / "python"), str(LAUNCHER)],
        env=env,
        stdout=(folder / "worker.log").open("ab"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )


async def full_run(stack: Stack, access: AccessClient, control: EmulatorControl) -> tuple:
    """One guest's whole story; returns the request id and the guest's object id."""
    guest = f"scan-{uuid.uuid4().hex[:8]}@partner.example"
    request_id = await access.request_access("secret-scan", guest, justification="Q3 audit")
    await wait_for(access, request_id, lambda s: s.stage is not None)
    handle = stack.env.client.get_workflow_handle(request_id)
    await handle.signal("decision", DecisionInput(approver=guest, decision="approve"))
    control.add_fault(method="POST", pathRegex="/appRoleAssignedTo$", status=403, count=1)
    await access.approve(request_id, CAROL, "checked with finance")
    partial = await wait_for(
        access, request_id, lambda s: s.state == RequestState.PARTIALLY_DELIVERED
    )
    await access.reprocess(request_id)
    await wait_for(access, request_id, lambda s: s.state == RequestState.DELIVERED)
    await access.extend(request_id, guest, justification="the audit runs on")
    await access.remove(request_id, guest, "audit done")
    await wait_for(access, request_id, lambda s: s.state == RequestState.REMOVED)
    guest_workflow = stack.env.client.get_workflow_handle(f"user:{partial.target.id}")
    await asyncio.wait_for(guest_workflow.result(), timeout=60)  # blocked, then deleted
    return request_id, partial.target.id, guest


async def test_no_secret_or_token_in_any_log_line_of_a_full_run(stack: Stack, tmp_path):
    secret = f"SENTINEL-SECRET-{uuid.uuid4().hex}"
    token = f"SENTINEL-TOKEN-{uuid.uuid4().hex}"
    queue = f"secret-scan-{uuid.uuid4().hex[:8]}"
    control = EmulatorControl(stack.graph_root)
    worker = start_credential_worker(stack, tmp_path, secret, token, queue)
    try:
        access = AccessClient(stack.env.client, queue)
        request_id, guest_id, guest = await full_run(stack, access, control)
    finally:
        stop(worker)
        if any(rule["hits"] == 0 for rule in control.faults()):
            control.clear_faults()  # never leave a fault to the tests after this one

    # The credential path was the one used: the secret fetched the token, every Graph call
    # carried it.
    record = (tmp_path / "record.txt").read_text().split()
    assert "token-issued" in record and "token-refused" not in record
    assert record.count("graph-bearer") >= 10 and "graph-anonymous" not in record

    lines = (tmp_path / "worker.log").read_text().splitlines()
    for number, line in enumerate(lines, start=1):
        for sentinel in (secret, token):
            assert sentinel not in line and quote(sentinel) not in line, f"line {number}: {line}"

    # ... and the scan covered the run: the log tells its story, with the request's context.
    events = [json.loads(line) for line in lines if line.startswith("{")]
    assert "worker stopped" in [e["event"] for e in events]  # the log is complete
    ours = [e for e in events if e.get("request_id") == request_id]
    assert {"graph call", "graph call failed"} <= {e["event"] for e in ours}
    refused = [e for e in events if e["event"].startswith("decision refused")]
    assert [(e["approver"], e["rule"]) for e in refused] == [(guest, "selfApproval")]
    audit = [e["audit"] for e in events if "audit" in e]
    assert {"event": "decision.approve", "actor": CAROL} in [
        {"event": a["event"], "actor": a["actor"]} for a in audit
    ]
    assert "guest.invited" in {a["event"] for a in audit}

    for workflow_id in (request_id, f"user:{guest_id}"):
        history = await stack.env.client.get_workflow_handle(workflow_id).fetch_history()
        recorded = history.to_json()
        assert secret not in recorded and token not in recorded, workflow_id
