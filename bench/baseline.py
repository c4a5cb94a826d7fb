"""The bare Temporal baselines: workflows that make the Graph calls ours make (the same
activities on the same client), concurrently, and nothing else: a delivery on a signal, an
expiry, an auto-approved request."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.directory_models import (
        AppRoleInput,
        FindUserInput,
        GroupMemberInput,
        SendMailInput,
    )
    from workflows.activity_calls import DIRECTORY_RETRY


async def directory_write(call: AppRoleInput | GroupMemberInput) -> None:
    name = "assign_app_role" if isinstance(call, AppRoleInput) else "add_group_member"
    await workflow.execute_activity(
        name,
        call,
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=DIRECTORY_RETRY,
    )


@workflow.defn
class BareDeliveryWorkflow:
    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self, calls: list[AppRoleInput | GroupMemberInput]) -> None:
        await workflow.wait_condition(lambda: self.go)
        await asyncio.gather(*(directory_write(c) for c in calls))

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


@workflow.defn
class BareAutoRequestWorkflow:
    """The throughput baseline: what an auto-approved request costs Graph (the target looked
    up by address, then one write per resource, concurrently, then the "you have access" mail),
    at once on start."""

    @workflow.run
    async def run(self, email: str, calls: list[AppRoleInput | GroupMemberInput]) -> None:
        await workflow.execute_activity(
            "find_user",
            FindUserInput(email=email),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DIRECTORY_RETRY,
        )
        await asyncio.gather(*(directory_write(c) for c in calls))
        mail = SendMailInput(
            sender="access@contoso.example", to=[email], subject="Access delivered", body="."
        )
        await workflow.execute_activity(
            "send_mail", mail, start_to_close_timeout=timedelta(seconds=30)
        )
