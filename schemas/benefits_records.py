"""The records a benefits enrollment writes in one transaction (apart from ``schemas.benefits``,
which ``schemas.decision_details`` imports: these name the human step's audit and notice)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from schemas.benefits import Coverage, ElectionRecord, ElectionView
from schemas.human_step import AuditInput, NotifyInput, StepSnapshot


class EnrollmentRecords(BaseModel):
    """What one moment of an enrollment decided, written in one transaction keyed by run."""

    key: str
    workflow_id: str
    run_id: str
    employee_id: str
    event: str
    event_on: date
    year: int | None = None
    parent_id: str | None = None
    status: str
    window_closes_at: datetime | None = None
    coverage_on: date | None = None
    decided_by: str | None = None
    defaulted: bool = False
    elections: list[ElectionRecord] = Field(default_factory=list)
    end_kinds: list[str] = Field(default_factory=list)
    """Plan kinds whose current elections end (the day before ``coverage_on``): replaced by an
    election, dropped by a waiver in open enrollment, ended by a separation."""
    cobra_notice_due_on: date | None = None
    """COBRA: the notice goes out with this write (its row and its outbox message)."""
    cobra_elect_by: date | None = None
    at: datetime
    audits: list[AuditInput] = Field(default_factory=list)
    notices: list[NotifyInput] = Field(default_factory=list)
    delegations_for: list[str] = Field(default_factory=list)


class RecordsWritten(BaseModel):
    delegates: dict[str, list[str]] = Field(default_factory=dict)


class EnrollmentStatus(BaseModel):
    workflow_id: str
    employee_id: str
    event: str
    life_event: str | None = None
    event_on: date
    stage: str
    window_closes_at: datetime | None = None
    coverage_on: date | None = None
    offered: list[str] = Field(default_factory=list)
    current_coverage: list[Coverage] = Field(default_factory=list)
    elections: list[ElectionView] = Field(default_factory=list)
    decision: str | None = None
    defaulted: bool = False
    cobra_notice_sent_on: date | None = None
    cobra_notice_due_on: date | None = None
    outcome: str | None = None
    open_steps: list[StepSnapshot] = Field(default_factory=list)
    closed_steps: list[StepSnapshot] = Field(default_factory=list)
