"""The leave tables (migration 0008). Registered on ``SQLModel.metadata`` by ``schemas.tables``,
which imports this module at its end.

- ``leaverequest``: one row per leave (the workflow's business key), with its type, dates, hours,
  status and the decisions on it; the reason stays here (medical detail, never in history in
  clear, never logged);
- ``leavecertification``: the certification's contents (provider, diagnosis): stored where
  needed, and only here;
- ``leaveabsence``: each absence taken during a leave, the utilization the entitlement is
  counted from (rolling twelve months, across the employee's leaves);
- ``hoursworked``: payroll's hours worked per pay period, read for eligibility.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class LeaveRequest(SQLModel, table=True):
    """A leave from its request to its outcome.

    ``status``: requested, certification, tpa, acknowledgement, approval, on_leave, return,
    referral, then returned, referred, denied, ineligible, withdrawn or cancelled. A leave is
    approved (counts for the overlap check) once ``designated_on`` is set and it is not denied,
    withdrawn or cancelled.
    """

    id: str = Field(primary_key=True)
    """The workflow id (``leave-<employee id>-<yyyymmdd>``)."""
    run_id: str | None = None
    employee_id: str = Field(foreign_key="person.id", index=True)
    leave_type: str
    schedule: str
    starts_on: date
    ends_on: date
    requested_hours: float
    weekly_hours: float
    entitlement_hours: float
    status: str
    requested_by: str
    reason: str | None = Field(default=None, sa_column=Column(Text))
    eligible: bool | None = None
    tpa_claim_number: str | None = None
    tpa_decision: str | None = None
    designated_on: date | None = None
    returned_on: date | None = None
    fitness_for_duty_on: date | None = None
    referred_to: str | None = None
    created_at: datetime
    updated_at: datetime


class LeaveCertification(SQLModel, table=True):
    """A certification's contents, as submitted by the employee or HR."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    leave_id: str = Field(foreign_key="leaverequest.id", index=True)
    submitted_by: str
    provider: str
    diagnosis: str = Field(sa_column=Column(Text, nullable=False))
    incapacity_from: date | None = None
    incapacity_to: date | None = None
    fitness_for_duty_required: bool | None = None
    at: datetime


class LeaveAbsence(SQLModel, table=True):
    """Hours of leave taken on one day."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    leave_id: str = Field(foreign_key="leaverequest.id", index=True)
    employee_id: str = Field(foreign_key="person.id", index=True)
    on: date
    hours: float
    recorded_by: str
    at: datetime


class HoursWorked(SQLModel, table=True):
    """Hours an employee worked in one pay period (payroll's record), for leave eligibility."""

    __table_args__ = (UniqueConstraint("employee_id", "period_ends_on"),)
    id: int | None = Field(default=None, primary_key=True)
    employee_id: str = Field(foreign_key="person.id", index=True)
    period_ends_on: date
    hours: float
