"""Deadlines: a step's schedule, Board meetings, and which descriptions are due for review."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from schemas.human_step import DuePolicy
from workflows.rules.deadlines import (
    DEFAULT,
    ESCALATE,
    OVERDUE_REMINDER,
    REMINDER,
    board_meeting_in,
    is_due_for_review,
    next_board_meeting,
    step_events,
)

OPENED = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)
DUE = OPENED + timedelta(days=14)


def test_default_schedule_reminds_7_and_2_days_before_then_escalates_then_defaults():
    events = step_events(OPENED, DUE, DuePolicy(), has_defaults=True)
    assert [(e.kind, (e.at - OPENED).days) for e in events] == [
        (REMINDER, 7),
        (REMINDER, 12),
        (ESCALATE, 14),
        (DEFAULT, 17),
        (OVERDUE_REMINDER, 21),
        (OVERDUE_REMINDER, 28),
    ]
    assert len({e.key for e in events}) == len(events)


def test_without_defaults_overdue_reminders_continue_up_to_the_maximum():
    policy = DuePolicy(overdue_reminder_every_days=3, max_overdue_reminders=3)
    events = step_events(OPENED, DUE, policy, has_defaults=False)
    assert DEFAULT not in [e.kind for e in events]
    assert [(e.at - DUE).days for e in events if e.kind == OVERDUE_REMINDER] == [3, 6, 9]


def test_reminders_before_the_step_opened_are_dropped():
    short_due = OPENED + timedelta(days=3)
    events = step_events(OPENED, short_due, DuePolicy(), has_defaults=False)
    assert [(e.kind, (e.at - OPENED).days) for e in events if e.kind == REMINDER] == [(REMINDER, 1)]


def test_a_moved_due_date_moves_the_schedule_and_its_keys():
    later = DUE + timedelta(days=7)
    before = step_events(OPENED, DUE, DuePolicy(), True)
    after = step_events(OPENED, later, DuePolicy(), True)
    assert [e.at - later for e in after] == [e.at - DUE for e in before]
    # An event's key names its kind and time, so a reminder due at a new time is a new message.
    assert {e.key for e in after if e.kind == REMINDER}.isdisjoint({e.key for e in before})


def test_the_board_meets_on_first_tuesdays():
    # Seed 003: the Board acted on 2010-10-05 (CSB 20101005), the first Tuesday of October.
    assert board_meeting_in(2010, 10) == date(2010, 10, 5)
    assert board_meeting_in(2026, 12) == date(2026, 12, 1)


def test_next_meeting_leaves_a_week_to_put_the_memo_on_the_agenda():
    assert next_board_meeting(date(2026, 11, 23)) == date(2026, 12, 1)
    assert next_board_meeting(date(2026, 11, 25)) == date(2027, 1, 5)  # Dec 1 is too close
    assert next_board_meeting(date(2026, 12, 1) + timedelta(days=1), agenda_lead_days=0) == date(2027, 1, 5)


def test_descriptions_last_revised_over_ten_years_ago_are_due():
    as_of = date(2026, 11, 23)
    assert is_due_for_review(date(2003, 6, 19), as_of)  # Kent
    assert is_due_for_review(date(2016, 11, 22), as_of)
    assert not is_due_for_review(date(2016, 11, 23), as_of)  # exactly ten years: not over
    assert not is_due_for_review(date(2023, 7, 30), as_of)
    assert is_due_for_review(None, as_of)
    assert is_due_for_review(date(2021, 1, 1), as_of, older_than_years=5)
    assert not is_due_for_review(date(2016, 2, 29), date(2026, 2, 28))


def test_hr_may_revise_only_while_rounds_remain():
    from workflows.rules.review import hr_choices

    assert hr_choices(1, 3) == ["revise", "proceed", "withdraw"]
    assert hr_choices(2, 3) == ["revise", "proceed", "withdraw"]
    assert hr_choices(3, 3) == ["proceed", "withdraw"]
