"""`accessctl catalog apply`: one Temporal Schedule per reviewed policy, matching the file.

Each policy with enabled `reviewSettings` gets the Schedule `review:{package}:{policy}`: a
calendar in its catalog's time zone (`timeZone`), from `startDateTime`, every week, month,
quarter, half year or year; it starts AccessReviewWorkflow with a snapshot of the policy's
review settings. Temporal appends the scheduled time to the workflow id, so a period has one
review id. A catch-up window of an hour means an outage delays a review, never replays a year
of them; overlap SKIP means one review per policy at a time.

Applying creates what is missing, updates what differs (the calendar, the review settings, the
task queue, the policies) and deletes the schedules accessctl created for policies that are no
longer reviewed. It only touches schedules it owns (memo `owner: accessctl`); applying the same
file twice changes nothing the second time. A paused schedule stays paused.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode

from entitlements.catalog import CatalogFile
from entitlements.review_schedule import RecurrenceCalendar, describe, recurrence_calendar
from entitlements.reviews import (
    REVIEW_PREFIX,
    AccessReviewInput,
    review_input_for,
    review_schedule_id,
    reviewed_policies,
)
from workflows import search_attributes
from workflows.access_review import AccessReviewWorkflow

OWNER_MEMO = {"owner": "accessctl", "kind": "accessReview"}
CATCHUP_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class DesiredSchedule:
    id: str
    schedule: Schedule
    review: AccessReviewInput
    label: str  # "quarterly from 2027-01-04 10:00 Europe/Paris, each lasting P14D"


class ApplyResult(BaseModel):
    created: dict[str, str] = {}  # id -> what it does
    updated: dict[str, list[str]] = {}  # id -> what changed
    deleted: list[str] = []
    unchanged: list[str] = []
    not_ours: list[str] = []  # a schedule with a review id that accessctl did not create

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted)


def _range(value: int) -> tuple[ScheduleRange, ...]:
    # Ranges as the server echoes them back (end = start, step 1), so they compare equal.
    return (ScheduleRange(start=value, end=value, step=1),)


def calendar_spec(calendar: RecurrenceCalendar) -> ScheduleSpec:
    months = (
        (ScheduleRange(start=1, end=12, step=1),)
        if calendar.months == tuple(range(1, 13))
        else tuple(ScheduleRange(start=m, end=m, step=1) for m in calendar.months)
    )
    day_of_month = (
        _range(calendar.day_of_month)
        if calendar.day_of_month is not None
        else (ScheduleRange(start=1, end=31, step=1),)
    )
    day_of_week = (
        _range(calendar.day_of_week)
        if calendar.day_of_week is not None
        else (ScheduleRange(start=0, end=6, step=1),)
    )
    return ScheduleSpec(
        calendars=[
            ScheduleCalendarSpec(
                second=_range(calendar.second),
                minute=_range(calendar.minute),
                hour=_range(calendar.hour),
                day_of_month=day_of_month,
                month=months,
                day_of_week=day_of_week,
            )
        ],
        start_at=calendar.first,
        time_zone_name=calendar.time_zone,
    )


def desired_schedules(catalog_file: CatalogFile, task_queue: str) -> dict[str, DesiredSchedule]:
    """The Schedule of every policy whose reviews are enabled, by schedule id."""
    desired: dict[str, DesiredSchedule] = {}
    for _, package, policy in reviewed_policies(catalog_file):
        review = review_input_for(catalog_file, package.id, policy.id)
        settings = review.settings
        schedule_id = review_schedule_id(package.id, policy.id)
        action = ScheduleActionStartWorkflow(
            AccessReviewWorkflow.run,
            review,
            id=schedule_id,  # Temporal appends the scheduled time: one id per period
            task_queue=task_queue,
            typed_search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(search_attributes.ACCESS_PACKAGE, package.id),
                    SearchAttributePair(search_attributes.ACCESS_CATALOG, review.scope.catalog_id),
                    SearchAttributePair(search_attributes.ACCESS_POLICY, policy.id),
                ]
            ),
            static_summary=f"Access review of {package.display_name} ({policy.display_name})",
        )
        schedule = Schedule(
            action=action,
            spec=calendar_spec(recurrence_calendar(settings.schedule, review.time_zone)),
            policy=SchedulePolicy(
                overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW
            ),
        )
        desired[schedule_id] = DesiredSchedule(
            id=schedule_id,
            schedule=schedule,
            review=review,
            label=describe(settings.schedule, review.time_zone),
        )
    return desired


# ---- comparing what is wanted with what the server has ---------------------------------------


def _decoded(value: Any, converter: DataConverter) -> Any:
    """A payload (as a described schedule holds it) or a value (as a desired one does), as JSON."""
    if isinstance(value, Payload):
        return json.loads(value.data) if value.data else None
    if value is None:
        return None
    return json.loads(converter.payload_converter.to_payloads([value])[0].data)


def _action_facts(action: ScheduleActionStartWorkflow, converter: DataConverter) -> dict:
    return {
        "workflow": action.workflow,
        "id": action.id,
        "task queue": action.task_queue,
        "review settings": [_decoded(arg, converter) for arg in action.args],
        "search attributes": {pair.key.name: pair.value for pair in action.typed_search_attributes},
        "summary": _decoded(action.static_summary, converter),
    }


def differences(wanted: Schedule, found: Schedule, converter: DataConverter) -> list[str]:
    """What differs between the schedule wanted and the one described, in words."""
    changes = []
    if wanted.spec != found.spec:
        changes.append("when it recurs")
    if not isinstance(found.action, ScheduleActionStartWorkflow):
        return [*changes, "its action"]
    assert isinstance(wanted.action, ScheduleActionStartWorkflow)
    mine, theirs = _action_facts(wanted.action, converter), _action_facts(found.action, converter)
    changes += [name for name in mine if mine[name] != theirs[name]]
    if wanted.policy != found.policy:
        changes.append("its catch-up and overlap policy")
    return changes


# ---- applying ------------------------------------------------------------------------------


async def apply_review_schedules(
    client: Client, catalog_file: CatalogFile, task_queue: str
) -> ApplyResult:
    result = ApplyResult()
    wanted = desired_schedules(catalog_file, task_queue)
    converter = client.data_converter
    # Desired ones are described by id (always current); listing (eventually consistent)
    # only finds the ones to delete.
    for schedule_id, desired in wanted.items():
        handle = client.get_schedule_handle(schedule_id)
        try:
            described = await handle.describe()
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            await client.create_schedule(schedule_id, desired.schedule, memo=OWNER_MEMO)
            result.created[schedule_id] = desired.label
            continue
        if not _owned(await described.memo()):
            result.not_ours.append(schedule_id)
            continue
        changes = differences(desired.schedule, described.schedule, converter)
        if not changes:
            result.unchanged.append(schedule_id)
            continue

        def keep_state(current: ScheduleUpdateInput, desired: DesiredSchedule = desired):
            state = current.description.schedule.state  # paused stays paused
            return ScheduleUpdate(schedule=dataclasses.replace(desired.schedule, state=state))

        await handle.update(keep_state)
        result.updated[schedule_id] = changes
    async for listed in await client.list_schedules():
        if not listed.id.startswith(REVIEW_PREFIX) or listed.id in wanted:
            continue
        if not _owned(await listed.memo()):
            continue
        try:
            await client.get_schedule_handle(listed.id).delete()
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:  # already gone: listing lags
                raise
            continue
        result.deleted.append(listed.id)
    return result


def _owned(memo: dict) -> bool:
    return memo.get("owner") == OWNER_MEMO["owner"]
