"""The accessctl worker: registers the workflows and activities and runs until SIGTERM.

Configuration from the environment:
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*  Temporal connection
  TEMPORAL_TASK_QUEUE   task queue (default accessctl; users' workflows run on `<queue>-users`)
  ACCESSCTL_CATALOG     the catalog file (default examples/catalog.yaml)
  GRAPH_BASE_URL        set: a Graph emulator at this URL; unset: Microsoft Graph with
                        azure-identity (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, ...)
  LOG_FORMAT            json or console (default: console on a terminal, json elsewhere)
  LOG_LEVEL             default INFO
  ACCESSCTL_WORKFLOW_SANDBOX   on or off (default off; see `workflow_tuning`)
  ACCESSCTL_MAX_CACHED_WORKFLOWS   workflows each queue keeps in memory between tasks
                                   (default 12500)
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from contextlib import AsyncExitStack
from datetime import timedelta

import structlog
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.access_grants import AccessGrantActivities
from activities.approvers import ApproverActivities
from activities.directory import DirectoryActivities
from activities.graph_client import GraphSettings, build_graph_client, load_graph_models
from activities.intake import IntakeActivities
from activities.invitations import InvitationActivities
from activities.log import LogContextInterceptor, configure_logging
from activities.notifications import NotificationActivities
from activities.reviews import ReviewActivities, ReviewTargetSource
from activities.settings import SettingsActivities
from activities.temporal_client import connect_temporal, task_queue, user_task_queue
from activities.user_access_client import UserAccessActivities
from entitlements.catalog import CatalogFile
from entitlements.loading import InvalidCatalogError, load_catalog
from workflows.access_request import AccessRequestWorkflow
from workflows.access_review import AccessReviewPageWorkflow, AccessReviewWorkflow
from workflows.bulk_assignment import BulkAssignmentWorkflow
from workflows.bulk_invitation import BulkInvitationWorkflow, InviteGuestWorkflow
from workflows.intake import RequestIntakeWorkflow
from workflows.user_access import UserAccessWorkflow

DEFAULT_CATALOG = "examples/catalog.yaml"
DEFAULT_MAX_CACHED_WORKFLOWS = 12_500  # per queue: an assignment is one workflow on each
WORKFLOWS = [
    AccessRequestWorkflow,
    UserAccessWorkflow,
    RequestIntakeWorkflow,
    InviteGuestWorkflow,
    BulkInvitationWorkflow,
    BulkAssignmentWorkflow,
    AccessReviewWorkflow,
    AccessReviewPageWorkflow,
]
log = structlog.get_logger("accessctl.worker")


class AccessWorkers:
    """The two workers of one process: requests, reviews and bulk runs on the task queue, users'
    access workflows on theirs (see `user_task_queue`). Started and stopped together."""

    def __init__(self, requests: Worker, users: Worker) -> None:
        self.requests = requests
        self.users = users
        self._running = AsyncExitStack()

    async def __aenter__(self) -> AccessWorkers:
        async with AsyncExitStack() as starting:
            await starting.enter_async_context(self.users)
            await starting.enter_async_context(self.requests)
            self._running = starting.pop_all()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self._running.aclose()


def create_worker(
    client: Client,
    catalog: CatalogFile,
    graph_client,
    queue: str | None = None,
    *,
    review_targets: ReviewTargetSource | None = None,
    **options,
) -> AccessWorkers:
    """The workers of every workflow and activity; tests and benchmarks build theirs here too.

    `review_targets`: where reviews find assignments (default: Temporal visibility; tests on
    the time-skipping server, which has no visibility list, give a list).
    `options` go to both Workers as they are (a test's workflow runner, for instance)."""
    queue = queue or task_queue()
    directory = DirectoryActivities(graph_client)
    activities = [
        *directory.all(),
        *AccessGrantActivities(directory).all(),
        *ApproverActivities(directory).all(),
        *NotificationActivities(directory).all(),
        *IntakeActivities(catalog, directory, client).all(),
        *InvitationActivities(catalog, directory).all(),
        *UserAccessActivities(client, user_task_queue(queue)).all(),
        *SettingsActivities(catalog).all(),
        *ReviewActivities(client, directory, review_targets).all(),
    ]

    def worker(on: str, workflows: list) -> Worker:
        return Worker(
            client,
            task_queue=on,
            identity=f"{client.identity}/{on}",
            workflows=workflows,
            activities=activities,  # a workflow's activities run on its own queue
            interceptors=[LogContextInterceptor()],
            graceful_shutdown_timeout=timedelta(seconds=10),
            **options,
        )

    return AccessWorkers(
        requests=worker(queue, [w for w in WORKFLOWS if w is not UserAccessWorkflow]),
        users=worker(user_task_queue(queue), [UserAccessWorkflow]),
    )


def workflow_tuning(environ=os.environ) -> dict:
    """How the deployed worker runs workflows: without the sandbox, and with a cache big
    enough for every sleeping assignment (an assignment is two workflows: its own on one queue,
    its user's on the other; each queue's worker has a cache of this size).

    The sandbox re-imports each workflow's module for every workflow it loads (about 20 ms of
    CPU each) and re-enters itself for every task and payload (a fifth of the worker's CPU when
    many assignments end together). It is a development guard, not a runtime one: every
    workflow test runs under it (create_worker's default), so code that breaks determinism
    fails CI, and the committed histories are replayed there too. A workflow evicted from the
    cache is replayed from its history when it next wakes, which is what made thousands of
    assignments ending together slow; a cached assignment (its two workflows) costs about
    180 KiB (1.9 GiB for 10,000 in bench/)."""
    sandbox = environ.get("ACCESSCTL_WORKFLOW_SANDBOX", "off").strip().lower()
    if sandbox not in ("on", "off"):
        raise ValueError(f"ACCESSCTL_WORKFLOW_SANDBOX must be on or off, not {sandbox!r}")
    cached = environ.get("ACCESSCTL_MAX_CACHED_WORKFLOWS", str(DEFAULT_MAX_CACHED_WORKFLOWS))
    if not cached.strip().isdigit():
        raise ValueError(f"ACCESSCTL_MAX_CACHED_WORKFLOWS must be a number, not {cached!r}")
    tuning: dict = {"max_cached_workflows": int(cached)}
    if sandbox == "off":
        tuning["workflow_runner"] = UnsandboxedWorkflowRunner()
    return tuning


async def run() -> int:
    path = os.environ.get("ACCESSCTL_CATALOG", DEFAULT_CATALOG)
    try:
        catalog = load_catalog(path)
    except InvalidCatalogError as error:
        print(f"accessctl worker: refusing to start: {error}", file=sys.stderr)
        return 1
    try:
        tuning = workflow_tuning()
    except ValueError as error:
        print(f"accessctl worker: refusing to start: {error}", file=sys.stderr)
        return 1
    load_graph_models()
    client = await connect_temporal()
    graph = GraphSettings.from_env()
    worker = create_worker(client, catalog, build_graph_client(graph), **tuning)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    log.info(
        "worker started",
        task_queue=task_queue(),
        users_task_queue=user_task_queue(task_queue()),
        catalog=path,
        sandbox="workflow_runner" not in tuning,
        graph=graph.base_url or "https://graph.microsoft.com/v1.0",
    )
    async with worker:
        await stop.wait()
        log.info("worker stopping: finishing the tasks in hand")
    log.info("worker stopped")
    return 0


def main() -> None:
    configure_logging(os.environ.get("LOG_FORMAT"), os.environ.get("LOG_LEVEL", "INFO"))
    sys.exit(asyncio.run(run()))


if __name__ == "__main__":
    main()
