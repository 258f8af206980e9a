"""The system of record (SQLModel). Workflows own in-flight state; these rows outlive them.

Every row a workflow writes carries a ``key`` derived from the workflow id, the run (the first
execution run id, which survives continue-as-new) and the step and event, unique, so that a
retried activity finds its earlier write instead of adding a second one, and a later run of the
same workflow id (a review withdrawn and started again) writes rows of its own. ``run_id`` is
that run, kept as a column too so the record of each run can be read apart.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


class Department(SQLModel, table=True):
    code: str = Field(primary_key=True)
    name: str
    director_id: str | None = Field(default=None, foreign_key="person.id")


class BargainingUnit(SQLModel, table=True):
    code: str = Field(primary_key=True)
    name: str
    representative_id: str | None = Field(default=None, foreign_key="person.id")


class Person(SQLModel, table=True):
    """A directory entry. Names and e-mail live here only, never in workflow history."""

    id: str = Field(primary_key=True)
    name: str
    email: str
    title: str
    department_code: str = Field(foreign_key="department.code")
    supervisor_id: str | None = Field(default=None, foreign_key="person.id")
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    employment_status: str | None = None
    """For employees: ``probation``, ``permanent`` or ``separated`` (None: not tracked here)."""


class Delegation(SQLModel, table=True):
    """A time-bounded authority for ``delegate_id`` to answer for ``delegator_id``."""

    id: int | None = Field(default=None, primary_key=True)
    delegator_id: str = Field(foreign_key="person.id", index=True)
    delegate_id: str = Field(foreign_key="person.id", index=True)
    starts_on: date
    ends_on: date
    reason: str
    created_at: datetime


class Classification(SQLModel, table=True):
    code: str = Field(primary_key=True)
    title: str
    department_code: str = Field(foreign_key="department.code")
    bargaining_unit_code: str | None = Field(default=None, foreign_key="bargainingunit.code")
    source: str = ""
    probation_months: int = 6
    """Seed 004: a six-month probation, unless the classification says otherwise."""


class JobDescriptionVersion(SQLModel, table=True):
    """One text of a classification's description.

    ``status``: current, superseded, draft, replaced (by a later round), rejected, withdrawn.
    At most one version of a classification is current; the database enforces it.
    """

    __table_args__ = (
        UniqueConstraint("key"),
        Index(
            "uq_one_current_version_per_class",
            "class_code",
            unique=True,
            sqlite_where=text("status = 'current'"),
            postgresql_where=text("status = 'current'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    key: str
    class_code: str = Field(foreign_key="classification.code", index=True)
    status: str = Field(index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    revised_on: date | None = None
    board_date: date | None = None
    resolution_number: str | None = None
    workflow_id: str | None = Field(default=None, index=True)
    run_id: str | None = None
    round: int | None = None
    created_at: datetime


class Position(SQLModel, table=True):
    id: str = Field(primary_key=True)
    class_code: str = Field(foreign_key="classification.code", index=True)
    department_code: str = Field(foreign_key="department.code")
    title: str
    supervisor_id: str | None = Field(default=None, foreign_key="person.id")
    incumbent_id: str | None = Field(default=None, foreign_key="person.id")
    requires_driver_license: bool = False
    """Seed 004: "by position, requires a valid Driver's License"."""
    requires_cjis: bool = False
    """Seed 004: "by position, must obtain CJIS clearance within the probationary period"."""


class Signature(SQLModel, table=True):
    """A sign-off on a description version (the Kent signature block, plus the Board)."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    version_id: int = Field(foreign_key="jobdescriptionversion.id", index=True)
    role: str
    person_id: str = Field(foreign_key="person.id")
    on_behalf_of: str | None = None
    decision: str
    signed_at: datetime


class AuditEvent(SQLModel, table=True):
    """Who decided what, when and why; one row per answer, escalation or default."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    workflow_id: str = Field(index=True)
    run_id: str | None = Field(default=None, index=True)
    step_id: str
    actor_id: str
    on_behalf_of: str | None = None
    action: str
    comment: str | None = Field(default=None, sa_column=Column(Text))
    at: datetime
    token_id: str | None = None
    """The id (``jti``) of the credential the answer carried; None for the system's rows."""


class OutboxMessage(SQLModel, table=True):
    """Every notification, whether or not an SMTP server delivered it.

    Activities write the rows (``pending``); the mailer (``activities/mailer.py``) delivers them
    apart from the workflows. ``status``: pending (no server, not yet sent, or waiting for its
    next attempt), sending (an attempt is recorded and under way, or died before it finished),
    sent, or failed (refused for good, 5xx).
    ``claimed_at``/``claimed_by``: the mailer that is sending the row right now; no other sends
    it until that claim has expired.
    ``attempts``/``last_attempt_at``: delivery attempts, each recorded (and committed) before the
    mailer talks to the SMTP server. ``next_attempt_at``: when the row is due (again); ``None``
    once it is sent or failed. ``last_error``: the last failure, as the SMTP error's class and
    code (never an address).
    """

    __table_args__ = (
        UniqueConstraint("key"),
        Index("ix_outboxmessage_status_next_attempt_at", "status", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    key: str
    workflow_id: str | None = Field(default=None, index=True)
    run_id: str | None = None
    recipient_id: str = Field(index=True)
    to_address: str
    subject: str
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = "pending"
    created_at: datetime
    sent_at: datetime | None = None
    attempts: int = 0
    claimed_at: datetime | None = None
    claimed_by: str | None = None
    next_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_error: str | None = None


class Document(SQLModel, table=True):
    """A generated document: a redline or a Civil Service Board memo."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    workflow_id: str = Field(index=True)
    run_id: str | None = None
    kind: str
    class_code: str
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime


class ReviewCycle(SQLModel, table=True):
    """The record of one run of a job-description review, kept after the workflow closes.

    One row per run: a review withdrawn and started again under the same workflow id has two.
    """

    run_id: str = Field(primary_key=True)
    workflow_id: str = Field(index=True)
    class_code: str = Field(foreign_key="classification.code", index=True)
    cycle: str
    requested_by: str
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    adopted_version_id: int | None = None


# ----- civil-service recruitment (DESIGN section 5) ---------------------------------------------


class Recruitment(SQLModel, table=True):
    """One recruitment, from the posting of its announcement to its outcome."""

    id: str = Field(primary_key=True)
    workflow_id: str
    run_id: str | None = None
    """The run that posted it; a recruitment id is used by one run only."""
    class_code: str = Field(foreign_key="classification.code")
    department_code: str = Field(foreign_key="department.code")
    status: str
    requested_by: str
    approved_by: str
    vacancies: int
    announcement: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    """``Announcement.model_dump(mode="json")``."""
    plan: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    """The selection plan, frozen at posting (``SelectionPlan.model_dump(mode="json")``)."""
    posted_at: datetime
    closes_at: datetime
    finished_at: datetime | None = None


class Applicant(SQLModel, table=True):
    """An application and its candidate's progress. Names and e-mail live here, not in history."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    """``f"{recruitment_id}:{applicant_id}"``."""
    recruitment_id: str = Field(index=True)
    applicant_id: str
    name: str
    email: str
    education: str
    experience: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    supplemental_answers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    applied_at: datetime
    qualified: bool | None = None
    screen_reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    override_reason: str | None = None
    supplemental: float | None = None
    oral: float | None = None
    final: float | None = None
    rank: int | None = None
    disposition: str | None = None
    employee_id: str | None = None


class Score(SQLModel, table=True):
    """One rater's or panel member's score of one candidate in one step."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    recruitment_id: str = Field(index=True)
    step_id: str
    scorer_id: str
    applicant_id: str
    score: float
    at: datetime


class RegisterCertification(SQLModel, table=True):
    """Names certified from an eligibility register to a hiring department."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    recruitment_id: str = Field(index=True)
    request_id: str
    applicant_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    vacancies: int
    rule: str
    certified_by: str
    at: datetime


class BackgroundCheck(SQLModel, table=True):
    """The result of one background check, run only after a conditional offer."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    recruitment_id: str = Field(index=True)
    applicant_id: str
    check: str
    result: str
    recorded_by: str
    at: datetime


class Hire(SQLModel, table=True):
    """An applicant hired: the new employee's directory entry and, if given, their position."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    recruitment_id: str
    applicant_id: str
    employee_id: str = Field(foreign_key="person.id")
    position_id: str | None = None
    start_date: date
    pay_step: int
    hired_at: datetime


class EmployeeNumber(SQLModel, table=True):
    """Employee numbers, handed out by the database: ``E`` plus the row's id (E1031).

    One row per hire, keyed by the hire, so a retried hire gets the number it had; the id comes
    from the database's own counter (an identity on PostgreSQL, AUTOINCREMENT on SQLite), so two
    hires at once can never get the same number. Migration 0004 sets the counter past the seeded
    directory (the first number handed out is 1031).
    """

    __table_args__ = (UniqueConstraint("key"), {"sqlite_autoincrement": True})
    id: int | None = Field(default=None, primary_key=True)
    key: str
    created_at: datetime


# ----- employment: onboarding, probation, personnel actions (DESIGN section 5) --------------------


class EmploymentEvent(SQLModel, table=True):
    """The employment history: one row per event (appointed, permanent, promoted, separated...)."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    workflow_id: str = Field(index=True)
    run_id: str | None = None
    employee_id: str = Field(foreign_key="person.id", index=True)
    kind: str
    effective_on: date
    class_code: str | None = None
    position_id: str | None = None
    pay_step: int | None = None
    comment: str | None = Field(default=None, sa_column=Column(Text))
    recorded_by: str
    at: datetime


class OnboardingTask(SQLModel, table=True):
    """One onboarding task of a new employee, with its owner (a person or a role) and due date.

    ``status``: open, done, reopened. ``late``: done after its due date.
    """

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    workflow_id: str = Field(index=True)
    run_id: str | None = None
    employee_id: str = Field(foreign_key="person.id", index=True)
    task: str
    owner: str
    due_at: datetime
    status: str = "open"
    completed_by: str | None = None
    completed_at: datetime | None = None
    late: bool = False
    times_reopened: int = 0
    detail: str | None = None
    """What the owner recorded: an orientation's date, a phone extension, a work order's number."""


class WorkOrder(SQLModel, table=True):
    """An IT work order (account, desktop, voice and data, phone and directory; on separation,
    de-provisioning and equipment return), tracked to completion by the IT service desk."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    workflow_id: str = Field(index=True)
    run_id: str | None = None
    employee_id: str = Field(foreign_key="person.id", index=True)
    kind: str
    status: str = "open"
    opened_at: datetime
    done_at: datetime | None = None
    done_by: str | None = None
    note: str | None = None


class PersonnelAction(SQLModel, table=True):
    """A personnel action: resignation, termination, retirement, release, promotion, transfer or
    pay change, from its request to its execution (or withdrawal)."""

    id: str = Field(primary_key=True)
    """``f"{employee_id}-{action_id}"``: the workflow's business key."""
    workflow_id: str
    run_id: str | None = None
    employee_id: str = Field(foreign_key="person.id", index=True)
    kind: str
    status: str
    requested_by: str
    effective_on: date
    reason: str | None = Field(default=None, sa_column=Column(Text))
    details: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime
    finished_at: datetime | None = None


class PayrollChange(SQLModel, table=True):
    """What payroll must do: an appointment, a pay change, a transfer, final pay."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    workflow_id: str = Field(index=True)
    employee_id: str = Field(foreign_key="person.id", index=True)
    kind: str
    effective_on: date
    class_code: str | None = None
    position_id: str | None = None
    pay_step: int | None = None
    details: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime


class SeparationEvent(SQLModel, table=True):
    """An employee's separation, for what follows it (COBRA in benefits enrollment)."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    workflow_id: str
    employee_id: str = Field(foreign_key="person.id", index=True)
    kind: str
    effective_on: date
    at: datetime


# Each later process keeps its tables in its own module; importing them here registers them.
import schemas.benefits_tables  # noqa: E402,F401
import schemas.identity_tables  # noqa: E402,F401
import schemas.leave_tables  # noqa: E402,F401
