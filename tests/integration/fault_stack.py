"""A stack of its own for fault tests: a dev server on a fixed port with its SQLite file (so it
can be stopped and started again with everything it held), the emulator, and a worker process
that a test may kill and start again. The session `stack` is shared and never stopped."""

from __future__ import annotations

import signal
import subprocess
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml

from graph_emulator.testing import EmulatorControl
from starter.client import AccessClient
from tests.integration.conftest import (
    TASK_QUEUE,
    Stack,
    free_port,
    integration_catalog,
    start_dev_server,
    start_emulator,
    start_worker,
    stop,
    worker_environment,
)

FINANCE_READ = "6f1b6c2e-0000-4000-8000-000000000001"
SITE_MEMBERS = "6f1b6c2e-0000-4000-8000-000000000004"
SALES = "6f1b6c2e-0000-4000-8000-000000000005"
FINANCE_APPROVERS = "6f1b6c2e-0000-4000-8000-000000000009"
REPORTS_SP = "9a0e1f3d-0000-4000-8000-000000000002"
REPORTS_VIEWER = "1b2c3d4e-0000-4000-8000-000000000003"

ESCALATION_AFTER_SECONDS = 6
SHORT_LIFE_SECONDS = 4


def _group(resource_id: str, origin_id: str, name: str) -> dict:
    return {"id": resource_id, "type": "group", "originId": origin_id, "displayName": name}


def _package(package_id: str, roles: list[tuple[str, str]], policy: dict) -> dict:
    return {
        "id": package_id,
        "displayName": package_id.replace("-", " ").capitalize(),
        "resourceRoleScopes": [{"resource": r, "role": role} for r, role in roles],
        "assignmentPolicies": [
            {"id": "members", "displayName": "Members", "allowedTargetScope": "allMemberUsers"}
            | policy
        ],
    }


def lasting(duration: str) -> dict:
    return {"expiration": {"type": "afterDuration", "duration": duration}}


def fault_catalog(folder: Path) -> Path:
    """The integration catalog plus a `faults` catalog: five roles at once, two approval
    stages escalating after seconds, a few seconds of access, one or two roles."""
    path = integration_catalog(folder)
    data = yaml.safe_load(path.read_text())
    a_day = lasting("P1D")
    two_stages = {
        "stages": [
            {
                "durationBeforeAutomaticDenial": "PT2M",
                "primaryApprovers": [{"type": "requestorManager", "managerLevel": 1}],
            },
            {
                "durationBeforeAutomaticDenial": "PT2M",
                "primaryApprovers": [{"type": "singleUser", "user": "carol@contoso.example"}],
                "isEscalationEnabled": True,
                "durationBeforeEscalation": f"PT{ESCALATION_AFTER_SECONDS}S",
                "escalationApprovers": [{"type": "singleUser", "user": "frank@contoso.example"}],
            },
        ],
        "isApprovalRequiredForAdd": True,
    }
    data["catalogs"].append(
        {
            "id": "faults",
            "displayName": "Faults",
            "resources": [
                _group("finance-read", FINANCE_READ, "Finance Read"),
                _group("site-members", SITE_MEMBERS, "Finance Site Members"),
                _group("sales", SALES, "Sales"),
                _group("finance-approvers", FINANCE_APPROVERS, "Finance Approvers"),
                {
                    "id": "reports",
                    "type": "application",
                    "originId": REPORTS_SP,
                    "displayName": "Reports",
                    "roles": [{"id": REPORTS_VIEWER, "displayName": "Reports.Viewer"}],
                },
            ],
            "accessPackages": [
                _package(
                    "five-roles",
                    [
                        ("finance-read", "Member"),
                        ("site-members", "Member"),
                        ("sales", "Member"),
                        ("finance-approvers", "Member"),
                        ("reports", "Reports.Viewer"),
                    ],
                    a_day,
                ),
                _package(
                    "two-stages",
                    [("finance-read", "Member")],
                    a_day | {"requestApprovalSettings": two_stages},
                ),
                _package(
                    "short-lived",
                    [("sales", "Member")],
                    lasting(f"PT{SHORT_LIFE_SECONDS}S"),
                ),
                _package("approvers-group", [("finance-approvers", "Member")], a_day),
                _package(
                    "read-and-report",
                    [("finance-read", "Member"), ("reports", "Reports.Viewer")],
                    a_day,
                ),
            ],
        }
    )
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@dataclass
class FaultStack(Stack):
    """A `Stack` whose worker and dev server a test may stop and start again."""

    port: int = 0
    database: Path = Path()
    worker_env: dict[str, str] = field(default_factory=dict)
    worker: subprocess.Popen | None = None
    emulator: subprocess.Popen | None = None

    @cached_property
    def graph(self) -> EmulatorControl:
        return EmulatorControl(self.graph_root)

    def start_worker(self) -> None:
        """Start the worker process and wait until it says it has started."""
        assert self.worker is None or self.worker.poll() is not None
        started_before = self._worker_starts()
        self.worker = start_worker(self.worker_env, self.worker_log)
        deadline = time.monotonic() + 30
        while self._worker_starts() == started_before:
            if self.worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start; see {self.worker_log}")
            time.sleep(0.05)

    def kill_worker(self) -> None:
        """SIGKILL: no graceful stop, tasks in hand are lost."""
        assert self.worker is not None
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait()

    def stop_worker(self) -> None:
        """SIGTERM: the worker finishes the tasks in hand and stops."""
        assert self.worker is not None
        stop(self.worker)

    async def restart_server(self) -> None:
        """Stop the dev server and start it again on the same port and SQLite file."""
        await self.env.shutdown()
        self.env = await start_dev_server(
            port=self.port, dev_server_database_filename=str(self.database)
        )
        self.access = AccessClient(self.env.client, TASK_QUEUE)

    async def close(self) -> None:
        self.graph.close()
        for process in (self.worker, self.emulator):
            if process is not None:
                stop(process)
        await self.env.shutdown()

    def _worker_starts(self) -> int:
        if not self.worker_log.exists():
            return 0
        return self.worker_log.read_text().count('"worker started"')

    @classmethod
    async def start(cls, folder: Path) -> FaultStack:
        port = free_port()
        database = folder / "temporal.db"
        env = await start_dev_server(port=port, dev_server_database_filename=str(database))
        address = env.client.service_client.config.target_host
        emulator, graph_root = start_emulator(folder / "emulator.log")
        stack = cls(
            env=env,
            temporal_address=address,
            graph_root=graph_root,
            worker_log=folder / "worker.log",
            access=AccessClient(env.client, TASK_QUEUE),
            port=port,
            database=database,
            worker_env=worker_environment(address, graph_root, fault_catalog(folder)),
            emulator=emulator,
        )
        try:
            stack.start_worker()
        except BaseException:
            await stack.close()
            raise
        return stack
