"""Temporal Schedules of the service: a registry of definitions and one ``ensure_schedules``.

Each ``ScheduleDefinition`` names a schedule id and builds its ``Schedule`` from the settings.
``hr admin setup`` calls ``ensure_schedules``: a schedule that does not exist is created, one
that exists is updated to the definition (its paused state and note are kept, so a schedule an
operator paused stays paused), so running set-up twice leaves one schedule with the newer
settings. Every schedule is built before any is written: a bad setting changes nothing.

Every schedule of the service skips a run that would overlap a run still going
(``ScheduleOverlapPolicy.SKIP``): a yearly sweep is never doubled.

To add a schedule, write a ``build(settings) -> Schedule`` function and append a
``ScheduleDefinition`` to ``SCHEDULES``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from schemas.jd_review import SWEEP_ACTION_TYPE
from schemas.schedules import SCHEDULED_SWEEP_WORKFLOW, ScheduledSweepInput
from schemas.search_attributes import HR_ACTION_TYPE
from service.open_enrollment_schedule import SCHEDULE_ID as OPEN_ENROLLMENT_SCHEDULE_ID
from service.open_enrollment_schedule import open_enrollment_schedule
from service.settings import Settings
from workflows.rules import starts as rules_starts

JD_SWEEP_SCHEDULE_ID = rules_starts.JD_SWEEP_SCHEDULE_ID
CATCHUP_WINDOW = timedelta(days=3)
"""A run missed while the server was down is still taken up to this long afterwards."""


class ScheduleSpecError(ValueError):
    """A schedule setting describes no moment that exists (the message names the variable)."""


# ----- settings' checks (service/settings.py calls them) --------------------------------------


def parse_month_day(text: str, variable: str = "HR_SWEEP_SCHEDULE_DATE") -> tuple[int, int]:
    """``MM-DD`` into (month, day); a day that no year has (``02-30``), or only leap years
    have (``02-29``), is refused."""
    parts = text.strip().split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ScheduleSpecError(f"{variable} must be MM-DD, e.g. 01-15, not {text.strip()!r}")
    month, day = int(parts[0]), int(parts[1])
    try:
        date(2023, month, day)  # not a leap year: a yearly schedule must fire every year
    except ValueError:
        raise ScheduleSpecError(
            f"{variable} {text.strip()} is not a day that every year has; give MM-DD, e.g. 01-15"
        ) from None
    return month, day


def parse_hour_minute(text: str, variable: str = "HR_SWEEP_SCHEDULE_TIME") -> tuple[int, int]:
    """``HH:MM`` (24-hour) into (hour, minute)."""
    parts = text.strip().split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ScheduleSpecError(f"{variable} must be HH:MM, e.g. 06:00, not {text.strip()!r}")
    hour, minute = int(parts[0]), int(parts[1])
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ScheduleSpecError(f"{variable} {text.strip()} is not a time of day; give HH:MM, e.g. 06:00")
    return hour, minute


def check_time_zone(text: str, variable: str = "HR_SWEEP_SCHEDULE_TIMEZONE") -> str:
    """An IANA time-zone name (``America/Los_Angeles``, ``UTC``)."""
    try:
        ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleSpecError(
            f"{variable} {text.strip()!r} is not a time zone; give an IANA name, e.g. America/Los_Angeles"
        ) from None
    return text.strip()


def yearly(month: int, day: int, hour: int, minute: int, time_zone: str) -> ScheduleSpec:
    """Once a year, on that day at that time in that zone."""
    return ScheduleSpec(
        calendars=[
            ScheduleCalendarSpec(
                second=[ScheduleRange(0)],
                minute=[ScheduleRange(minute)],
                hour=[ScheduleRange(hour)],
                day_of_month=[ScheduleRange(day)],
                month=[ScheduleRange(month)],
                comment=f"yearly on {month:02d}-{day:02d} at {hour:02d}:{minute:02d} {time_zone}",
            )
        ],
        time_zone_name=time_zone,
    )


# ----- the registry ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleDefinition:
    schedule_id: str
    description: str
    build: Callable[[Settings], Schedule]
    memo: dict[str, Any] = field(default_factory=dict)


def jd_sweep_schedule(settings: Settings) -> Schedule:
    """The yearly job-description review sweep (seed 003: descriptions older than N years)."""
    month, day = parse_month_day(settings.sweep_schedule_date)
    hour, minute = parse_hour_minute(settings.sweep_schedule_time)
    time_zone = check_time_zone(settings.sweep_schedule_timezone)
    older = settings.sweep_older_than_years
    return Schedule(
        action=ScheduleActionStartWorkflow(
            SCHEDULED_SWEEP_WORKFLOW,
            ScheduledSweepInput(requested_by=settings.sweep_requested_by, older_than_years=older),
            id="jd-sweep-scheduled",  # the server appends the fire time
            task_queue=settings.task_queue,
            static_summary=f"Yearly job-description review sweep (older than {older} years)",
            typed_search_attributes=TypedSearchAttributes(
                [SearchAttributePair(HR_ACTION_TYPE, SWEEP_ACTION_TYPE)]
            ),
        ),
        spec=yearly(month, day, hour, minute, time_zone),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW),
        state=ScheduleState(note=f"reviews descriptions last revised more than {older} years ago"),
    )


SCHEDULES: list[ScheduleDefinition] = [
    ScheduleDefinition(
        JD_SWEEP_SCHEDULE_ID,
        "yearly job-description review sweep",
        jd_sweep_schedule,
    ),
    ScheduleDefinition(
        OPEN_ENROLLMENT_SCHEDULE_ID,
        "yearly benefits open enrollment",
        open_enrollment_schedule,
    ),
]


@dataclass(frozen=True)
class Ensured:
    schedule_id: str
    outcome: str  # "created" or "updated"


async def ensure_schedules(
    client: Client, settings: Settings, definitions: Sequence[ScheduleDefinition] | None = None
) -> list[Ensured]:
    """Creates or updates every schedule (``SCHEDULES`` by default), idempotently.

    Every ``Schedule`` is built first, so a bad setting raises before anything is written.
    """
    chosen = SCHEDULES if definitions is None else definitions
    built = [(d, d.build(settings)) for d in chosen]
    done: list[Ensured] = []
    for definition, schedule in built:
        try:
            await client.create_schedule(definition.schedule_id, schedule)
            done.append(Ensured(definition.schedule_id, "created"))
            continue
        except ScheduleAlreadyRunningError:
            pass

        def updated(current: ScheduleUpdateInput, wanted: Schedule = schedule) -> ScheduleUpdate:
            old_state = current.description.schedule.state
            wanted.state = ScheduleState(
                note=old_state.note if old_state.paused else wanted.state.note, paused=old_state.paused
            )
            return ScheduleUpdate(schedule=wanted)

        await client.get_schedule_handle(definition.schedule_id).update(updated)
        done.append(Ensured(definition.schedule_id, "updated"))
    return done
