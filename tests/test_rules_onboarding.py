"""The onboarding's and probation's rules at their boundaries: due dates, month-end clamping,
reminder and CJIS dates, short (demo) probations, the extend-once rule, permanent status."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from schemas import onboarding as ob
from workflows.rules import onboarding as rules

T0 = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)
START = date(2027, 1, 4)


# ----- tasks ---------------------------------------------------------------------------------------


def test_the_licence_check_is_a_task_only_where_the_position_needs_one():
    without = [t.task for t in rules.onboarding_tasks(requires_driver_license=False)]
    with_licence = [t.task for t in rules.onboarding_tasks(requires_driver_license=True)]
    assert ob.DRIVER_LICENSE not in without and with_licence == [*without, ob.DRIVER_LICENSE]
    assert len(without) == 10


def test_independent_tasks_open_first_and_each_attendance_follows_its_scheduling():
    tasks = rules.onboarding_tasks(requires_driver_license=True)
    first = [t.task for t in rules.first_tasks(tasks)]
    assert ob.ORIENTATION_ATTENDANCE not in first and ob.BENEFITS_ATTENDANCE not in first
    assert len(first) == 9
    assert [t.task for t in rules.follow_ups(tasks, ob.ORIENTATION)] == [ob.ORIENTATION_ATTENDANCE]
    assert [t.task for t in rules.follow_ups(tasks, ob.BENEFITS)] == [ob.BENEFITS_ATTENDANCE]
    assert rules.follow_ups(tasks, ob.PAYROLL) == []


def test_every_task_has_one_owner_and_the_it_tasks_track_a_work_order_each():
    tasks = rules.onboarding_tasks(requires_driver_license=True)
    owners = {t.task: t.owner for t in tasks}
    assert owners[ob.PAYROLL] == ob.PAYROLL_ROLE and owners[ob.POLICIES] == ob.EMPLOYEE_OWNER
    orders = {t.task: t.work_order for t in tasks if t.work_order}
    assert orders == {
        ob.IT_ACCOUNT: "account",
        ob.IT_DESKTOP: "desktop",
        ob.IT_VOICE_DATA: "voice_data",
        ob.IT_PHONE: "phone_directory",
    }
    assert {owners[t] for t in orders} == {ob.IT_SERVICE_DESK_ROLE}


def test_a_due_date_counts_from_the_start_date_at_the_end_of_the_day():
    assert rules.task_due_at(START, -3, T0) == datetime(2027, 1, 1, 23, 59, tzinfo=timezone.utc)
    assert rules.task_due_at(START, 7, T0) == datetime(2027, 1, 11, 23, 59, tzinfo=timezone.utc)


def test_a_due_date_already_past_moves_to_a_day_after_the_task_opens():
    late_start = T0.date() + timedelta(days=2)
    assert rules.task_due_at(late_start, -5, T0) == T0 + timedelta(days=1)
    # exactly a day ahead stays as it is; a minute less moves
    opened = datetime(2027, 1, 1, 23, 59, tzinfo=timezone.utc) - timedelta(days=1)
    assert rules.task_due_at(START, -3, opened) == datetime(2027, 1, 1, 23, 59, tzinfo=timezone.utc)
    assert rules.task_due_at(START, -3, opened + timedelta(minutes=1)) == opened + timedelta(
        days=1, minutes=1
    )


def test_done_on_the_due_minute_is_not_late_a_minute_after_is():
    due = rules.end_of_day(START)
    assert not rules.is_late(due, due)
    assert rules.is_late(due + timedelta(minutes=1), due)


def test_a_reopened_task_is_due_three_days_later_or_at_the_end_of_the_day_hr_gives():
    assert rules.reopened_due_at(T0, None) == T0 + timedelta(days=3)
    assert rules.reopened_due_at(T0, START) == rules.end_of_day(START)


def test_step_ids_of_a_task_by_round():
    assert rules.step_id_for(ob.IT_PHONE, 1) == "it-phone-directory"
    assert rules.step_id_for(ob.IT_PHONE, 2) == "it-phone-directory.2"


def test_an_orientation_is_not_in_the_past_nor_more_than_90_days_after_the_start():
    today = date(2026, 12, 1)
    assert rules.orientation_date_problem(today, today, START) is None
    assert rules.orientation_date_problem(today - timedelta(days=1), today, START) == (
        "the orientation date 2026-11-30 is in the past"
    )
    assert rules.orientation_date_problem(START + timedelta(days=90), today, START) is None
    assert "more than 90 days after the start date 2027-01-04" in str(
        rules.orientation_date_problem(START + timedelta(days=91), today, START)
    )


def test_attendance_is_confirmed_from_the_orientation_day_on():
    assert rules.attendance_problem(START, START) is None
    assert rules.attendance_problem(START - timedelta(days=1), START) == (
        "the orientation is on 2027-01-04; attendance can be confirmed from that day on"
    )


# ----- probation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (date(2027, 1, 4), 6, date(2027, 7, 4)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),  # no 31 February: the month's last day
        (date(2027, 8, 31), 6, date(2028, 2, 29)),  # a leap year
        (date(2027, 3, 31), 6, date(2027, 9, 30)),
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2027, 12, 15), 1, date(2028, 1, 15)),  # over the year's end
        (date(2027, 7, 31), 12, date(2028, 7, 31)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
    ],
)
def test_a_probation_of_months_ends_on_the_same_day_or_the_months_last(start: date, months: int, end: date):
    assert rules.add_months(start, months) == end
    assert rules.probation_ends_at(start, months, None, T0) == datetime(
        end.year, end.month, end.day, tzinfo=timezone.utc
    )


def test_a_length_of_a_day_or_more_counts_from_the_start_date_a_shorter_one_from_the_start():
    midnight = datetime(2027, 1, 4, tzinfo=timezone.utc)
    assert rules.probation_ends_at(START, 6, timedelta(days=90), T0) == midnight + timedelta(days=90)
    assert rules.probation_ends_at(START, 6, timedelta(days=1), T0) == midnight + timedelta(days=1)
    just_under = timedelta(days=1) - timedelta(seconds=1)
    assert rules.probation_ends_at(START, 6, just_under, T0) == T0 + just_under
    assert rules.probation_ends_at(START, 6, timedelta(minutes=2), T0) == T0 + timedelta(minutes=2)


def test_reminders_30_and_14_days_before_the_end_and_the_cjis_check_at_30():
    ends = datetime(2027, 7, 4, tzinfo=timezone.utc)
    events = rules.probation_events(ends, T0, cjis_required=True)
    assert [(e.kind, e.days_before, (ends - e.at).days) for e in events] == [
        (rules.CJIS_CHECK, 0, 30),  # before the reminder at the same moment
        (rules.REMIND, 30, 30),
        (rules.REMIND, 14, 14),
        (rules.END, 0, 0),
    ]
    assert len({e.key for e in events}) == 4
    assert [e.kind for e in rules.probation_events(ends, T0, cjis_required=False)] == [
        rules.REMIND,
        rules.REMIND,
        rules.END,
    ]


def test_a_reminder_already_past_is_not_sent_and_a_late_cjis_check_comes_at_once():
    ends = T0 + timedelta(days=20)
    events = rules.probation_events(ends, T0, cjis_required=True)
    assert [(e.kind, e.at) for e in events] == [
        (rules.CJIS_CHECK, T0),
        (rules.REMIND, ends - timedelta(days=14)),
        (rules.END, ends),
    ]
    exactly = rules.probation_events(T0 + timedelta(days=30), T0, cjis_required=False)
    assert [e.days_before for e in exactly if e.kind == rules.REMIND] == [14]  # at `now` is not ahead


def test_a_demo_probation_has_only_its_end():
    ends = T0 + timedelta(minutes=2)
    assert [(e.kind, e.at) for e in rules.probation_events(ends, T0, cjis_required=False)] == [
        (rules.END, ends)
    ]


def test_a_probation_is_extended_once_with_a_reason():
    assert rules.extension_problem(None, "needs more time") is None
    assert rules.extension_problem(None, "  ") == "an extension needs a reason"
    assert rules.extension_problem(date(2027, 8, 18), "again") == (
        "the probation was already extended once (to 2027-08-18); it may be extended only once"
    )
    assert rules.release_problem(None) == "a release from probation needs a reason"
    assert rules.release_problem("did not meet the standard") is None


def test_an_extension_is_1_to_180_days():
    ends = datetime(2027, 7, 4, tzinfo=timezone.utc)
    assert rules.extended_ends_at(ends, 1) == ends + timedelta(days=1)
    assert rules.extended_ends_at(ends, 180) == ends + timedelta(days=180)
    for days in (0, 181):
        with pytest.raises(ValueError):
            rules.extended_ends_at(ends, days)


def test_permanent_status_begins_at_the_end_or_when_a_late_clearance_is_recorded():
    ends_on = date(2027, 7, 4)
    assert rules.permanent_on(ends_on, START, None) == ends_on
    assert rules.permanent_on(ends_on, START, date(2027, 6, 1)) == ends_on
    assert rules.permanent_on(ends_on, START, ends_on) == ends_on
    assert rules.permanent_on(ends_on, START, date(2027, 7, 9)) == date(2027, 7, 9)


def test_a_probation_shorter_than_the_wait_for_the_start_makes_permanent_from_the_start_date():
    assert rules.permanent_on(START - timedelta(days=1), START, None) == START


def test_a_cjis_clearance_is_not_dated_in_the_future_nor_over_a_year_before_the_start():
    today = date(2027, 3, 1)
    assert rules.cjis_problem(today, today, START) is None
    assert (
        rules.cjis_problem(today + timedelta(days=1), today, START)
        == "the clearance date 2027-03-02 is in the future"
    )
    assert rules.cjis_problem(START - timedelta(days=366), today, START) is None
    assert "more than a year before the start date" in str(
        rules.cjis_problem(START - timedelta(days=367), today, START)
    )
