"""Contracts shared by onboarding, probation and personnel actions (DESIGN section 5; seeds 000,
001, 004).

Three workflows, each the one owner of its facts:

- ``Onboarding`` (``onboarding-<employee id>``): the new employee's tasks (payroll appointment,
  IT work orders, orientations, policy acknowledgements, licence check), then it waits for the
  probation it starts;
- ``Probation`` (``probation-<employee id>-<start yyyymmdd>``): the durable timer from the start
  date, reminders to the supervisor, CJIS clearance where the position needs it, and the
  decision: pass to permanent status, extend once, or release (which runs a personnel action);
- ``PersonnelAction`` (``personnel-action-<employee id>-<action id>``): resignation, termination,
  retirement, release, promotion, transfer, pay change: request, approvals, the effective date,
  execution (a promotion may start a new probation).

The recruitment's hire starts the onboarding; the probation's release starts a personnel action;
a promotion starts a probation. Each starts the other by its workflow type name with these
inputs, and does not wait for it unless it owns it (the onboarding waits for its probation).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from schemas.limits import Comment, Contract, Day, Id, Key

ONBOARDING_ACTION_TYPE = "onboarding"
PROBATION_ACTION_TYPE = "probation"
PERSONNEL_ACTION_TYPE = "personnel_action"

ONBOARDING_WORKFLOW = "Onboarding"
PROBATION_WORKFLOW = "Probation"
PERSONNEL_ACTION_WORKFLOW = "PersonnelAction"

# Employment status on the person (``Person.employment_status``).
ON_PROBATION = "probation"
PERMANENT = "permanent"
SEPARATED = "separated"

ActionKind = Literal[
    "resignation", "termination", "retirement", "release", "death", "promotion", "transfer", "pay_change"
]
ACTION_KINDS: tuple[str, ...] = (
    "resignation",
    "termination",
    "retirement",
    "release",
    "death",
    "promotion",
    "transfer",
    "pay_change",
)
SEPARATIONS: frozenset[str] = frozenset({"resignation", "termination", "retirement", "release", "death"})
"""Seed 000: terminations, resignations and retirements; a release from probation is one too;
an employee's death separates them too (its effective date is the date of death) and starts the
death claim (seed 003: "process death claims") rather than COBRA."""


def onboarding_workflow_id(employee_id: str) -> str:
    return f"onboarding-{employee_id}"


def probation_workflow_id(employee_id: str, starts_on: date) -> str:
    return f"probation-{employee_id}-{starts_on:%Y%m%d}"


def action_workflow_id(employee_id: str, action_id: str) -> str:
    return f"personnel-action-{employee_id}-{action_id}"


class EmployeeFacts(BaseModel):
    """An employee as the directory knows them, with who acts on their processes (ids only)."""

    employee_id: str
    active: bool
    employment_status: str | None
    department_code: str
    class_code: str | None
    position_id: str | None
    supervisor_id: str | None
    department_director_id: str | None
    hr_supervisor_id: str
    hr_staff: list[str]
    payroll_ids: list[str]
    it_service_desk_ids: list[str]
    finance_ids: list[str]
    requires_driver_license: bool = False
    requires_cjis: bool = False
    probation_months: int = 6


class OnboardingInput(Contract):
    """A new employee's onboarding: after a recruitment's hire, or a direct appointment."""

    employee_id: Id
    starts_on: Day
    requested_by: Id
    """HR staff: the recruitment's HR reviewer, or whoever records a direct appointment."""
    source: Key | None = None
    """What started it (the recruitment's hire key), for the record; None for a direct one."""
    probation: timedelta | None = Field(default=None, gt=timedelta(0), le=timedelta(days=730))
    """The probation's length; None: the classification's months (six by default). The demo
    sets a short one from its settings."""


class ProbationInput(Contract):
    """A probation from a start date: after an appointment, or a promotion the rules say needs one."""

    employee_id: Id
    starts_on: Day
    requested_by: Id
    reason: Literal["appointment", "promotion"] = "appointment"
    length: timedelta | None = Field(default=None, gt=timedelta(0), le=timedelta(days=730))
    """None: the classification's months."""


class PersonnelActionInput(Contract):
    """A personnel action as requested (seed 000: terminations, resignations, promotions,
    retirements; transfers and pay changes)."""

    action_id: Id
    employee_id: Id
    kind: ActionKind
    requested_by: Id
    """HR staff, or the employee for their own resignation."""
    effective_on: Day
    reason: Comment | None = None
    new_class_code: Id | None = None
    new_position_id: Id | None = None
    new_pay_step: int | None = Field(default=None, ge=1, le=50)
    probation: timedelta | None = Field(default=None, gt=timedelta(0), le=timedelta(days=730))
    """A promotion's new probation length, where one is needed; None: the new class's months."""
