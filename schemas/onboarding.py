"""Contracts of onboarding and probation (DESIGN section 5; seeds 000, 004).

``Onboarding`` (``onboarding-<employee id>``) runs the new employee's tasks, each a human step
owned by a role or a person, then starts ``Probation`` and waits for it. The shared inputs
(``OnboardingInput``, ``ProbationInput``, ``EmployeeFacts``) are in ``schemas/employment.py``;
what only these two workflows use is here: their decisions, task names, Updates, status views,
results and the inputs of their activities. Workflow state, search attributes and history carry
ids and codes only; names and addresses stay in the directory.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from schemas.human_step import AuditInput, DelegationQuery, NotifyInput, StepSnapshot
from schemas.limits import Comment, Contract, Day, Id

# ----- the onboarding's tasks --------------------------------------------------------------------

PAYROLL = "payroll-appointment"
IT_ACCOUNT = "it-account"
IT_DESKTOP = "it-desktop"
IT_VOICE_DATA = "it-voice-data"
IT_PHONE = "it-phone-directory"
ORIENTATION = "orientation"
ORIENTATION_ATTENDANCE = "orientation-attendance"
BENEFITS = "benefits-orientation"
BENEFITS_ATTENDANCE = "benefits-attendance"
POLICIES = "policy-acknowledgements"
DRIVER_LICENSE = "driver-license"

# Who owns a task: a role of the directory (its members, any one answers), HR (the requester and
# the HR supervisor), or the new employee.
PAYROLL_ROLE = "payroll"
IT_SERVICE_DESK_ROLE = "it_service_desk"
HR_OWNER = "hr"
EMPLOYEE_OWNER = "employee"

# A task's one decision (each task step allows exactly one word).
APPOINTED = "appointed"
DONE = "done"
SCHEDULED = "scheduled"
ATTENDED = "attended"
ACKNOWLEDGED = "acknowledged"
VERIFIED = "verified"

# A task's state, as the status and the store show it.
WAITING = "waiting"
"""Not open yet: an attendance waits for its orientation to be scheduled."""
OPEN = "open"
COMPLETED = "done"
REOPENED = "reopened"
"""Done once, re-opened by HR with a reason, open again."""
CLOSED_UNFINISHED = "closed_unfinished"
"""Still open when the onboarding ended (withdrawn, cancelled, or the employee was released)."""

# The onboarding's stages (``HrStage``) and outcomes.
TASKS = "tasks"
PROBATION = "probation"
WITHDRAWN = "withdrawn"
CANCELLED = "cancelled"

REOPEN_TASK = "reopen_task"
"""HR re-opens a done task, with a reason (an Update)."""


class TaskView(BaseModel):
    """One task as the status query, the UI's details and ``hr onboarding status`` show it."""

    task: str
    title: str
    owner: str
    """A role (``payroll``, ``it_service_desk``), ``hr``, or ``employee``."""
    owner_ids: list[str]
    """The people who may complete it (a role's members, HR, the employee)."""
    decision: str
    """The word that completes it (``done``, ``scheduled``, ...)."""
    due_at: datetime | None
    state: str
    step_id: str | None = None
    """The open (or last) step of the task; ``<task>.<n>`` after the (n-1)-th re-opening."""
    completed_by: str | None = None
    completed_at: datetime | None = None
    late: bool = False
    times_reopened: int = 0
    detail: str | None = None
    """What the owner recorded: the orientation's date, a phone extension, a note."""
    work_order: str | None = None
    """The IT work order's kind, for an IT task."""


class ProbationLink(BaseModel):
    """The onboarding's view of the probation it started."""

    workflow_id: str
    outcome: str | None = None
    """None while it runs; then ``permanent``, ``released``, ``withdrawn`` or ``cancelled``."""


class OnboardingStatus(BaseModel):
    workflow_id: str
    employee_id: str
    starts_on: date
    requested_by: str
    stage: str
    department_code: str | None = None
    class_code: str | None = None
    position_id: str | None = None
    supervisor_id: str | None = None
    tasks: list[TaskView]
    probation: ProbationLink | None = None
    outcome: str | None = None
    open_steps: list[StepSnapshot]
    closed_steps: list[StepSnapshot]


class OnboardingResult(BaseModel):
    workflow_id: str
    employee_id: str
    outcome: str
    """The probation's outcome (``permanent``, ``released``), or ``withdrawn``/``cancelled``."""
    tasks_done: int
    tasks_late: list[str]
    tasks_reopened: list[str]
    probation_workflow_id: str | None = None


class ReopenTaskInput(Contract):
    """HR re-opens a done task (a wrong phone entry, a missed acknowledgement), with a reason."""

    actor_id: Id
    task: Id
    reason: Comment
    due_on: Day | None = None
    """When the task is due again (end of that day, UTC); default three days from now."""


# ----- probation --------------------------------------------------------------------------------

PASS = "pass"
EXTEND = "extend"
RELEASE = "release"
CONCUR = "concur"
RETURN = "return"
RECORDED = "recorded"

RECORD_CJIS = "record_cjis"
"""HR records the employee's CJIS clearance (an Update; it answers the ``cjis`` step if open)."""

# Stages (``HrStage``) and outcomes.
SERVING = "serving"
"""The timer runs: reminders and the CJIS check are scheduled."""
DECISION = "decision"
CONCURRENCE = "concurrence"
AWAITING_CJIS = "awaiting_cjis"
PERMANENT = "permanent"
RELEASED = "released"


class CjisInput(Contract):
    """HR records that the employee's CJIS clearance is on record, and since when."""

    actor_id: Id
    cleared_on: Day
    comment: Comment | None = None


class Extension(BaseModel):
    days: int
    reason: str
    from_ends_on: date
    to_ends_on: date
    decided_by: str
    concurred_by: str


class ProbationStatus(BaseModel):
    workflow_id: str
    employee_id: str
    starts_on: date
    requested_by: str
    stage: str
    ends_at: datetime | None = None
    """When the probation's timer fires (the end date at 00:00 UTC; a length under a day counts
    from the workflow's start)."""
    ends_on: date | None = None
    supervisor_id: str | None = None
    position_id: str | None = None
    cjis_required: bool = False
    cjis_cleared_on: date | None = None
    cjis_escalated: bool = False
    reminders_sent: list[int] = Field(default_factory=list)
    """Days before the end at which the supervisor was reminded (30, 14)."""
    extension: Extension | None = None
    decision: str | None = None
    """The supervisor's last decision HR concurred with."""
    outcome: str | None = None
    permanent_on: date | None = None
    action_workflow_id: str | None = None
    """The release's personnel action."""
    open_steps: list[StepSnapshot]
    closed_steps: list[StepSnapshot]


class ProbationResult(BaseModel):
    workflow_id: str
    employee_id: str
    outcome: str
    ends_on: date | None = None
    permanent_on: date | None = None
    extended_days: int | None = None
    action_workflow_id: str | None = None


# ----- activities ---------------------------------------------------------------------------------


class EmployeeQuery(BaseModel):
    """Whose facts, and who asks (HR staff; an employee who is separated is refused)."""

    employee_id: str
    requested_by: str
    purpose: Literal["onboarding", "probation"]


class TaskRecord(BaseModel):
    """An ``OnboardingTask`` row as it is now (written whole: a retry writes the same values)."""

    key: str
    task: str
    owner: str
    due_at: datetime
    status: str
    completed_by: str | None = None
    completed_at: datetime | None = None
    late: bool = False
    times_reopened: int = 0
    detail: str | None = None


class WorkOrderRecord(BaseModel):
    """A ``WorkOrder`` row as it is now: opened with its task, done when its owner says so."""

    key: str
    kind: str
    status: str
    opened_at: datetime
    done_at: datetime | None = None
    done_by: str | None = None
    note: str | None = None


class EventRecord(BaseModel):
    """An ``EmploymentEvent`` (the employment history), written once per key."""

    key: str
    kind: str
    effective_on: date
    class_code: str | None = None
    position_id: str | None = None
    pay_step: int | None = None
    """None: the hire's pay step, if the employee came from a recruitment."""
    comment: str | None = None
    recorded_by: str
    at: datetime


class PayrollRecord(BaseModel):
    """A ``PayrollChange`` (what payroll must do), written once per key."""

    key: str
    kind: str
    effective_on: date
    class_code: str | None = None
    position_id: str | None = None
    details: dict[str, str] = Field(default_factory=dict)
    at: datetime


class EmploymentRecords(BaseModel):
    """Everything one moment of an onboarding or a probation writes, in one activity.

    Rows of the employee (tasks, work orders, history, payroll, employment status) and audit
    rows are written in one transaction; then the notices are queued. Every row has its key, so
    a retry changes nothing twice. ``delegations``: look up who answers for whom (for steps
    opening now) and return it.
    """

    workflow_id: str
    run_id: str
    employee_id: str
    tasks: list[TaskRecord] = Field(default_factory=list)
    work_orders: list[WorkOrderRecord] = Field(default_factory=list)
    events: list[EventRecord] = Field(default_factory=list)
    payroll: list[PayrollRecord] = Field(default_factory=list)
    employment_status: str | None = None
    """The employee's new status (``probation``, ``permanent``); never changes a separated one."""
    audits: list[AuditInput] = Field(default_factory=list)
    notices: list[NotifyInput] = Field(default_factory=list)
    delegations: DelegationQuery | None = None


class RecordsWritten(BaseModel):
    delegates: dict[str, list[str]] = Field(default_factory=dict)
    """Delegate id -> the people they answer for (when ``delegations`` was asked)."""
    status_kept: str | None = None
    """Set when the employee's status was not changed because they are separated."""
