"""Leave rules as pure functions: eligibility, the certification's due date, the entitlement
under a rolling twelve-month rule, and the checks of a request and of each absence.

Seeds 003 and 000 (leave processing, utilization tracking, difficult cases referred to the
Employee Benefits Representative; workers' compensation with a third-party administrator). The
numbers are the usual family-and-medical-leave defaults, named here so a city can change them:

- eligibility: 12 months of service and 1,250 hours worked in the 12 months before the leave;
- certification: due 15 calendar days after the request;
- entitlement: 12 work weeks in a rolling twelve months, i.e. 12 x the weekly schedule in hours
  (480 hours for a 40-hour full-time schedule), measured backward from the date of each absence.

No I/O and no clock: the workflow passes ``workflow.now()`` in, the unit tests a fixed date.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

MEDICAL = "medical"
FAMILY = "family"
PARENTAL = "parental"
MILITARY = "military"
WORKERS_COMP = "workers_comp"
OTHER = "other"
LEAVE_TYPES: tuple[str, ...] = (MEDICAL, FAMILY, PARENTAL, MILITARY, WORKERS_COMP, OTHER)
"""Medical or disability, family, parental, military, workers' compensation, other."""

CONTINUOUS = "continuous"
INTERMITTENT = "intermittent"
SCHEDULES: tuple[str, ...] = (CONTINUOUS, INTERMITTENT)

ENTITLEMENT_WEEKS = 12
FULL_TIME_WEEKLY_HOURS = 40.0
MIN_SERVICE_MONTHS = 12
MIN_HOURS_WORKED = 1250.0
CERTIFICATION_DAYS = 15
ACKNOWLEDGE_DAYS = 3
APPROVAL_DAYS = 5
RETURN_DAYS = 3
REFERRAL_DAYS = 5
MAX_DAILY_HOURS = 24.0
MAX_LEAVE_DAYS = 366
"""A request (or an extension) covers at most a year."""

NEEDS_CERTIFICATION: frozenset[str] = frozenset({MEDICAL, FAMILY, PARENTAL, MILITARY, WORKERS_COMP})
"""Every type but ``other`` needs a certification (a provider's, or military orders)."""
FITNESS_FOR_DUTY_TYPES: frozenset[str] = frozenset({MEDICAL, WORKERS_COMP})
"""An employee back from their own serious health condition or a work injury shows fitness for
duty, unless the certification says otherwise."""


@dataclass(frozen=True)
class Absence:
    """Hours of leave taken on one day."""

    on: date
    hours: float


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    service_months: int
    hours_worked: float
    reasons: tuple[str, ...]
    """Why not, one line each (empty when eligible)."""


def entitlement_hours(weekly_hours: float = FULL_TIME_WEEKLY_HOURS) -> float:
    """12 work weeks of the employee's schedule: 480 hours for a 40-hour week."""
    return ENTITLEMENT_WEEKS * weekly_hours


def one_year_before(day: date) -> date:
    """The same day a year earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end`` (0 when ``end`` is earlier)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:
        months -= 1
    return max(months, 0)


def eligibility(service_start: date | None, hours_worked: float, starts_on: date) -> Eligibility:
    """12 months of service by the first day of leave and 1,250 hours worked in the 12 months
    before it."""
    reasons: list[str] = []
    months = months_between(service_start, starts_on) if service_start else 0
    if service_start is None:
        reasons.append("no start of service is on record")
    elif months < MIN_SERVICE_MONTHS:
        reasons.append(f"{months} months of service by {starts_on}; {MIN_SERVICE_MONTHS} are needed")
    if hours_worked < MIN_HOURS_WORKED:
        reasons.append(
            f"{hours_worked:g} hours worked in the twelve months before {starts_on}; "
            f"{MIN_HOURS_WORKED:g} are needed"
        )
    return Eligibility(not reasons, months, hours_worked, tuple(reasons))


def certification_due(requested_at: datetime, days: int = CERTIFICATION_DAYS) -> datetime:
    """The certification is due ``days`` calendar days after the request (15 by default)."""
    return requested_at + timedelta(days=days)


def needs_certification(leave_type: str) -> bool:
    return leave_type in NEEDS_CERTIFICATION


def needs_fitness_for_duty(leave_type: str, certification_says: bool | None) -> bool:
    """The certification's word where it gave one; else the type's default."""
    if certification_says is not None:
        return certification_says
    return leave_type in FITNESS_FOR_DUTY_TYPES


# ----- the entitlement ------------------------------------------------------------------------


def used_in_window(absences: Iterable[Absence], on: date) -> float:
    """Hours taken in the twelve months that end on ``on`` (after the same day a year earlier)."""
    start = one_year_before(on)
    return sum(a.hours for a in absences if start < a.on <= on)


def remaining_on(absences: Iterable[Absence], on: date, entitlement: float) -> float:
    """What is left of ``entitlement`` on ``on``, measured backward over twelve months."""
    return max(entitlement - used_in_window(list(absences), on), 0.0)


def available_for(absences: Sequence[Absence], on: date, entitlement: float) -> float:
    """How many hours may still be taken on ``on``: the least left in every twelve-month window
    that would hold it (the one ending that day, and those ending on each later absence within a
    year, which an absence recorded late also falls in)."""
    later = [a.on for a in absences if on < a.on and one_year_before(a.on) < on]
    return min(entitlement - used_in_window(absences, day) for day in [on, *later])


def usage_problem(absences: Sequence[Absence], new: Sequence[Absence], entitlement: float) -> str | None:
    """Why the absences ``new`` cannot be added to ``absences`` (None: they fit). The refusal
    names the balance: what was left on the first day that does not fit."""
    taken = list(absences)
    for absence in sorted(new, key=lambda a: a.on):
        left = available_for(taken, absence.on, entitlement)
        if absence.hours > left + 1e-9:
            return (
                f"{absence.hours:g} hours on {absence.on} exceed the remaining entitlement: "
                f"{max(left, 0):g} of {entitlement:g} hours left in the twelve months to {absence.on}"
            )
        taken.append(absence)
    return None


def is_exhausted(absences: Sequence[Absence], on: date, entitlement: float) -> bool:
    return remaining_on(absences, on, entitlement) <= 1e-9


# ----- requests and absences ------------------------------------------------------------------


def workdays(starts_on: date, ends_on: date) -> list[date]:
    """Monday to Friday from ``starts_on`` to ``ends_on``, both included."""
    days = (ends_on - starts_on).days + 1
    every = (starts_on + timedelta(days=n) for n in range(max(days, 0)))
    return [d for d in every if d.weekday() < 5]


def daily_hours(weekly_hours: float) -> float:
    return weekly_hours / 5


def requested_hours(
    schedule: str, starts_on: date, ends_on: date, weekly_hours: float, hours: float | None
) -> float:
    """A continuous leave takes every workday of its schedule; an intermittent one the hours asked."""
    if schedule == CONTINUOUS:
        return len(workdays(starts_on, ends_on)) * daily_hours(weekly_hours)
    return hours or 0.0


def request_problem(
    schedule: str, starts_on: date, ends_on: date, hours: float | None, weekly_hours: float
) -> str | None:
    """A request's own shape: dates in order, at most a year, hours for an intermittent leave."""
    if ends_on < starts_on:
        return f"the leave ends ({ends_on}) before it starts ({starts_on})"
    if (ends_on - starts_on).days + 1 > MAX_LEAVE_DAYS:
        return f"a leave request covers at most {MAX_LEAVE_DAYS} days; ask for an extension later"
    if not 0 < weekly_hours <= 7 * MAX_DAILY_HOURS:
        return "the weekly schedule must be between 0 and 168 hours"
    if schedule == INTERMITTENT and not hours:
        return "an intermittent leave states the hours it expects to take"
    if schedule == CONTINUOUS and not workdays(starts_on, ends_on):
        return "a continuous leave covers at least one workday"
    return None


def overlap(starts_on: date, ends_on: date, periods: Iterable[tuple[str, date, date]]) -> str | None:
    """The first period (id, start, end) the dates overlap, as a refusal."""
    for leave_id, start, end in periods:
        if starts_on <= end and start <= ends_on:
            return f"the dates overlap the approved leave {leave_id} ({start} to {end})"
    return None


def absences_for(on: date, through: date | None, hours: float, schedule: str) -> list[Absence]:
    """One absence, or every workday from ``on`` through ``through`` at ``hours`` each."""
    if through is None or through == on:
        return [Absence(on, hours)]
    return [Absence(d, hours) for d in workdays(on, through)]


def absence_problem(
    on: date, through: date | None, hours: float, starts_on: date, ends_on: date
) -> str | None:
    """Dates inside the leave, hours of a day."""
    last = through or on
    if last < on:
        return f"the absence ends ({last}) before it starts ({on})"
    if on < starts_on or last > ends_on:
        return f"absences are recorded inside the leave, {starts_on} to {ends_on}"
    if not 0 < hours <= MAX_DAILY_HOURS:
        return f"the hours of a day are more than 0 and at most {MAX_DAILY_HOURS:g}"
    if through is not None and through != on and not workdays(on, through):
        return f"there is no workday from {on} to {through}"
    return None


def extension_problem(ends_on: date, new_ends_on: date, starts_on: date) -> str | None:
    if new_ends_on <= ends_on:
        return f"an extension moves the end ({ends_on}) later, not to {new_ends_on}"
    if (new_ends_on - starts_on).days + 1 > 2 * MAX_LEAVE_DAYS:
        return "a leave with its extensions covers at most two years"
    return None


def end_of(day: date) -> datetime:
    """The moment a leave's last day is over (midnight UTC after it)."""
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(days=1)
