"""Contracts of the job-description review cycle (DESIGN section 5, seeds 003 and 002)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from schemas.human_step import DuePolicy, StepSnapshot
from schemas.limits import Contract, Day, Id, LongText

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


class StartReviewInput(Contract):
    class_code: Id
    cycle: Id
    """Part of the workflow id (and so of mail headers): an id, never free text."""
    requested_by: Id
    """The HR staff member who asks for the review (someone with an HR role)."""
    draft_text: LongText | None = None
    """The proposed text; without it, HR drafts it as the first step."""
    review_days: int = Field(default=14, ge=1, le=365)
    union_days: int = Field(default=10, ge=1, le=365)
    signature_days: int = Field(default=7, ge=1, le=365)
    hr_days: int = Field(default=10, ge=1, le=365)
    max_rounds: int = Field(default=3, ge=1, le=10)
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
    hr_staff: list[str] = Field(default_factory=list)
    """Everyone with an HR role in the directory: who may give HR's commands."""


class ResolveInput(BaseModel):
    class_code: str
    requested_by: str


class DraftInHistory(BaseModel):
    """Where HR's revised (or first) draft already is in the review's history: the ``decide``
    Update (or signal) that answered ``revise`` with it, so the text is not stored twice.

    ``save_start_draft`` reads the text from that event and checks it is this answer: the Update
    with ``update_id`` (a signal: a ``decide`` signal), for ``step_id``, deciding ``revise``, and
    whose text has the digest ``sha256``.
    """

    run_id: str
    """The run whose history holds the answer (the review does not continue as new)."""
    step_id: str
    update_id: str | None = None
    """The Update's id; None when the answer came as a plain ``decide`` signal."""
    sha256: str
    """The hex SHA-256 of the text as the workflow accepted it (UTF-8)."""


class SaveDraftInput(BaseModel):
    key: str
    workflow_id: str
    run_id: str | None = None
    class_code: str
    round: int
    text: str | None = None
    """The proposed text; None when it is already in the history (``text_from_start`` or
    ``text_in_history``)."""
    text_from_start: bool = False
    """The text is the ``draft_text`` of the workflow's start input: the activity reads it from
    the workflow's first history event instead of the history storing it twice."""
    text_in_history: DraftInHistory | None = None
    """The text is HR's ``revise`` answer: the activity reads it from that Update's (or
    signal's) event instead of the history storing it twice."""


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
    run_id: str | None = None
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
    run_id: str
    """The run this record is of (its first execution run id): one row per run."""
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


class SweepInput(Contract):
    """A sweep's input; continue-as-new carries a cursor and counts, never lists, so every run
    starts with an input of the same small size however many classifications there are."""

    cycle: Id
    requested_by: Id
    older_than_years: int = Field(default=10, ge=1, le=100)
    as_of: Day | None = None
    """The day the age is measured on; the first run fixes it (today), so the set cannot shift."""
    batch_size: int = Field(default=10, ge=1, le=100)
    per_run_limit: int = Field(default=200, ge=1, le=10_000)
    """Children started per run before continue-as-new keeps the history small."""
    cursor: str | None = None
    """The code of the last classification handled (codes go in code order); None: none yet."""
    started: int = 0
    """Reviews started so far, by the earlier runs."""
    already_started: int = 0
    """Reviews of the cycle found already running or done so far."""


class StaleQuery(BaseModel):
    """One page of the classifications due for review: at most ``limit`` codes after ``after``."""

    older_than_years: int
    as_of: date
    after: str | None = None
    limit: int = Field(default=100, ge=1)


class SweepResult(BaseModel):
    cycle: str
    started: int
    """Reviews this sweep started."""
    already_started: int
    """Reviews of the cycle it found already running or done."""
    cursor: str | None
    """The code of the last classification handled."""
    done: bool
    """True once a page came back empty: every classification due has been handled."""
