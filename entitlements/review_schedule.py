"""When a policy's reviews recur: its `reviewSettings.schedule` as calendar fields in the
catalog's time zone (so "every quarter at 10:00 Paris time" stays 10:00 across daylight saving).

A review starts at `startDateTime`, then again each week, month, quarter, half year or year on
the same weekday (weekly) or the same day of the month, at the same local time. A review that
starts on the 29th to the 31st is skipped in months without that day (as a calendar does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from entitlements.base import iso_duration
from entitlements.policy import Recurrence, ReviewSchedule

MONTHS_BETWEEN = {
    Recurrence.MONTHLY: 1,
    Recurrence.QUARTERLY: 3,
    Recurrence.HALF_YEARLY: 6,
    Recurrence.ANNUAL: 12,
}


@dataclass(frozen=True)
class RecurrenceCalendar:
    """Local calendar fields: every listed month (all when weekly) on `day_of_month`, or every
    week on `day_of_week` (0 = Sunday), at hour:minute:second in `time_zone`."""

    time_zone: str
    hour: int
    minute: int
    second: int
    months: tuple[int, ...]  # 1..12
    day_of_month: int | None  # None: weekly
    day_of_week: int | None  # None: monthly and longer
    first: datetime  # the first review (the schedule's startDateTime)


def local_start(schedule: ReviewSchedule, time_zone: str) -> datetime:
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone '{time_zone}' (an IANA name such as Europe/Paris or UTC)"
        ) from None
    return schedule.start_date_time.astimezone(zone)


def recurrence_calendar(schedule: ReviewSchedule, time_zone: str) -> RecurrenceCalendar:
    local = local_start(schedule, time_zone)
    common = {
        "time_zone": time_zone,
        "hour": local.hour,
        "minute": local.minute,
        "second": local.second,
        "first": schedule.start_date_time,
    }
    if schedule.recurrence == Recurrence.WEEKLY:
        return RecurrenceCalendar(
            **common,
            months=tuple(range(1, 13)),
            day_of_month=None,
            day_of_week=local.isoweekday() % 7,
        )
    step = MONTHS_BETWEEN[schedule.recurrence]
    months = tuple(sorted((local.month - 1 + k) % 12 + 1 for k in range(0, 12, step)))
    return RecurrenceCalendar(**common, months=months, day_of_month=local.day, day_of_week=None)


def describe(schedule: ReviewSchedule, time_zone: str) -> str:
    """One line for people: "quarterly from 2027-01-04 10:00 Europe/Paris, each lasting P14D"."""
    local = local_start(schedule, time_zone)
    return (
        f"{schedule.recurrence.value} from {local.strftime('%Y-%m-%d %H:%M')} {time_zone}, "
        f"each lasting {iso_duration(schedule.duration)}"
    )
