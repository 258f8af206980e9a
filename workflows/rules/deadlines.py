"""Deadlines: due dates, a step's reminder and escalation schedule, board meetings, review age."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from schemas.human_step import DuePolicy

REMINDER = "reminder"
ESCALATE = "escalate"
OVERDUE_REMINDER = "overdue_reminder"
DEFAULT = "default"


@dataclass(frozen=True)
class StepEvent:
    """Something the clock does to an open step. ``key`` is stable, for idempotent writes."""

    at: datetime
    kind: str
    key: str


def due_after(start: datetime, days: int) -> datetime:
    """A due date ``days`` calendar days after ``start``."""
    return start + timedelta(days=days)


def step_events(
    opened_at: datetime, due_at: datetime, policy: DuePolicy, has_defaults: bool
) -> list[StepEvent]:
    """The reminder, escalation and default events of a step, in time order.

    DESIGN section 4: reminders (default 7 and 2 days before due), escalation when overdue,
    then either a default answer for those who may be defaulted, or reminders that keep coming.
    """
    events: list[StepEvent] = []
    for days in sorted(set(policy.remind_days_before_due), reverse=True):
        at = due_at - timedelta(days=days)
        if at > opened_at:
            events.append(StepEvent(at, REMINDER, f"{REMINDER}:{at.isoformat()}"))
    escalate_at = due_at + timedelta(days=policy.escalate_days_after_due)
    events.append(StepEvent(escalate_at, ESCALATE, f"{ESCALATE}:{escalate_at.isoformat()}"))
    if has_defaults:
        default_at = due_at + timedelta(days=max(policy.default_days_after_due, 0))
        default_at = max(default_at, escalate_at)
        events.append(StepEvent(default_at, DEFAULT, f"{DEFAULT}:{default_at.isoformat()}"))
    for n in range(1, policy.max_overdue_reminders + 1):
        at = escalate_at + timedelta(days=n * policy.overdue_reminder_every_days)
        events.append(StepEvent(at, OVERDUE_REMINDER, f"{OVERDUE_REMINDER}:{at.isoformat()}"))
    order = {REMINDER: 0, ESCALATE: 1, DEFAULT: 2, OVERDUE_REMINDER: 3}
    return sorted(events, key=lambda e: (e.at, order[e.kind]))


def board_meeting_in(year: int, month: int) -> date:
    """The Civil Service Board meets on the first Tuesday of the month.

    Seed 003: the Board acted on 2010-10-05 (CSB 20101005), the first Tuesday of October 2010.
    """
    first_weekday, _ = calendar.monthrange(year, month)
    offset = (calendar.TUESDAY - first_weekday) % 7
    return date(year, month, 1 + offset)


def next_board_meeting(after: date, agenda_lead_days: int = 7) -> date:
    """The first meeting at least ``agenda_lead_days`` after ``after``.

    The lead time is for putting the memo on the Board's agenda.
    """
    earliest = after + timedelta(days=agenda_lead_days)
    year, month = earliest.year, earliest.month
    while True:
        meeting = board_meeting_in(year, month)
        if meeting >= earliest:
            return meeting
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def meeting_due_at(meeting: date) -> datetime:
    """A board step is due at the end of its meeting day (UTC)."""
    return datetime.combine(meeting, time(23, 59), tzinfo=timezone.utc)


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def is_due_for_review(revised_on: date | None, as_of: date, older_than_years: int = 10) -> bool:
    """Seed 003: descriptions "last revised over 10 years ago" are reviewed; never revised counts too."""
    if revised_on is None:
        return True
    return revised_on < years_before(as_of, older_than_years)


def end_of_day(day: date) -> datetime:
    """A due date given as a day: the end of it, 23:59 UTC."""
    return datetime.combine(day, time(23, 59), tzinfo=timezone.utc)
