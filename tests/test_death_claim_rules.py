"""The death claim's rules called directly: coverage and deductions end with the month of death,
the filing's due date, the dependants' COBRA election day, refused dates."""

from __future__ import annotations

from datetime import date, datetime, timezone

from workflows.rules import death_claim as rules


def test_coverage_and_deductions_end_on_the_last_day_of_the_month_of_death():
    assert rules.coverage_ends_on(date(2027, 2, 3)) == date(2027, 2, 28)
    assert rules.coverage_ends_on(date(2028, 2, 29)) == date(2028, 2, 29)  # leap year, last day
    assert rules.coverage_ends_on(date(2027, 12, 31)) == date(2027, 12, 31)
    assert rules.coverage_ends_on(date(2027, 1, 1)) == date(2027, 1, 31)


def test_the_life_claim_is_due_ten_days_on():
    now = datetime(2027, 2, 3, 15, 0, tzinfo=timezone.utc)
    assert rules.claim_due(now) == datetime(2027, 2, 13, 23, 59, tzinfo=timezone.utc)


def test_dependants_elect_cobra_within_60_days_of_the_later_of_the_notice_and_the_end_of_coverage():
    assert rules.dependants_elect_by(date(2027, 2, 3), date(2027, 2, 5)) == date(2027, 4, 29)  # from Feb 28
    assert rules.dependants_elect_by(date(2027, 2, 3), date(2027, 3, 10)) == date(
        2027, 5, 9
    )  # from the notice
    assert rules.DEPENDANT_COBRA_MONTHS == 36


def test_a_date_of_death_in_the_future_and_a_filing_before_the_death_or_in_the_future_are_refused():
    today = date(2027, 2, 10)
    assert rules.died_on_problem(date(2027, 2, 11), today) == "the date of death is in the future"
    assert rules.died_on_problem(today, today) is None
    died = date(2027, 2, 3)
    assert (
        rules.filed_problem(date(2027, 2, 2), died, today)
        == "the filing day 2027-02-02 is before the date of death"
    )
    assert rules.filed_problem(date(2027, 2, 11), died, today) == "the filing day 2027-02-11 is in the future"
    assert rules.filed_problem(died, died, today) is None
    assert rules.filed_problem(today, died, today) is None


def test_a_separation_by_death_keeps_the_date_out_of_the_action_id_and_summary():
    from cli.action import action_summary, default_action_id
    from schemas.employment import PersonnelActionInput

    died = date(2027, 2, 3)
    assert default_action_id("death", died) == "death"
    assert default_action_id("retirement", died) == "retirement-20270203"
    inp = PersonnelActionInput(
        action_id="death",
        employee_id="E1017",
        kind="death",
        requested_by="E1008",
        effective_on=died,
        reason="x",
    )
    assert action_summary(inp) == "Personnel action: death of E1017"
