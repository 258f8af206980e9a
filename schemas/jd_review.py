"""Contracts of the job-description review cycle (DESIGN section 5, seeds 003 and 002)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from schemas.human_step import DuePolicy, StepSnapshot

ACTION_TYPE = "jd_review"
SWEEP_ACTION_TYPE = "jd_review_sweep"

# Stages, in the order of the seed's process.
DRAFTING = "drafting"
REVIEW = "review"
HR_DECISION = "hr_decision"
UNION = "union"
SIGNATURES = "signatures"
MEMO = "memo"
BOARD = "board"
ADOPTED = "adopted"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"
CANCELLED = "cancelled"


def review_workflow_id(class_code: str, cycle: str) -> str:
    """The business key of a review: one per classification and cycle."""
    return f"jd-review-{class_code}-{cycle}"


def sweep_workflow_id(cycle: str) -> str:
    return f"jd-sweep-{cycle}"


class StartReviewInput(BaseModel):
    class_code: str
    cycle: str
    requested_by: str
    draft_text: str | None = None
    """The proposed text; without it, HR drafts it as the first step."""
    review_days: int = 14
    union_days: int = 10
    signature_days: int = 7
    hr_days: int = 10
    max_rounds: int = 3
    policy: DuePolicy = Field(default_factory=DuePolicy)


class ReviewParticipants(BaseModel):
    """Who takes part in a review of one classification, resolved from the directory."""

    class_code: str
    title: str
    department_code: str
    current_version_id: int | None
    current_revised_on: date | None
    supervisor_ids: list[str]
    incumbent_ids: list[str]
    incumbent_supervisors: dict[str, str]
    bargaining_unit: str | None
    union_rep_id: str | None
    department_director_id: str
    employee_services_director_id: str
    hr_supervisor_id: str
    board_secretary_id: str
    delegates: dict[str, list[str]] = Field(default_factory=dict)


class ResolveInput(BaseModel):
    class_code: str
    requested_by: str
    on: date


class SaveDraftInput(BaseModel):
    key: str
    workflow_id: str
    class_code: str
    round: int
    text: str


class SaveDraftResult(BaseModel):
    version_id: int
    redline_document_id: int
    lines_added: int
    lines_removed: int


class MemoFacts(BaseModel):
    """What the memo to the Civil Service Board says, all of it from the record."""

    memo_date: date
    hr_supervisor_id: str
    supervisors_approved: list[str]
    incumbents_approved: list[str]
    no_response: list[str]
    union_position: str | None
    union_comment: str | None = None
    rounds: int
    redline_document_id: int | None = None


class MemoInput(BaseModel):
    key: str
    workflow_id: str
    class_code: str
    version_id: int
    facts: MemoFacts


class SignatureFact(BaseModel):
    role: str
    person_id: str
    on_behalf_of: str | None
    decision: str
    signed_at: datetime


class AdoptInput(BaseModel):
    key: str
    workflow_id: str
    class_code: str
    version_id: int
    board_date: date
    resolution_number: str
    signatures: list[SignatureFact]


class AdoptResult(BaseModel):
    version_id: int
    superseded_version_id: int | None


class CycleRecordInput(BaseModel):
    workflow_id: str
    class_code: str
    cycle: str
    requested_by: str
    status: str
    at: datetime
    adopted_version_id: int | None = None
    final: bool = False


class ReviewStatus(BaseModel):
    """The ``status`` query's answer."""

    workflow_id: str
    class_code: str
    cycle: str
    stage: str
    round: int
    requested_by: str
    draft_version_id: int | None
    memo_document_id: int | None
    adopted_version_id: int | None
    outcome: str | None
    open_steps: list[StepSnapshot]
    closed_steps: list[StepSnapshot]


class ReviewResult(BaseModel):
    workflow_id: str
    class_code: str
    outcome: str
    rounds: int
    adopted_version_id: int | None = None
    resolution_number: str | None = None


class VersionStatusInput(BaseModel):
    version_id: int
    status: str


class SweepInput(BaseModel):
    cycle: str
    requested_by: str
    older_than_years: int = 10
    as_of: date | None = None
    batch_size: int = 10
    per_run_limit: int = 200
    """Children started per run before continue-as-new keeps the history small."""
    remaining: list[str] | None = None
    """Codes still to start, carried over by continue-as-new; None on the first run, which
    looks them up once, so a classification adopted meanwhile cannot shift the list."""
    started: list[str] = Field(default_factory=list)
    already_started: list[str] = Field(default_factory=list)


class StaleQuery(BaseModel):
    older_than_years: int
    as_of: date


class SweepResult(BaseModel):
    cycle: str
    started: list[str]
    already_started: list[str]
