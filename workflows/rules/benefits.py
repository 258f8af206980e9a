"""Benefits enrollment rules (seeds 000, 003; issue 10), pure and deterministic.

Windows, coverage dates, who may join which plan, whether a tier matches the dependants listed,
what an election is refused for, and the default when nobody elects. Workflows import these
plainly; unit tests call them directly (``tests/test_benefits_rules.py``).

Where the seeds are silent:

- **New hire**: the window runs from the hire date for the plan's days (30 unless the plan says
  otherwise); coverage starts on the first of the month after the hire date (the hire date
  itself when that is a first). No election: **waive**.
- **Qualifying life event**: marriage or loss of other coverage 30 days, a birth or adoption 60
  days, from the event; coverage from the first of the next month (a birth or adoption: the
  event date). No election: **waive** (the current elections stay).
- **Open enrollment**: the bulk run's window; coverage from 1 January of the coverage year. No
  election: the current elections **carry over**.
- **COBRA** (separation): coverage ends on the last day of the separation month; the notice is
  due within 44 days of the separation (30 for the employer to tell the plan administrator, 14
  for the administrator to tell the employee); the election window is 60 days from the later of
  the notice and the end of coverage. Only the medical, dental and vision plans the employee
  held can be continued. No election: continuation **lapses**.
- **HR's audit** of an election: HR benefits staff other than the employee audit it within
  ``AUDIT_DAYS`` days (reminders before, the HR supervisor told when overdue, no default: an
  election is never recorded unaudited). A return needs a reason and the window still open: the
  elections step opens again until the window closes.
- **Tiers**: employee only (no dependant), employee and spouse (one spouse or domestic partner),
  employee and children (one child or more), family (both); a plan offered in the employee-only
  tier alone (life, retirement) covers no dependants. At most one spouse or partner; a child is
  under 26 on the coverage date; nobody is born in the future.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from schemas.benefits import (
    CARRIED_OVER,
    CARRY_OVER,
    COBRA,
    ELECT,
    ELECTED,
    EMPLOYEE_CHILDREN,
    EMPLOYEE_ONLY,
    EMPLOYEE_SPOUSE,
    FAMILY,
    LAPSE,
    LAPSED,
    LIFE_EVENT,
    NEW_HIRE,
    OPEN_ENROLLMENT,
    WAIVE,
    WAIVED,
    Coverage,
    Dependant,
    ElectionRecord,
    EnrollmentFacts,
    PlanView,
)
from schemas.decision_details import BenefitElections
from workflows.rules.deadlines import end_of_day

NEW_HIRE_WINDOW_DAYS = 30
"""Issue 10: "30 days unless the plan says otherwise"."""
LIFE_EVENT_WINDOW_DAYS = {"marriage": 30, "loss_of_coverage": 30, "birth_adoption": 60}
OPEN_ENROLLMENT_DAYS = 30
COBRA_NOTICE_DAYS = 44
"""30 days for the employer to tell the plan administrator, 14 for the administrator to tell the employee."""
COBRA_ELECTION_DAYS = 60
CHILD_AGE_LIMIT = 26
SPOUSES = ("spouse", "domestic_partner")
COBRA_KINDS = ("medical", "dental", "vision")
AUDIT_DAYS = 5


@dataclass(frozen=True)
class Window:
    """An enrollment's window and the day the coverage it elects starts."""

    closes_at: datetime
    coverage_on: date


@dataclass(frozen=True)
class CobraDates:
    coverage_ends_on: date
    notice_due_on: date
    elect_by: date


def first_of_next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def last_of_month(day: date) -> date:
    return date(day.year, day.month, monthrange(day.year, day.month)[1])


def cobra_dates(separated_on: date, notice_on: date) -> CobraDates:
    """The COBRA dates of a separation whose notice goes out on ``notice_on``."""
    ends = last_of_month(separated_on)
    return CobraDates(
        coverage_ends_on=ends,
        notice_due_on=separated_on + timedelta(days=COBRA_NOTICE_DAYS),
        elect_by=max(notice_on, ends) + timedelta(days=COBRA_ELECTION_DAYS),
    )


def window(
    event: str,
    event_on: date,
    offered: Sequence[PlanView],
    now: datetime,
    *,
    life_event: str | None = None,
    year: int | None = None,
    closes_at: datetime | None = None,
) -> Window:
    """The window of an enrollment for ``event`` and the day its coverage starts."""
    if event == NEW_HIRE:
        days = max((p.new_hire_window_days for p in offered), default=NEW_HIRE_WINDOW_DAYS)
        coverage = event_on if event_on.day == 1 else first_of_next_month(event_on)
        return Window(end_of_day(event_on + timedelta(days=days)), coverage)
    if event == LIFE_EVENT:
        days = LIFE_EVENT_WINDOW_DAYS.get(life_event or "", 30)
        coverage = event_on if life_event == "birth_adoption" else first_of_next_month(event_on)
        return Window(end_of_day(event_on + timedelta(days=days)), coverage)
    if event == OPEN_ENROLLMENT:
        coverage = date(year or event_on.year, 1, 1)
        return Window(closes_at or end_of_day(now.date() + timedelta(days=OPEN_ENROLLMENT_DAYS)), coverage)
    if event == COBRA:
        dates = cobra_dates(event_on, now.date())
        return Window(end_of_day(dates.elect_by), dates.coverage_ends_on + timedelta(days=1))
    raise ValueError(f"unknown enrollment event {event!r}")


def plan_window_closes(plan: PlanView, event: str, event_on: date, closes_at: datetime) -> datetime:
    """A new hire's window for one plan (its own days); for every other event the enrollment's."""
    if event == NEW_HIRE:
        return end_of_day(event_on + timedelta(days=plan.new_hire_window_days))
    return closes_at


def offered_plans(facts: EnrollmentFacts, event: str) -> list[PlanView]:
    """The plans open to the employee for ``event``: by department for an active employee; for
    COBRA, the continuable plans (medical, dental, vision) they held when they separated."""
    if event == COBRA:
        held = {c.plan_id for c in facts.coverage}
        return [p for p in facts.plans if p.cobra and p.kind in COBRA_KINDS and p.plan_id in held]
    if not facts.active:
        return []
    return [p for p in facts.plans if not p.departments or facts.department_code in p.departments]


def tier_for(dependants: Sequence[Dependant]) -> str:
    """The tier that matches the dependants listed."""
    spouse = any(d.relation in SPOUSES for d in dependants)
    children = any(d.relation == "child" for d in dependants)
    if spouse and children:
        return FAMILY
    if spouse:
        return EMPLOYEE_SPOUSE
    if children:
        return EMPLOYEE_CHILDREN
    return EMPLOYEE_ONLY


def covers_dependants(plan: PlanView) -> bool:
    return plan.tiers != [EMPLOYEE_ONLY]


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def dependants_problem(dependants: Sequence[Dependant], coverage_on: date, today: date) -> str | None:
    """Why the dependants listed cannot be covered (never naming a date of birth), or None."""
    if sum(1 for d in dependants if d.relation in SPOUSES) > 1:
        return "at most one spouse or domestic partner may be covered"
    for n, d in enumerate(dependants, start=1):
        if d.date_of_birth > today:
            return f"dependant {n} ({d.relation}) has a date of birth in the future"
        if d.relation == "child" and age_on(d.date_of_birth, coverage_on) >= CHILD_AGE_LIMIT:
            return (
                f"dependant {n} (child) is {CHILD_AGE_LIMIT} or older on {coverage_on}; "
                f"only children under {CHILD_AGE_LIMIT} are covered"
            )
    return None


def election_problem(
    elections: BenefitElections,
    offered: Sequence[PlanView],
    *,
    employee_id: str,
    event: str,
    event_on: date,
    closes_at: datetime,
    coverage_on: date,
    now: datetime,
) -> str | None:
    """Why the elections are refused (plan not open, tier not matching the dependants, window
    closed, ...), or None. The refusal names plans, tiers and positions, never a date of birth."""
    if now > closes_at:
        return f"the enrollment window closed {closes_at:%Y-%m-%d %H:%M} UTC"
    by_id = {p.plan_id: p for p in offered}
    kinds: set[str] = set()
    needed = tier_for(elections.dependants)
    covering = False
    for choice in elections.plans:
        plan = by_id.get(choice.plan_id)
        if plan is None:
            return f"plan {choice.plan_id} is not open to {employee_id} (open: {', '.join(by_id) or 'none'})"
        if plan.kind in kinds:
            return f"more than one {plan.kind} plan elected; elect one plan of each kind"
        kinds.add(plan.kind)
        if now > plan_window_closes(plan, event, event_on, closes_at):
            return f"the window of plan {plan.plan_id} closed"
        if choice.tier not in plan.tiers:
            return f"plan {plan.plan_id} has no tier {choice.tier} (tiers: {', '.join(plan.tiers)})"
        if covers_dependants(plan):
            covering = True
            if choice.tier != needed:
                return (
                    f"tier {choice.tier} of plan {plan.plan_id} does not match the dependants listed "
                    f"({describe(elections.dependants)}: tier {needed})"
                )
    if elections.dependants and not covering:
        return "dependants are listed but no elected plan covers dependants"
    problem = beneficiaries_problem(elections, by_id)
    if problem:
        return problem
    return dependants_problem(elections.dependants, coverage_on, now.date())


def beneficiaries_problem(elections: BenefitElections, plans: dict[str, PlanView]) -> str | None:
    """Why the beneficiaries designated cannot stand (no life plan elected, shares not totalling
    100 percent), or None; never naming a beneficiary."""
    if not elections.beneficiaries:
        return None
    if not any(plans[c.plan_id].kind == "life" for c in elections.plans if c.plan_id in plans):
        return "beneficiaries are designated but no life plan is elected"
    total = sum(b.percent for b in elections.beneficiaries)
    if total != 100:
        return f"the beneficiaries' shares total {total} percent; they must total 100"
    return None


def describe(dependants: Sequence[Dependant]) -> str:
    """``1 spouse, 2 children`` (no dates of birth)."""
    spouses = sum(1 for d in dependants if d.relation in SPOUSES)
    children = sum(1 for d in dependants if d.relation == "child")
    parts = []
    if spouses:
        parts.append(f"{spouses} spouse/partner")
    if children:
        parts.append(f"{children} child{'ren' if children > 1 else ''}")
    return ", ".join(parts) or "no dependants"


def allowed_decisions(event: str) -> list[str]:
    """The answers of the elections step: open enrollment may also keep what is there."""
    if event == OPEN_ENROLLMENT:
        return [ELECT, WAIVE, CARRY_OVER]
    return [ELECT, WAIVE]


def default_decision(event: str) -> str:
    """No election by the deadline: waive for a new hire or a life event, carry over in open
    enrollment, a lapse of COBRA continuation."""
    if event == OPEN_ENROLLMENT:
        return CARRY_OVER
    if event == COBRA:
        return LAPSE
    return WAIVE


def outcome_of(decision: str) -> str:
    return {ELECT: ELECTED, WAIVE: WAIVED, CARRY_OVER: CARRIED_OVER, LAPSE: LAPSED}[decision]


def ends_current(event: str, decision: str) -> bool:
    """Whether the decision ends the employee's current elections: an election replaces them;
    a waiver in open enrollment drops them (a new hire has none; a waived life event keeps them)."""
    if decision == ELECT:
        return event != COBRA
    return decision == WAIVE and event == OPEN_ENROLLMENT


def election_records(elections: BenefitElections, offered: Sequence[PlanView]) -> list[ElectionRecord]:
    """What an accepted election records: per plan, the carrier, tier, dependants and premium."""
    by_id = {p.plan_id: p for p in offered}
    records = []
    for choice in elections.plans:
        plan = by_id[choice.plan_id]
        records.append(
            ElectionRecord(
                plan_id=plan.plan_id,
                kind=plan.kind,
                carrier=plan.carrier,
                tier=choice.tier,
                dependants=list(elections.dependants) if covers_dependants(plan) else [],
                monthly_premium_cents=plan.monthly_premium_cents.get(choice.tier, 0),
                beneficiaries=list(elections.beneficiaries) if plan.kind == "life" else [],
            )
        )
    return records


def continuable(coverage: Sequence[Coverage]) -> list[Coverage]:
    """The current elections COBRA can continue."""
    return [c for c in coverage if c.kind in COBRA_KINDS]


def enrollment_due(closes_at: datetime, now: datetime) -> datetime:
    """The elections step's due date: the window's close (never before now)."""
    return max(closes_at, now)


def audit_due(now: datetime) -> datetime:
    """HR's audit of an election is due at the end of the ``AUDIT_DAYS``-th day after it."""
    return end_of_day(now.date() + timedelta(days=AUDIT_DAYS))


def auditors(hr_staff: Sequence[str], employee_id: str) -> list[str]:
    """Who may audit an employee's election: HR staff, never the employee themselves."""
    return sorted({p for p in hr_staff if p != employee_id})


def audit_return_problem(now: datetime, closes_at: datetime) -> str | None:
    """Why an election cannot be returned to the employee now (the window has closed), or None."""
    if now > closes_at:
        return (
            f"the enrollment window closed {closes_at:%Y-%m-%d %H:%M} UTC; "
            "an election can be returned only while it is open"
        )
    return None
