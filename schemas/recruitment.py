"""Contracts of a civil-service recruitment (DESIGN section 5, seeds 001, 000, 004).

Workflow state carries applicant ids (``A001``), qualification facts and scores; the store's
``Applicant`` table holds names and e-mail addresses. Those also pass through history inside
the ``apply`` Update and the ``record_applications`` activity input, which the payload codec
encrypts when ``HR_CODEC_KEY`` is set; ids, search attributes and logs never carry them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from schemas.human_step import StepSnapshot

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


class Experience(BaseModel):
    area: str = Field(min_length=1)
    years: float = Field(ge=0)


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


class Announcement(BaseModel):
    class_code: str
    title: str
    department_code: str
    vacancies: int = Field(ge=1)
    position_ids: list[str] = Field(default_factory=list)
    pay_min: float = Field(gt=0)
    pay_max: float = Field(gt=0)
    pay_unit: str = "hour"
    start_step: int = 1
    closes_at: AwareDatetime
    """With a time zone; a naive time would be ambiguous and is refused."""
    minimum_qualifications: MinimumQualifications = Field(default_factory=MinimumQualifications)
    supplemental_questions: list[str] = Field(default_factory=list)
    background_checks: list[str] = Field(default_factory=lambda: ["criminal"])
    advertisements: list[str] = Field(default_factory=lambda: ["city website"])

    @field_validator("background_checks")
    @classmethod
    def _known_checks(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in BACKGROUND_CHECKS]
        if unknown:
            raise ValueError(
                f"unknown background check {unknown[0]!r} (known: {', '.join(BACKGROUND_CHECKS)})"
            )
        return value


class OpenRecruitmentInput(BaseModel):
    recruitment_id: str
    requested_by: str
    announcement: Announcement
    plan: SelectionPlan = Field(default_factory=SelectionPlan)
    hr_reviewer_id: str
    """Screens applications, records background-check results and candidates' answers."""
    hiring_manager_id: str
    """Selects from the certified names for the department."""
    raters: list[str] = Field(default_factory=list)
    panel: list[str] = Field(default_factory=list)
    approver_id: str | None = None
    """The HR supervisor; resolved from the directory when not given."""


class ReviseAnnouncementInput(BaseModel):
    """HR's revised announcement after the HR supervisor asked for changes (an Update)."""

    actor_id: str
    announcement: Announcement
    comment: str | None = None


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


class Application(BaseModel):
    """What an applicant submits. Name and e-mail are personal data (see the module's note)."""

    name: str = Field(min_length=1, max_length=200)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    education: str
    experience: dict[str, float] = Field(default_factory=dict)
    supplemental_answers: list[str] = Field(default_factory=list)

    @field_validator("education")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value not in EDUCATION_LEVELS:
            raise ValueError(f"education must be one of {', '.join(EDUCATION_LEVELS)}")
        return value

    @field_validator("experience")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        for area, years in value.items():
            if years < 0:
                raise ValueError(f"years of {area} experience cannot be negative")
        return value


class ApplyInput(BaseModel):
    """One application, or a bulk import (``source`` names the file), entered by HR staff."""

    actor_id: str
    applications: list[Application] = Field(min_length=1)
    source: str | None = None


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


class ScreenOverrideInput(BaseModel):
    actor_id: str
    applicant_id: str
    qualified: bool
    reason: str


class CandidateScore(BaseModel):
    applicant_id: str
    score: float


class ScoreInput(BaseModel):
    """A rater's or panel member's scores (one candidate, or many from a CSV)."""

    actor_id: str
    scores: list[CandidateScore] = Field(min_length=1)
    step_id: str | None = None
    comment: str | None = None


class ScoreReceipt(BaseModel):
    step_id: str
    scorer_id: str
    recorded: list[str]
    remaining: list[str]


class ReassignScorerInput(BaseModel):
    """HR hands a scorer's unscored candidates to someone else (a rater who cannot finish)."""

    actor_id: str
    step_id: str
    from_id: str
    to_id: str
    reason: str


class OfferInput(BaseModel):
    actor_id: str
    applicant_id: str
    position_id: str | None = None
    start_date: date
    pay_step: int = 1


class CheckResultInput(BaseModel):
    actor_id: str
    applicant_id: str
    check: str
    result: str
    comment: str | None = None


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
