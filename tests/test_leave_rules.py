"""The leave rules, called directly: eligibility, the certification's due date, the entitlement
under a rolling twelve-month rule (intermittent hours, exactly at the entitlement), requests and
absences."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from workflows.rules import leave as rules
from workflows.rules.leave import Absence


def test_the_entitlement_is_twelve_weeks_of_the_schedule():
    assert rules.entitlement_hours() == 480
    assert rules.entitlement_hours(40) == 480
    assert rules.entitlement_hours(20) == 240


def test_eligibility_needs_twelve_months_and_1250_hours():
    ok = rules.eligibility(date(2025, 3, 1), 1250, date(2026, 3, 1))
    assert ok.eligible and ok.service_months == 12 and ok.reasons == ()
    short = rules.eligibility(date(2025, 3, 2), 1250, date(2026, 3, 1))
    assert not short.eligible and short.service_months == 11
    assert short.reasons == ("11 months of service by 2026-03-01; 12 are needed",)
    few = rules.eligibility(date(2020, 1, 1), 1249.5, date(2026, 3, 1))
    assert not few.eligible
    assert few.reasons == ("1249.5 hours worked in the twelve months before 2026-03-01; 1250 are needed",)
    unknown = rules.eligibility(None, 2000, date(2026, 3, 1))
    assert unknown.reasons == ("no start of service is on record",)


def test_the_certification_is_due_fifteen_days_after_the_request():
    at = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
    assert rules.certification_due(at) == at + timedelta(days=15)
    assert rules.certification_due(at, days=30) == at + timedelta(days=30)
    assert rules.needs_certification("medical") and not rules.needs_certification("other")


def test_fitness_for_duty_follows_the_certification_else_the_type():
    assert rules.needs_fitness_for_duty("medical", None)
    assert rules.needs_fitness_for_duty("workers_comp", None)
    assert not rules.needs_fitness_for_duty("family", None)
    assert not rules.needs_fitness_for_duty("medical", False)
    assert rules.needs_fitness_for_duty("family", True)


def test_the_window_is_the_twelve_months_ending_on_the_day():
    absences = [Absence(date(2025, 3, 1), 8), Absence(date(2025, 3, 2), 8), Absence(date(2026, 2, 1), 4)]
    # 2026-03-01: the window is after 2025-03-01, so that day has dropped out.
    assert rules.used_in_window(absences, date(2026, 3, 1)) == 12
    assert rules.used_in_window(absences, date(2026, 2, 28)) == 20
    assert rules.remaining_on(absences, date(2026, 3, 1), 480) == 468
    assert rules.one_year_before(date(2028, 2, 29)) == date(2027, 2, 28)


def test_intermittent_hours_add_up_to_the_entitlement_and_not_beyond():
    taken = [Absence(date(2026, 1, 5) + timedelta(days=n), 4) for n in range(119)]  # 476 hours
    assert rules.used_in_window(taken, date(2026, 6, 1)) == 476
    assert rules.usage_problem(taken, [Absence(date(2026, 6, 1), 4)], 480) is None  # exactly 480
    assert rules.is_exhausted([*taken, Absence(date(2026, 6, 1), 4)], date(2026, 6, 1), 480)
    problem = rules.usage_problem(taken, [Absence(date(2026, 6, 1), 4.5)], 480)
    assert problem == (
        "4.5 hours on 2026-06-01 exceed the remaining entitlement: "
        "4 of 480 hours left in the twelve months to 2026-06-01"
    )
    assert not rules.is_exhausted(taken, date(2026, 6, 1), 480)


def test_hours_a_year_old_are_available_again():
    taken = [Absence(date(2025, 6, 2), 480)]
    assert rules.usage_problem(taken, [Absence(date(2026, 6, 2), 8)], 480) is None
    refused = rules.usage_problem(taken, [Absence(date(2026, 6, 1), 8)], 480)
    assert refused is not None and "0 of 480 hours left" in refused


def test_an_absence_recorded_late_counts_in_the_windows_of_later_absences():
    """A new early absence must fit every twelve-month window that later absences close."""
    taken = [Absence(date(2025, 12, 1), 470), Absence(date(2026, 3, 1), 8)]
    # The window to 2026-01-10 holds 470: 10 left. But the window to 2026-03-01 holds 478: 2 left.
    problem = rules.usage_problem(taken, [Absence(date(2026, 1, 10), 4)], 480)
    assert problem is not None and "2 of 480 hours left" in problem
    assert rules.usage_problem(taken, [Absence(date(2026, 1, 10), 2)], 480) is None


def test_several_new_absences_are_counted_together():
    taken = [Absence(date(2026, 1, 5), 470)]
    new = rules.absences_for(date(2026, 2, 2), date(2026, 2, 6), 4, rules.INTERMITTENT)
    assert [a.on for a in new] == [date(2026, 2, n) for n in range(2, 7)]
    problem = rules.usage_problem(taken, new, 480)
    assert problem is not None and problem.startswith("4 hours on 2026-02-04")


def test_a_continuous_leave_takes_every_workday():
    days = rules.workdays(date(2026, 3, 2), date(2026, 3, 15))  # two weeks from a Monday
    assert len(days) == 10 and all(d.weekday() < 5 for d in days)
    assert rules.requested_hours("continuous", date(2026, 3, 2), date(2026, 3, 15), 40, None) == 80
    assert rules.requested_hours("intermittent", date(2026, 3, 2), date(2026, 6, 1), 40, 96) == 96


def test_request_problems():
    d = date(2026, 3, 2)
    assert rules.request_problem("continuous", d, d - timedelta(days=1), None, 40) is not None
    assert rules.request_problem("intermittent", d, d + timedelta(days=30), None, 40) == (
        "an intermittent leave states the hours it expects to take"
    )
    assert rules.request_problem("continuous", date(2026, 3, 7), date(2026, 3, 8), None, 40) is not None
    assert rules.request_problem("continuous", d, d + timedelta(days=400), None, 40) is not None
    assert rules.request_problem("intermittent", d, d + timedelta(days=30), 40, 40) is None


def test_overlap_with_an_approved_leave():
    periods = [("leave-E1-20260302", date(2026, 3, 2), date(2026, 3, 31))]
    assert rules.overlap(date(2026, 4, 1), date(2026, 4, 30), periods) is None
    assert rules.overlap(date(2026, 3, 31), date(2026, 4, 30), periods) == (
        "the dates overlap the approved leave leave-E1-20260302 (2026-03-02 to 2026-03-31)"
    )
    assert rules.overlap(date(2026, 2, 1), date(2026, 3, 2), periods) is not None


def test_absence_problems():
    start, end = date(2026, 3, 2), date(2026, 3, 31)
    assert rules.absence_problem(date(2026, 3, 3), None, 4, start, end) is None
    assert rules.absence_problem(date(2026, 4, 1), None, 4, start, end) == (
        "absences are recorded inside the leave, 2026-03-02 to 2026-03-31"
    )
    assert rules.absence_problem(date(2026, 3, 3), None, 25, start, end) is not None
    assert rules.absence_problem(date(2026, 3, 3), date(2026, 3, 2), 4, start, end) is not None
    assert rules.absence_problem(date(2026, 3, 7), date(2026, 3, 8), 4, start, end) is not None


def test_an_extension_moves_the_end_later():
    assert rules.extension_problem(date(2026, 3, 31), date(2026, 4, 30), date(2026, 3, 2)) is None
    assert rules.extension_problem(date(2026, 3, 31), date(2026, 3, 31), date(2026, 3, 2)) is not None
    assert rules.extension_problem(date(2026, 3, 31), date(2028, 4, 30), date(2026, 3, 2)) is not None
