"""Contracts of the eligibility register: the ranked list a recruitment leaves behind (seed 001).

The register workflow is the one owner of the ranking, the certifications and who is still on
the list; the recruitment asks it (``standing``, ``certify``, ``remove``, ``fill``: Updates, sent
by the ``register_*`` activities) and acts on the answer.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from schemas.limits import Comment, Contract, Id, Key
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
    request_id: str | None = None
    """The request that took the candidate off (a repeat of it gets the same answer)."""


class ScoredCandidate(BaseModel):
    """A candidate's final score, as the recruitment computed it; the register ranks them."""

    applicant_id: str
    final: float
    oral: float
    applied_at: datetime


class Certification(BaseModel):
    request_id: str
    applicant_ids: list[str]
    vacancies: int
    rule: str
    certified_by: str
    at: datetime


class RegisterInput(BaseModel):
    """The register's state; carried whole across continue-as-new.

    A first run is given the scored ``candidates`` and ranks those who pass into ``entries``;
    later runs carry ``entries``.
    """

    recruitment_id: str
    class_code: str
    department_code: str
    vacancies: int
    established_at: datetime
    expires_at: datetime
    plan: SelectionPlan
    candidates: list[ScoredCandidate] = Field(default_factory=list)
    entries: list[RegisterEntry] = Field(default_factory=list)
    requested_by: str | None = None
    """Who opened it, when HR staff open a register directly (their start is signed and checked,
    ``workflows/rules/starts.py``). A recruitment's register names no one: its parent was checked."""
    hr_staff: list[str]
    filled: list[str] = Field(default_factory=list)
    """Positions (or vacancy numbers) filled from this register."""
    certifications: list[Certification] = Field(default_factory=list)
    generation: int = 0
    """How many times the register has continued as new."""
    max_history_events: int = 2000
    """Continue as new once history passes this length (or when the server suggests it)."""


class CertifyInput(Contract):
    actor_id: Id
    request_id: Key
    vacancies: int = Field(default=1, ge=1, le=1000)
    passed_over: list[Id] = Field(default_factory=list)
    """Names the hiring department passed over (with a reason) for these vacancies: they stay on
    the register but are not certified for them again."""


class RemoveInput(Contract):
    actor_id: Id
    applicant_id: Id
    reason: Id
    comment: Comment | None = None
    request_id: Key | None = None
    """Set by a workflow that asks: a retried request gets the answer the first one got."""


class FillInput(Contract):
    actor_id: Id
    applicant_id: Id
    position_id: Id
    request_id: Key | None = None
    """Set by a workflow that asks: a retried request gets the answer the first one got."""


class RegisterCall(BaseModel):
    """What a recruitment asks its register (``register_*`` activities send it as an Update)."""

    register_workflow_id: str
    certify: CertifyInput | None = None
    remove: RemoveInput | None = None
    fill: FillInput | None = None


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
