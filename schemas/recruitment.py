"""Contracts of a civil-service recruitment (DESIGN section 5, seeds 001, 000, 004).

Workflow state carries applicant ids (``A001``), qualification facts and scores; the store's
``Applicant`` table holds names and e-mail addresses. Those also pass through history inside
the ``apply`` Update and the ``record_applications`` activity input, which the payload codec
encrypts when ``HR_CODEC_KEY`` is set; ids, search attributes and logs never carry them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from schemas.human_step import StepSnapshot
from schemas.limits import Comment, Contract, Day, Id, Line, Moment, Number

ACTION_TYPE = "recruitment"
REGISTER_ACTION_TYPE = "eligibility_register"

EDUCATION_LEVELS: tuple[str, ...] = (
    "none",
    "high_school",
    "vocational",
    "associate",
    "bachelor",
    "master",
    "doctorate",
)
"""Ordered: a level meets every requirement at or below it (seed 001: one year of vocational
training; a degree meets it)."""

BACKGROUND_CHECKS: tuple[str, ...] = ("criminal", "education", "employment", "mvr")
"""Seed 004: criminal history, education, employment verification, motor-vehicle record."""
CLEAR = "clear"
POTENTIALLY_DISQUALIFYING = "potentially_disqualifying"
CHECK_RESULTS: tuple[str, ...] = (CLEAR, POTENTIALLY_DISQUALIFYING)

# Decisions of the recruitment's steps (the human step's answers).
CONFIRM = "confirm"
SCORED = "scored"
SELECT = "select"
NONE_SUITABLE = "none_suitable"
ACCEPT = "accept"
DECLINE = "decline"
RESPONDED = "responded"
DISQUALIFY = "disqualify"
RECORDED = "recorded"
OFFERED = "offered"

# Stages, in the order of the seed's selection process.
ANNOUNCEMENT = "announcement_approval"
REVISING = "announcement_revision"
ACCEPTING = "accepting_applications"
SCREENING = "mq_review"
SUPPLEMENTAL = "supplemental_review"
ORAL_BOARD = "oral_board"
CERTIFICATION = "certification"
SELECTION = "selection"
OFFER = "conditional_offer"
BACKGROUND = "background_checks"
HIRED = "hired"
FAILED_SEARCH = "failed_search"
NOT_APPROVED = "announcement_not_approved"
WITHDRAWN = "withdrawn"
CANCELLED = "cancelled"


def recruitment_workflow_id(recruitment_id: str) -> str:
    return f"recruitment-{recruitment_id}"


def register_workflow_id(recruitment_id: str) -> str:
    return f"register-{recruitment_id}"


class Experience(Contract):
    area: Line = Field(min_length=1)
    years: Number = Field(ge=0, le=80)


class MinimumQualifications(BaseModel):
    """Education plus years of experience per area; all must be met (seed 001, seed 000)."""

    education: str = "high_school"
    experience: list[Experience] = Field(default_factory=list)

    @field_validator("education")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value not in EDUCATION_LEVELS:
            raise ValueError(f"education must be one of {', '.join(EDUCATION_LEVELS)}")
        return value


class SelectionPlan(BaseModel):
    """The selection plan, frozen at posting. Defaults are seed 001's rules and timeline."""

    supplemental_threshold: int = 7
    """Seed 001: seven or more qualified → supplemental question review."""
    oral_board_size: int = 6
    """Seed 001: the top six from the supplemental review go to the oral board."""
    supplemental_weight: float = 40.0
    oral_weight: float = 60.0
    pass_point: float = 60.0
    raters_per_candidate: int = 2
    certification_rule: Literal["top_per_vacancy", "rule_of_n", "within_points"] = "top_per_vacancy"
    names_per_vacancy: int = 3
    """``top_per_vacancy``: this many names per vacancy; ``rule_of_n``: the same, plus ties."""
    within_points: float = 5.0
    """``within_points``: everyone within this many points of the top score."""
    status_update_days: int = 4
    """Seed 001: closes Aug 19, status updated on or around Aug 23."""
    supplemental_days: int = 12
    """Seed 001: supplemental results on or around Aug 31."""
    oral_board_days: int = 21
    """Seed 001: oral boards the week of Sep 6 (done by Sep 9)."""
    approval_days: int = 5
    selection_days: int = 10
    offer_answer_days: int = 5
    background_days: int = 14
    background_answer_days: int = 10
    """Fair Hiring Practices (seed 001): time for the candidate to answer a record."""
    hr_decision_days: int = 5
    register_months: int = 12
    register_vacancies: int | None = None
    """Vacancies the register may fill in its life; default the announcement's (seed 001: this
    vacancy only). More lets the register certify for later vacancies until it expires."""
    max_announcement_rounds: int = 3


class Announcement(Contract):
    class_code: Id
    title: Line
    department_code: Id
    vacancies: int = Field(ge=1, le=1000)
    position_ids: list[Id] = Field(default_factory=list)
    pay_min: Number = Field(gt=0)
    pay_max: Number = Field(gt=0)
    pay_unit: Id = "hour"
    start_step: int = Field(default=1, ge=1, le=50)
    closes_at: Moment
    """With a time zone; a naive time would be ambiguous and is refused."""
    minimum_qualifications: MinimumQualifications = Field(default_factory=MinimumQualifications)
    supplemental_questions: list[Comment] = Field(default_factory=list)
    background_checks: list[str] = Field(default_factory=lambda: ["criminal"])
    advertisements: list[Line] = Field(default_factory=lambda: ["city website"])

    @field_validator("background_checks")
    @classmethod
    def _known_checks(cls, value: list[str]) -> list[str]:
        unknown = [n for n, v in enumerate(value, start=1) if v not in BACKGROUND_CHECKS]
        if unknown:
            raise ValueError(f"background check {unknown[0]} is not one of {', '.join(BACKGROUND_CHECKS)}")
        return value


class OpenRecruitmentInput(Contract):
    recruitment_id: Id
    requested_by: Id
    announcement: Announcement
    plan: SelectionPlan = Field(default_factory=SelectionPlan)
    hr_reviewer_id: Id
    """Screens applications, records background-check results and candidates' answers."""
    hiring_manager_id: Id
    """Selects from the certified names for the department."""
    raters: list[Id] = Field(default_factory=list)
    panel: list[Id] = Field(default_factory=list)
    approver_id: Id | None = None
    """The HR supervisor; resolved from the directory when not given."""
    probation: timedelta | None = Field(default=None, gt=timedelta(0), le=timedelta(days=730))
    """The hire's probation length, passed to the onboarding the hire starts; None: the
    classification's months (``hr demo --onboarding`` sets ``HR_DEMO_PROBATION``)."""


class ReviseAnnouncementInput(Contract):
    """HR's revised announcement after the HR supervisor asked for changes (an Update)."""

    actor_id: Id
    announcement: Announcement
    comment: Comment | None = None


class RecruitmentParticipants(BaseModel):
    hr_supervisor_id: str
    hr_staff: list[str]


class ResolveRecruitmentInput(BaseModel):
    person_ids: list[str]
    hr_person_ids: list[str] = Field(default_factory=list)
    """People who act for HR in this recruitment (requester, reviewer): they need an HR role."""
    department_code: str
    class_code: str
    position_ids: list[str] = Field(default_factory=list)


# ----- applications ---------------------------------------------------------------------------


class Application(Contract):
    """What an applicant submits. Name and e-mail are personal data (see the module's note)."""

    name: Line = Field(min_length=1)
    email: Line = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    education: str
    experience: dict[Line, Number] = Field(default_factory=dict)
    supplemental_answers: list[Comment] = Field(default_factory=list)

    @field_validator("education")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value not in EDUCATION_LEVELS:
            raise ValueError(f"education must be one of {', '.join(EDUCATION_LEVELS)}")
        return value

    @field_validator("experience")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        if any(years < 0 for years in value.values()):
            raise ValueError("years of experience cannot be negative")
        return value


class ApplyInput(Contract):
    """One application, or a bulk import (``source`` names the file), entered by HR staff."""

    actor_id: Id
    applications: list[Application] = Field(min_length=1, max_length=20_000)
    source: Line | None = None


class ApplyReceipt(BaseModel):
    applicant_ids: list[str]


class NewApplicant(BaseModel):
    applicant_id: str
    applied_at: datetime
    application: Application


class RecordApplicationsInput(BaseModel):
    recruitment_id: str
    workflow_id: str
    applicants: list[NewApplicant]


class PositionCheckInput(BaseModel):
    position_id: str
    class_code: str


class ScreenOverrideInput(Contract):
    actor_id: Id
    applicant_id: Id
    qualified: bool
    reason: Comment


class CandidateScore(Contract):
    applicant_id: Id
    score: Number


class ScoreInput(Contract):
    """A rater's or panel member's scores (one candidate, or many from a CSV)."""

    actor_id: Id
    scores: list[CandidateScore] = Field(min_length=1, max_length=20_000)
    step_id: Id | None = None
    comment: Comment | None = None


class ScoreReceipt(BaseModel):
    step_id: str
    scorer_id: str
    recorded: list[str]
    remaining: list[str]


class ReassignScorerInput(Contract):
    """HR hands a scorer's unscored candidates to someone else (a rater who cannot finish)."""

    actor_id: Id
    step_id: Id
    from_id: Id
    to_id: Id
    reason: Comment


class OfferInput(Contract):
    actor_id: Id
    applicant_id: Id
    position_id: Id | None = None
    start_date: Day
    pay_step: int = Field(default=1, ge=1, le=50)


class CheckResultInput(Contract):
    actor_id: Id
    applicant_id: Id
    check: Id
    result: Id
    comment: Comment | None = None


# ----- store writes ---------------------------------------------------------------------------


class PostingInput(BaseModel):
    recruitment_id: str
    workflow_id: str
    run_id: str | None = None
    """The run posting it; a recruitment id already on record from another run is refused."""
    requested_by: str
    approved_by: str
    announcement: Announcement
    plan: SelectionPlan
    posted_at: datetime


class CandidateRecord(BaseModel):
    """A candidate's state written to the store (scores, rank, disposition)."""

    applicant_id: str
    qualified: bool | None = None
    screen_reasons: list[str] = Field(default_factory=list)
    override_reason: str | None = None
    supplemental: float | None = None
    oral: float | None = None
    final: float | None = None
    rank: int | None = None
    disposition: str | None = None


class RecordCandidatesInput(BaseModel):
    recruitment_id: str
    candidates: list[CandidateRecord]


class ScoreRecord(BaseModel):
    key: str
    recruitment_id: str
    step_id: str
    scorer_id: str
    applicant_id: str
    score: float
    at: datetime


class RecordScoresInput(BaseModel):
    scores: list[ScoreRecord]


class CertificationRecord(BaseModel):
    key: str
    recruitment_id: str
    request_id: str
    applicant_ids: list[str]
    vacancies: int
    rule: str
    certified_by: str
    at: datetime


class CheckRecord(BaseModel):
    key: str
    recruitment_id: str
    applicant_id: str
    check: str
    result: str
    recorded_by: str
    at: datetime


class HireInput(BaseModel):
    key: str
    recruitment_id: str
    applicant_id: str
    class_code: str
    department_code: str
    position_id: str | None
    start_date: date
    pay_step: int
    hired_at: datetime


class HireResult(BaseModel):
    employee_id: str
    position_id: str | None


class RecruitmentOutcomeInput(BaseModel):
    recruitment_id: str
    status: str
    finished_at: datetime


class ApplicantNoticeInput(BaseModel):
    """A notice to applicants by id; the activity looks up their addresses in the store."""

    key: str
    workflow_id: str
    run_id: str | None = None
    recruitment_id: str
    applicant_ids: list[str]
    template: str
    params: dict[str, str] = Field(default_factory=dict)
    per_applicant: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Parameters for one applicant only (their score, rank), by applicant id."""


# ----- status and result ------------------------------------------------------------------------


class CandidateView(BaseModel):
    applicant_id: str
    applied_at: datetime
    qualified: bool | None = None
    screen_reasons: list[str] = Field(default_factory=list)
    override_reason: str | None = None
    supplemental: float | None = None
    oral: float | None = None
    final: float | None = None
    rank: int | None = None
    disposition: str | None = None


class RecruitmentCounts(BaseModel):
    applied: int = 0
    qualified: int = 0
    oral_board: int = 0
    on_register: int = 0


class RecruitmentStatus(BaseModel):
    workflow_id: str
    recruitment_id: str
    class_code: str
    stage: str
    closes_at: datetime
    counts: RecruitmentCounts
    open_steps: list[StepSnapshot]
    candidates: list[CandidateView]
    assignments: dict[str, dict[str, list[str]]] = Field(default_factory=dict)
    """Scoring step -> scorer -> the candidates they score."""
    certified: list[str] = Field(default_factory=list)
    selected: str | None = None
    offer: OfferInput | None = None
    checks: dict[str, str] = Field(default_factory=dict)
    outcome: str | None = None
    employee_id: str | None = None
    register_problems: list[str] = Field(default_factory=list)
    """What the eligibility register refused or could not answer (it had closed), as recorded."""


class RecruitmentResult(BaseModel):
    recruitment_id: str
    outcome: str
    applicant_id: str | None = None
    employee_id: str | None = None
    register_workflow_id: str | None = None
