"""Contracts of benefits enrollment (DESIGN section 5; seeds 000, 003; issue 10).

Two workflows, each the one owner of its facts:

- ``BenefitsEnrollment`` (``benefits-<employee>-<event>-<yyyymmdd>``, or
  ``benefits-<employee>-open-<year>``): one employee's enrollment for one event (a new hire, open
  enrollment, a qualifying life event, a separation's COBRA continuation): the window, the
  employee's elections through the shared human step, the record (elections, carrier enrollment,
  payroll deduction) and the confirmation; no election by the deadline: the rule's default;
- ``OpenEnrollment`` (``open-enrollment-<year>``): the yearly bulk run, one child enrollment per
  eligible employee in a bounded sliding window, continuing as new to keep its history bounded.

Dependants' dates of birth travel only inside payloads (the codec encrypts them); search
attributes, workflow ids, summaries and logs carry ids and codes only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, BaseModel, Field

from schemas.limits import Contract, Day, Id, Moment

BENEFITS_ACTION_TYPE = "benefits_enrollment"
OPEN_ENROLLMENT_ACTION_TYPE = "open_enrollment"
BENEFITS_WORKFLOW = "BenefitsEnrollment"
OPEN_ENROLLMENT_WORKFLOW = "OpenEnrollment"

# The events an enrollment is for (``Final``: each is its literal, an ``EventKind``).
NEW_HIRE: Final = "new_hire"
OPEN_ENROLLMENT: Final = "open_enrollment"
LIFE_EVENT: Final = "life_event"
COBRA: Final = "cobra"
EventKind = Literal["new_hire", "open_enrollment", "life_event", "cobra"]

# Qualifying life events (seed 003: "benefit ... changes").
LifeEventKind = Literal["marriage", "birth_adoption", "loss_of_coverage"]

# Plan kinds and tiers.
PLAN_KINDS: tuple[str, ...] = ("medical", "dental", "vision", "life", "retirement")
EMPLOYEE_ONLY = "employee_only"
EMPLOYEE_SPOUSE = "employee_spouse"
EMPLOYEE_CHILDREN = "employee_children"
FAMILY = "family"
Tier = Literal["employee_only", "employee_spouse", "employee_children", "family"]
Relation = Literal["spouse", "domestic_partner", "child"]

# The answers of the elections step.
ELECT = "elect"
WAIVE = "waive"
CARRY_OVER = "carry_over"
LAPSE = "lapse"
"""COBRA: no election within the 60 days; continuation coverage lapses."""
ELECTIONS_KIND = "benefit_elections"
ELECT_COMMAND = "hr benefits elect"

# HR's audit of an election (``workflow.patched(HR_AUDIT_PATCH)``): approve, or return it to the
# employee with a reason (the elections step opens again while the window is open).
HR_AUDIT_PATCH = "benefits-hr-audit"
AUDIT_STEP = "audit"
AUDIT_APPROVE = "approve"
AUDIT_RETURN = "return"
AUDIT_COMMAND = "hr benefits audit"
AUDITING = "auditing"

# Stages and outcomes of an enrollment.
RESOLVING = "resolving"
OPEN = "open"
"""An enrollment's row while its window is open."""
NOTICE = "notice"
ELECTING = "electing"
ELECTED = "elected"
WAIVED = "waived"
CARRIED_OVER = "carried_over"
LAPSED = "lapsed"
NOT_COVERED = "not_covered"
"""COBRA: the employee had no continuable coverage when they separated; nothing to offer."""
NOT_ELIGIBLE = "not_eligible"
WINDOW_CLOSED = "window_closed"
WITHDRAWN = "withdrawn"
OUTCOMES: tuple[str, ...] = (
    ELECTED,
    WAIVED,
    CARRIED_OVER,
    LAPSED,
    NOT_COVERED,
    NOT_ELIGIBLE,
    WINDOW_CLOSED,
    WITHDRAWN,
)

# The bulk run's stages.
STARTING = "starting"
PAUSED = "paused"
WAITING = "waiting"
DONE = "done"


def born_in_range(value: date) -> date:
    """A date of birth from 1900 on (``Day`` starts in 2000); the refusal never shows it."""
    if not date(1900, 1, 1) <= value < date(2100, 1, 1):
        raise ValueError("must be between 1900 and 2100")
    return value


BirthDate = Annotated[date, AfterValidator(born_in_range)]


def enrollment_workflow_id(employee_id: str, event: str, event_on: date, year: int | None = None) -> str:
    """``benefits-E1031-new_hire-20270104``; open enrollment: ``benefits-E1031-open-2027``."""
    if event == OPEN_ENROLLMENT:
        return f"benefits-{employee_id}-open-{year}"
    return f"benefits-{employee_id}-{event}-{event_on:%Y%m%d}"


def open_enrollment_workflow_id(year: int) -> str:
    return f"open-enrollment-{year}"


# ----- plans and coverage (from the store) ----------------------------------------------------------


class PlanView(BaseModel):
    """A plan as the rules see it (``benefitplan``)."""

    plan_id: str
    kind: str
    name: str
    carrier: str
    tiers: list[str]
    monthly_premium_cents: dict[str, int] = Field(default_factory=dict)
    """Tier -> the employee's monthly share, in cents (payroll deducts it)."""
    departments: list[str] = Field(default_factory=list)
    """Departments whose employees may join; empty: every department."""
    new_hire_window_days: int = 30
    cobra: bool = False
    """Continuable under COBRA (medical, dental, vision)."""


class Coverage(BaseModel):
    """One current election of an employee (what open enrollment carries over, what COBRA continues)."""

    plan_id: str
    kind: str
    tier: str
    coverage_on: date
    dependants: int = 0


class EnrollmentFacts(BaseModel):
    """An employee as benefits sees them, and who acts on their enrollment (ids only)."""

    employee_id: str
    active: bool
    employment_status: str | None
    department_code: str
    supervisor_id: str | None
    hr_supervisor_id: str
    hr_staff: list[str]
    plans: list[PlanView]
    """Every active plan (the rules decide which are open to this employee and event)."""
    coverage: list[Coverage]


class EnrollmentQuery(BaseModel):
    employee_id: str
    requested_by: str


# ----- the election (the one answer of the elections step) --------------------------------------


class Dependant(BaseModel):
    """A dependant covered by an election. The date of birth is personal data: it travels only
    inside payloads (encrypted by the codec) and is stored on the election row."""

    model_config = {"extra": "forbid", "frozen": True, "hide_input_in_errors": True}

    relation: Relation
    date_of_birth: BirthDate


class Beneficiary(BaseModel):
    """A beneficiary designated on a life-plan election: their name, address and e-mail are
    personal data, travel only inside payloads (encrypted by the codec) and are stored on the
    election row; the death claim's notice goes to the e-mail address. Shares in whole percent,
    totalling 100 over an election's beneficiaries."""

    model_config = {"extra": "forbid", "frozen": True, "hide_input_in_errors": True}

    name: Annotated[str, Field(min_length=1, max_length=200)]
    relation: Literal["spouse", "domestic_partner", "child", "parent", "sibling", "estate", "trust", "other"]
    percent: int = Field(ge=1, le=100)
    email: Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
    address: Annotated[str, Field(max_length=500)] = ""


class PlanChoice(BaseModel):
    model_config = {"extra": "forbid", "frozen": True, "hide_input_in_errors": True}

    plan_id: Id
    tier: Tier


class EnrollmentInput(Contract):
    """One employee's enrollment for one event."""

    employee_id: Id
    event: EventKind
    event_on: Day
    """The hire date, the life event's date, the separation's effective date, or the first day
    of open enrollment's coverage year."""
    requested_by: Id
    life_event: LifeEventKind | None = None
    year: int | None = Field(default=None, ge=2000, le=2100)
    """Open enrollment: the coverage year."""
    closes_at: Moment | None = None
    """Open enrollment: when the window closes (the bulk run's); None: the rule's."""
    parent_id: Id | None = None
    """The bulk run that started it, if any."""


class ElectionView(BaseModel):
    """An election as the status shows it: no date of birth."""

    plan_id: str
    kind: str
    tier: str
    dependants: int
    monthly_premium_cents: int = 0


class EnrollmentResult(BaseModel):
    workflow_id: str
    employee_id: str
    event: str
    outcome: str
    defaulted: bool = False
    elections: list[ElectionView] = Field(default_factory=list)


# ----- records (one write per moment) ---------------------------------------------------------------


class ElectionRecord(BaseModel):
    plan_id: str
    kind: str
    carrier: str
    tier: str
    dependants: list[Dependant] = Field(default_factory=list)
    monthly_premium_cents: int = 0
    beneficiaries: list[Beneficiary] = Field(default_factory=list)
    """A life plan's designated beneficiaries (personal data, stored on the election row)."""


# ----- the bulk run ------------------------------------------------------------------------------


class OpenEnrollmentInput(Contract):
    """Open enrollment for a coverage year (one command, or the yearly schedule)."""

    year: int | None = Field(default=None, ge=2000, le=2100)
    """The coverage year; None (the yearly schedule): the year after the run starts."""
    requested_by: Id
    closes_at: Moment | None = None
    """When every employee's window closes; None: 30 days after the run starts."""
    window: int = Field(default=100, ge=1, le=2000)
    """At most this many child starts in flight at once (the sliding window)."""
    per_run_limit: int = Field(default=1000, ge=1, le=100_000)
    """Children started per run before it continues as new (keeps the history bounded)."""
    page_size: int = Field(default=500, ge=1, le=5000)
    poll_every: int = Field(default=86_400, ge=1, le=30 * 86_400)
    """Seconds between two readings of the enrollments' progress once every child started."""
    wait_for_outcomes: bool = True
    """False: the run ends once every child has started (the benchmark's and a test's choice)."""
    # Carried across continue-as-new:
    cursor: str | None = None
    started: int = 0
    already: int = 0
    failed: int = 0
    runs: int = 0
    paused: bool = False
    opened_at: Moment | None = None


class OpenEnrollmentProgress(BaseModel):
    """The bulk run's status: where it is and what it counted."""

    workflow_id: str
    year: int
    stage: str
    paused: bool
    closes_at: datetime | None
    cursor: str | None
    started: int
    already_started: int
    failed: int
    elected: int = 0
    defaulted: int = 0
    open: int = 0
    runs: int = 0
    in_flight: int = 0


class PauseInput(Contract):
    actor_id: Id
    reason: str = ""


class EligiblePage(BaseModel):
    after: str | None
    limit: int


class ProgressQuery(BaseModel):
    year: int


class EnrollmentCounts(BaseModel):
    elected: int = 0
    defaulted: int = 0
    open: int = 0
    other: int = 0


class OpenEnrollmentFacts(BaseModel):
    hr_staff: list[str]
