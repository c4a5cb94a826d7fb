"""The bare Temporal baseline: a workflow that, on a signal, makes the same Graph calls a
delivery makes (same activities, same client), concurrently, and nothing else."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.directory_models import AppRoleInput, GroupMemberInput
    from workflows.activity_calls import DIRECTORY_RETRY


@workflow.defn
class BareDeliveryWorkflow:
    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self, calls: list[AppRoleInput | GroupMemberInput]) -> None:
        await workflow.wait_condition(lambda: self.go)
        await asyncio.gather(*(self._call(c) for c in calls))

    async def _call(self, call: AppRoleInput | GroupMemberInput) -> None:
        name = "assign_app_role" if isinstance(call, AppRoleInput) else "add_group_member"
        await workflow.execute_activity(
            name,
            call,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DIRECTORY_RETRY,
        )

    @workflow.signal
    def start_delivery(self) -> None:
        self.go = True


BARE_EXPIRY_GROUP = "6f1b6c2e-0000-4000-8000-000000000001"


@workflow.defn
class BareExpiryWorkflow:
    """The revocation baseline: add the membership, sleep until the end, remove it."""

    @workflow.run
    async def run(self, user_id: str, end: datetime) -> None:
        call = GroupMemberInput(group_id=BARE_EXPIRY_GROUP, user_id=user_id)
        await workflow.execute_activity(
            "add_group_member", call, start_to_close_timeout=timedelta(seconds=30)
        )
        await workflow.sleep(max(end - workflow.now(), timedelta(0)))
        await workflow.execute_activity(
            "remove_group_member", call, start_to_close_timeout=timedelta(seconds=30)
        )
