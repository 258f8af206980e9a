"""The benefits enrollment tables (migration 0007). Registered on ``SQLModel.metadata`` by
``schemas.tables``, which imports this module at its end.

Plans (with their tiers, premiums, eligibility and carrier) live here; so does every enrollment
(one row per workflow run), each election (the current ones are what open enrollment carries
over and COBRA continues), the carrier enrollments and payroll deductions an election causes,
and the COBRA notices. Dependants' dates of birth are stored on the election (``dependants``),
where the carrier needs them; nowhere else.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


class BenefitPlan(SQLModel, table=True):
    id: str = Field(primary_key=True)
    kind: str = Field(index=True)
    name: str
    carrier: str
    tiers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    monthly_premium_cents: dict[str, int] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    departments: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    """Departments whose employees may join; empty: every department."""
    new_hire_window_days: int = 30
    cobra: bool = False
    active: bool = True


class BenefitEnrollment(SQLModel, table=True):
    """One enrollment (one workflow run): its window, and how it ended."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    workflow_id: str = Field(index=True)
    run_id: str | None = None
    parent_id: str | None = Field(default=None, index=True)
    employee_id: str = Field(foreign_key="person.id", index=True)
    event: str = Field(index=True)
    event_on: date
    year: int | None = Field(default=None, index=True)
    status: str = Field(index=True)
    window_closes_at: datetime | None = None
    coverage_on: date | None = None
    decided_by: str | None = None
    defaulted: bool = False
    opened_at: datetime
    closed_at: datetime | None = None


class BenefitElection(SQLModel, table=True):
    """An election of one plan; ``status`` ``current`` until another replaces it (``ended``)."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    enrollment_key: str = Field(index=True)
    employee_id: str = Field(foreign_key="person.id", index=True)
    plan_id: str = Field(foreign_key="benefitplan.id")
    kind: str
    tier: str
    dependants: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    """``[{"relation": ..., "date_of_birth": ...}]``: personal data, kept for the carrier."""
    beneficiaries: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    """A life plan's designated beneficiaries ``[{"name", "relation", "percent", "email",
    "address"}]`` (migration 0010): personal data, read by the death claim's notice."""
    coverage_on: date
    ended_on: date | None = None
    cobra: bool = False
    status: str = Field(default="current", index=True)
    at: datetime


class CarrierEnrollment(SQLModel, table=True):
    """What the carrier is told: enrol (or continue under COBRA) this employee in this tier."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    employee_id: str = Field(foreign_key="person.id", index=True)
    plan_id: str = Field(foreign_key="benefitplan.id")
    carrier: str
    tier: str
    action: str
    """``enroll``, ``cobra_continue`` or ``terminate``."""
    dependants: int = 0
    effective_on: date
    at: datetime


class PayrollDeduction(SQLModel, table=True):
    """The employee's monthly share of a plan's premium, deducted by payroll from a date."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    employee_id: str = Field(foreign_key="person.id", index=True)
    plan_id: str = Field(foreign_key="benefitplan.id")
    monthly_cents: int
    starts_on: date
    ends_on: date | None = None
    """The last month deducted (migration 0010: a death claim stops it)."""
    at: datetime


class CobraNotice(SQLModel, table=True):
    """The COBRA election notice of a separation: when it went out, by when it was due, and the
    last day to elect."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    workflow_id: str = Field(index=True)
    employee_id: str = Field(foreign_key="person.id", index=True)
    separated_on: date
    sent_on: date
    due_on: date
    elect_by: date
    within_deadline: bool
    at: datetime


class DeathClaim(SQLModel, table=True):
    """An employee's death claim (migration 0010): the date of death (personal data: never in a
    search attribute, id, summary or log), the day coverage and deductions end, the life claim
    filed with the carrier, the dependants' COBRA eligibility, and how it closed."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    workflow_id: str = Field(index=True)
    run_id: str | None = None
    employee_id: str = Field(foreign_key="person.id", index=True)
    died_on: date
    coverage_ends_on: date
    life_plan_id: str | None = None
    carrier: str | None = None
    beneficiaries: int = 0
    claim_number: str | None = None
    filed_on: date | None = None
    filed_by: str | None = None
    dependants_cobra: int = 0
    """Covered dependants who may continue medical, dental or vision under COBRA."""
    dependants_elect_by: date | None = None
    status: str = Field(index=True)
    opened_at: datetime
    closed_at: datetime | None = None
