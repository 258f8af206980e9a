"""Death claim rules (seed 003: "process death claims"; issue 10), pure and deterministic.

Where the seeds are silent:

- **Coverage and payroll deductions** end on the last day of the month of death: the premium
  for that month was deducted, none after it.
- **The life-insurance claim** is filed by HR benefits staff with the carrier within
  ``CLAIM_FILE_DAYS`` days of the claim being opened (reminders 7 and 2 days before, then the HR
  supervisor hears of it; no default: a claim is never "filed" by the clock).
- **Beneficiaries** are those designated on the employee's current life-plan election (shares
  totalling 100 percent, checked when elected); none designated: the carrier pays the estate.
- **Dependants** covered by the employee's medical, dental or vision plans may continue them
  under COBRA for ``DEPENDANT_COBRA_MONTHS`` months (the employee's death is a qualifying event
  for them), electing within 60 days of the later of the notice and the end of coverage. The
  claim records their number and the elect-by day; the dependants are not people of the
  directory, so their elections go to HR on paper, not through an enrollment workflow.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from workflows.rules.benefits import COBRA_ELECTION_DAYS, last_of_month
from workflows.rules.deadlines import end_of_day

CLAIM_FILE_DAYS = 10
DEPENDANT_COBRA_MONTHS = 36


def coverage_ends_on(died_on: date) -> date:
    """Coverage and payroll deductions end on the last day of the month of death."""
    return last_of_month(died_on)


def claim_due(now: datetime) -> datetime:
    """The life claim is due filed at the end of the ``CLAIM_FILE_DAYS``-th day from now."""
    return end_of_day(now.date() + timedelta(days=CLAIM_FILE_DAYS))


def dependants_elect_by(died_on: date, notice_on: date) -> date:
    """The last day covered dependants may elect COBRA continuation."""
    return max(notice_on, coverage_ends_on(died_on)) + timedelta(days=COBRA_ELECTION_DAYS)


def died_on_problem(died_on: date, today: date) -> str | None:
    """Why a date of death cannot be recorded (never repeating it), or None."""
    if died_on > today:
        return "the date of death is in the future"
    return None


def filed_problem(filed_on: date, died_on: date, today: date) -> str | None:
    """Why a claim's filing day is refused (never naming the date of death), or None."""
    if filed_on > today:
        return f"the filing day {filed_on} is in the future"
    if filed_on < died_on:
        return f"the filing day {filed_on} is before the date of death"
    return None
