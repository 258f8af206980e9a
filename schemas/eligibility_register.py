"""Contracts of the eligibility register: the ranked list a recruitment leaves behind (seed 001)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from schemas.recruitment import SelectionPlan

ACTIVE = "active"
HIRED = "hired"
REMOVED = "removed"
REMOVAL_REASONS: tuple[str, ...] = ("hired", "withdrawn", "declined", "disqualified", "unreachable")


class RegisterEntry(BaseModel):
    applicant_id: str
    final: float
    oral: float
    applied_at: datetime
    rank: int
    status: str = ACTIVE
    """active, hired or removed."""
    reason: str | None = None
    times_certified: int = 0


class Certification(BaseModel):
    request_id: str
    applicant_ids: list[str]
    vacancies: int
    rule: str
    certified_by: str
    at: datetime


class RegisterInput(BaseModel):
    """The register's state; carried whole across continue-as-new."""

    recruitment_id: str
    class_code: str
    department_code: str
    vacancies: int
    established_at: datetime
    expires_at: datetime
    plan: SelectionPlan
    entries: list[RegisterEntry]
    hr_staff: list[str]
    filled: list[str] = Field(default_factory=list)
    """Positions (or vacancy numbers) filled from this register."""
    certifications: list[Certification] = Field(default_factory=list)
    generation: int = 0
    """How many times the register has continued as new."""
    max_history_events: int = 2000
    """Continue as new once history passes this length (or when the server suggests it)."""


class CertifyInput(BaseModel):
    actor_id: str
    request_id: str
    vacancies: int = Field(default=1, ge=1)


class RemoveInput(BaseModel):
    actor_id: str
    applicant_id: str
    reason: str
    comment: str | None = None


class FillInput(BaseModel):
    actor_id: str
    applicant_id: str
    position_id: str


class RegisterStatus(BaseModel):
    recruitment_id: str
    class_code: str
    open: bool
    vacancies: int
    filled: list[str]
    expires_at: datetime
    entries: list[RegisterEntry]
    certifications: list[Certification]
    generation: int


class RegisterResult(BaseModel):
    recruitment_id: str
    outcome: str
    """filled, expired or exhausted."""
    filled: list[str]
