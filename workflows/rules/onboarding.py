"""Onboarding and probation rules (seeds 000, 004): the tasks, their due dates, the probation's
length, its reminders, the CJIS check, and the extend-once rule. Pure functions of their inputs.

Where the seeds are silent (DESIGN section 5), the service does this:

- **Tasks**, each a human step with one owner and one word that completes it. Due dates count from
  the start date (a negative number: before it), at the end of that day (23:59 UTC); a date that
  has passed when the task opens moves to one day after it opens. An attendance is due three days
  after the orientation's scheduled date and opens once that date is set.
- **Orientation dates** are not in the past and at most 90 days after the start date (an
  orientation may come before the first day); attendance is confirmed on or after that date.
- **Probation**: the classification's months from the start date (``add_months``: the same day of
  the month, or the month's last day); it ends at 00:00 UTC of its end date, when permanent status
  would begin. A length given as a duration counts from the start date, or, under a day (the demo),
  from the moment the probation starts. Reminders to the supervisor 30 and 14 days before the end,
  those still ahead when the probation starts; the CJIS clearance, where the position needs it, is
  checked 30 days before the end (at once if the probation starts later than that).
- **Extension**: once, by 1-180 days from the current end, with a reason.
- **Permanent status** begins on the end date (not before the start date), or on the day the CJIS
  clearance is recorded if that comes later.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from schemas.decision_details import MAX_EXTENSION_DAYS
from schemas.onboarding import (
    ACKNOWLEDGED,
    APPOINTED,
    ATTENDED,
    BENEFITS,
    BENEFITS_ATTENDANCE,
    DONE,
    DRIVER_LICENSE,
    EMPLOYEE_OWNER,
    HR_OWNER,
    IT_ACCOUNT,
    IT_DESKTOP,
    IT_PHONE,
    IT_SERVICE_DESK_ROLE,
    IT_VOICE_DATA,
    ORIENTATION,
    ORIENTATION_ATTENDANCE,
    PAYROLL,
    PAYROLL_ROLE,
    POLICIES,
    SCHEDULED,
    VERIFIED,
)
from workflows.rules.deadlines import end_of_day  # noqa: F401  (rules.end_of_day, as before)

# ----- onboarding tasks -------------------------------------------------------------------------

POLICY_NAMES = (
    "code of conduct",
    "harassment prevention",
    "information technology acceptable use",
    "drug and alcohol",
)
"""What the new employee acknowledges (one acknowledgement covers them all)."""

MIN_LEAD = timedelta(days=1)
"""A task's due date never comes sooner than this after the task opens."""
REOPENED_DAYS = 3
"""A re-opened task is due this many days later unless HR gives a date."""
ORIENTATION_WINDOW_DAYS = 90
"""An orientation is scheduled at most this many days after the start date."""


@dataclass(frozen=True)
class TaskTemplate:
    """One onboarding task: who owns it, what completes it, when it is due."""

    task: str
    title: str
    owner: str
    """A role of the directory (``payroll``, ``it_service_desk``), ``hr`` or ``employee``."""
    decision: str
    due_days: int
    """Days after the start date (before it when negative); for a follow-up, after ``after``'s date."""
    work_order: str | None = None
    """The IT work order it tracks, for an IT task."""
    details: str | None = None
    """The kind of ``DecisionDetails`` its decision carries."""
    after: str | None = None
    """Opened when this task is done (an attendance after its scheduling)."""


TASKS: tuple[TaskTemplate, ...] = (
    TaskTemplate(PAYROLL, "Enter the appointment in payroll", PAYROLL_ROLE, APPOINTED, -5),
    TaskTemplate(
        IT_ACCOUNT, "IT work order: network account and e-mail", IT_SERVICE_DESK_ROLE, DONE, -3, "account"
    ),
    TaskTemplate(IT_DESKTOP, "IT work order: desktop computer", IT_SERVICE_DESK_ROLE, DONE, -1, "desktop"),
    TaskTemplate(
        IT_VOICE_DATA,
        "IT work order: voice and data connections",
        IT_SERVICE_DESK_ROLE,
        DONE,
        -1,
        "voice_data",
    ),
    TaskTemplate(
        IT_PHONE,
        "IT work order: phone number and directory entry",
        IT_SERVICE_DESK_ROLE,
        DONE,
        3,
        "phone_directory",
    ),
    TaskTemplate(
        ORIENTATION,
        "Schedule the new-employee orientation",
        HR_OWNER,
        SCHEDULED,
        -7,
        details="orientation_date",
    ),
    TaskTemplate(
        ORIENTATION_ATTENDANCE,
        "Confirm attendance at the new-employee orientation",
        HR_OWNER,
        ATTENDED,
        3,
        after=ORIENTATION,
    ),
    TaskTemplate(
        BENEFITS, "Schedule the benefits orientation", HR_OWNER, SCHEDULED, 5, details="orientation_date"
    ),
    TaskTemplate(
        BENEFITS_ATTENDANCE,
        "Confirm attendance at the benefits orientation",
        HR_OWNER,
        ATTENDED,
        3,
        after=BENEFITS,
    ),
    TaskTemplate(
        POLICIES,
        "Acknowledge the city's policies: " + ", ".join(POLICY_NAMES),
        EMPLOYEE_OWNER,
        ACKNOWLEDGED,
        7,
    ),
    TaskTemplate(DRIVER_LICENSE, "Verify the driver's licence the position requires", HR_OWNER, VERIFIED, -1),
)
BY_NAME = {t.task: t for t in TASKS}


def onboarding_tasks(requires_driver_license: bool) -> list[TaskTemplate]:
    """Every task of an onboarding, in the order shown (the licence check only where needed)."""
    return [t for t in TASKS if t.task != DRIVER_LICENSE or requires_driver_license]


def first_tasks(tasks: list[TaskTemplate]) -> list[TaskTemplate]:
    """The tasks that depend on no other: they open together, as the onboarding starts."""
    return [t for t in tasks if t.after is None]


def follow_ups(tasks: list[TaskTemplate], done: str) -> list[TaskTemplate]:
    """The tasks that open once ``done`` is done."""
    return [t for t in tasks if t.after == done]


def task_due_at(base: date, days: int, now: datetime) -> datetime:
    """``days`` after ``base`` (the start date, or a follow-up's date), at the end of that day;
    never sooner than ``MIN_LEAD`` after ``now``."""
    return max(end_of_day(base + timedelta(days=days)), now + MIN_LEAD)


def reopened_due_at(now: datetime, due_on: date | None) -> datetime:
    """A re-opened task's due date: the end of ``due_on``, or ``REOPENED_DAYS`` from now."""
    if due_on is None:
        return now + timedelta(days=REOPENED_DAYS)
    return end_of_day(due_on)


def is_late(completed_at: datetime, due_at: datetime) -> bool:
    return completed_at > due_at


def step_id_for(task: str, round_: int) -> str:
    """A task's step: its name, then ``<task>.2``, ``<task>.3`` after each re-opening."""
    return task if round_ == 1 else f"{task}.{round_}"


def orientation_date_problem(on: date, today: date, starts_on: date) -> str | None:
    """Why an orientation cannot be scheduled on ``on``; None when it can."""
    if on < today:
        return f"the orientation date {on} is in the past"
    latest = starts_on + timedelta(days=ORIENTATION_WINDOW_DAYS)
    if on > latest:
        return (
            f"the orientation date {on} is more than {ORIENTATION_WINDOW_DAYS} days after the start "
            f"date {starts_on}"
        )
    return None


def attendance_problem(today: date, scheduled_on: date) -> str | None:
    """Why attendance cannot be confirmed today; None when it can."""
    if today < scheduled_on:
        return f"the orientation is on {scheduled_on}; attendance can be confirmed from that day on"
    return None


# ----- probation ---------------------------------------------------------------------------------

REMINDER_DAYS: tuple[int, ...] = (30, 14)
"""The supervisor is reminded this many days before the probation ends."""
CJIS_CHECK_DAYS = 30
"""A CJIS clearance missing this many days before the end is escalated to the HR supervisor."""
DECISION_DAYS = 7
"""The supervisor's decision is due this many days after the probation's end."""
CONCURRENCE_DAYS = 5
"""HR's concurrence (and the CJIS clearance awaited at the end) is due this many days later."""

REMIND = "remind"
CJIS_CHECK = "cjis_check"
END = "end"


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later; the month's last day when it has no such day (31 August
    plus six months is 28 February, or 29 in a leap year)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def probation_ends_at(
    starts_on: date, months: int, length: timedelta | None, started_at: datetime
) -> datetime:
    """When the probation's timer fires.

    ``length`` None: ``months`` after the start date (``add_months``), at 00:00 UTC of that day.
    A length of a day or more counts from 00:00 UTC of the start date; a shorter one (the demo's,
    ``HR_DEMO_PROBATION``) from ``started_at``, the moment the probation workflow started.
    """
    midnight = datetime.combine(starts_on, time(0), tzinfo=timezone.utc)
    if length is None:
        return datetime.combine(add_months(starts_on, months), time(0), tzinfo=timezone.utc)
    if length < timedelta(days=1):
        return started_at + length
    return midnight + length


@dataclass(frozen=True)
class ProbationEvent:
    at: datetime
    kind: str
    days_before: int = 0
    """For a reminder: how many days before the end."""

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.days_before}:{self.at.isoformat()}"


def probation_events(ends_at: datetime, now: datetime, cjis_required: bool) -> list[ProbationEvent]:
    """What the probation's clock does from ``now`` to ``ends_at``, in time order.

    Reminders still ahead of ``now`` (one already past is not sent); the CJIS check 30 days before
    the end, or at once when that has passed; the end itself.
    """
    events = [
        ProbationEvent(ends_at - timedelta(days=days), REMIND, days)
        for days in REMINDER_DAYS
        if ends_at - timedelta(days=days) > now
    ]
    if cjis_required:
        events.append(ProbationEvent(max(ends_at - timedelta(days=CJIS_CHECK_DAYS), now), CJIS_CHECK))
    events.append(ProbationEvent(max(ends_at, now), END))
    order = {CJIS_CHECK: 0, REMIND: 1, END: 2}
    return sorted(events, key=lambda e: (e.at, order[e.kind]))


def extension_problem(extended_to: date | None, reason: str | None) -> str | None:
    """Why an extension is refused: a probation is extended once, with a reason."""
    if extended_to is not None:
        return f"the probation was already extended once (to {extended_to}); it may be extended only once"
    if not (reason or "").strip():
        return "an extension needs a reason"
    return None


def release_problem(reason: str | None) -> str | None:
    if not (reason or "").strip():
        return "a release from probation needs a reason"
    return None


def extended_ends_at(ends_at: datetime, days: int) -> datetime:
    """The new end, ``days`` (1-180) after the current one."""
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise ValueError(f"an extension is 1-{MAX_EXTENSION_DAYS} days, not {days}")
    return ends_at + timedelta(days=days)


def permanent_on(ends_on: date, starts_on: date, cjis_recorded_on: date | None) -> date:
    """The first day of permanent status: the end date (never before the start date, which a
    probation under a day may end before); where the position requires CJIS clearance, the day it
    was put on record if that came later (permanent status waits for it). ``cjis_recorded_on`` is
    None where no clearance is required."""
    return max(ends_on, starts_on, cjis_recorded_on or ends_on)


def cjis_problem(cleared_on: date, today: date, starts_on: date) -> str | None:
    """Why a CJIS clearance date is refused: in the future, or long before the appointment."""
    if cleared_on > today:
        return f"the clearance date {cleared_on} is in the future"
    if cleared_on < starts_on - timedelta(days=366):
        return f"the clearance date {cleared_on} is more than a year before the start date {starts_on}"
    return None
