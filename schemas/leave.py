"""Contracts of the leave process (DESIGN section 5 "Leave"; seeds 003, 000).

``Leave`` (``leave-<employee id>-<first day yyyymmdd>``): request → eligibility → certification
by a due date → supervisor acknowledgement and HR approval → designation notice → absences
recorded against the entitlement under a rolling twelve-month rule → return to work (with a
fitness-for-duty certificate where required), extension, or referral to the benefits
representative. A workers' compensation leave adds the third-party administrator's decision on
its claim.

Medical details (the diagnosis, the certification's contents, the reason for the leave) travel
only inside payloads (encrypted by the codec) and are stored in the leave tables; the workflow
keeps none of them in its state, and ids, search attributes, summaries, details and logs carry
ids, dates and hours only. The leave's type is in its status query and the store, never in its
id or search attributes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from schemas.employment import EmployeeFacts
from schemas.human_step import AuditInput, NotifyInput, StepSnapshot
from schemas.limits import Comment, Contract, Day, Id, Line, not_blank

LEAVE_ACTION_TYPE = "leave"
LEAVE_WORKFLOW = "Leave"

LeaveType = Literal["medical", "family", "parental", "military", "workers_comp", "other"]
Schedule = Literal["continuous", "intermittent"]

# Stages (``HrStage``) and outcomes.
REQUESTED = "requested"
CERTIFICATION = "certification"
TPA = "tpa"
ACKNOWLEDGEMENT = "acknowledgement"
APPROVAL = "approval"
ON_LEAVE = "on_leave"
RETURN = "return"
REFERRAL = "referral"
RETURNED = "returned"
REFERRED = "referred"
DENIED = "denied"
INELIGIBLE = "ineligible"
REFUSED = "refused"
WITHDRAWN = "withdrawn"
CANCELLED = "cancelled"

# The words of its steps.
CERTIFIED = "certified"
NOT_RECEIVED = "not_received"
ACKNOWLEDGED = "acknowledged"
APPROVE = "approve"
DENY = "deny"
ACCEPT = "accept"
EXTEND = "extend"
ACCEPTED = "accepted"

# Step ids.
CERTIFICATION_STEP = "certification"
TPA_STEP = "tpa-claim"
ACKNOWLEDGEMENT_STEP = "acknowledgement"
APPROVAL_STEP = "approval"
REFERRAL_STEP = "referral"
RETURN_PREFIX = "return-"

# Updates.
SUBMIT_CERTIFICATION = "submit_certification"
RECORD_ABSENCE = "record_absence"
FLAG_DIFFICULT = "flag_difficult"

# Roles in the directory.
TPA_ROLE = "third_party_administrator"
BENEFITS_REP_ROLE = "benefits_representative"

Hours = Annotated[float, Field(gt=0, le=24 * 366)]


def leave_workflow_id(employee_id: str, starts_on: date) -> str:
    """No type, no reason: an id is never encrypted."""
    return f"leave-{employee_id}-{starts_on:%Y%m%d}"


class LeaveInput(Contract):
    """A leave as requested (by HR for the employee, or by the employee)."""

    employee_id: Id
    leave_type: LeaveType
    schedule: Schedule
    starts_on: Day
    ends_on: Day
    hours: Hours | None = None
    """An intermittent leave: the hours it expects to take. A continuous one: every workday."""
    weekly_hours: float = Field(default=40.0, gt=0, le=168)
    """The employee's schedule; the entitlement is 12 weeks of it (480 hours for 40)."""
    requested_by: Id
    reason: Comment | None = None
    """Why, in the employee's words: medical detail, encrypted, stored, never logged or shown."""

    @model_validator(mode="after")
    def _ordered(self) -> LeaveInput:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class LeavePeriod(BaseModel):
    leave_id: str
    starts_on: date
    ends_on: date


class AbsenceDay(BaseModel):
    on: date
    hours: float
    leave_id: str | None = None


class LeaveQuery(BaseModel):
    workflow_id: str
    leave: LeaveInput


class LeaveFacts(BaseModel):
    """What the store says when the leave is requested (ids, dates and hours only)."""

    employee: EmployeeFacts
    service_start: date | None
    hours_worked: float
    """In the twelve months before the first day of leave."""
    prior_absences: list[AbsenceDay]
    """The employee's absences of earlier leaves (in the twelve months before the first day and
    after), which count against the same rolling entitlement."""
    tpa_ids: list[str]
    benefits_rep_id: str


class LeaveOpened(BaseModel):
    refused: str | None = None
    facts: LeaveFacts | None = None


class CertificationInput(Contract):
    """The certification (an Update, ``hr leave certify``), from the employee or HR only.

    ``provider`` and ``diagnosis`` are medical details: they are stored with the leave, never
    kept in workflow state, shown in status, logged or put in search attributes."""

    actor_id: Id
    provider: Line
    diagnosis: Annotated[Comment, AfterValidator(not_blank)]
    incapacity_from: Day | None = None
    incapacity_to: Day | None = None
    fitness_for_duty_required: bool | None = None
    """The provider's word on a fitness-for-duty certificate at return; None: the type's default."""
    comment: Comment | None = None


class AbsenceInput(Contract):
    """An absence during leave (an Update, ``hr leave absence``): one day, or each workday of a span."""

    actor_id: Id
    on: Day
    through: Day | None = None
    hours: float = Field(gt=0, le=24)
    comment: Comment | None = None


class DifficultInput(Contract):
    """HR flags the case as difficult: it goes to the benefits representative."""

    actor_id: Id
    reason: Annotated[Comment, AfterValidator(not_blank)]


class CertificationRecord(BaseModel):
    key: str
    submitted_by: str
    provider: str
    diagnosis: str
    incapacity_from: date | None
    incapacity_to: date | None
    fitness_for_duty_required: bool | None
    at: datetime


class AbsenceRecord(BaseModel):
    key: str
    on: date
    hours: float
    recorded_by: str
    at: datetime


class LeaveRow(BaseModel):
    """The request's row, written whole each time (a retry writes the same values)."""

    leave_id: str
    leave_type: str
    schedule: str
    starts_on: date
    ends_on: date
    requested_hours: float
    weekly_hours: float
    entitlement_hours: float
    status: str
    requested_by: str
    reason: str | None = None
    eligible: bool | None = None
    tpa_claim_number: str | None = None
    tpa_decision: str | None = None
    designated_on: date | None = None
    returned_on: date | None = None
    fitness_for_duty_on: date | None = None
    referred_to: str | None = None
    at: datetime


class LeaveRecords(BaseModel):
    """What one moment of a leave writes, in one transaction, then the notices it queues."""

    workflow_id: str
    run_id: str
    employee_id: str
    leave: LeaveRow | None = None
    approving: bool = False
    """The leave becomes approved now: refused (nothing written) if it overlaps another approved one."""
    certification: CertificationRecord | None = None
    absences: list[AbsenceRecord] = Field(default_factory=list)
    audits: list[AuditInput] = Field(default_factory=list)
    notices: list[NotifyInput] = Field(default_factory=list)


class LeaveWritten(BaseModel):
    refused: str | None = None


class Extension(BaseModel):
    from_ends_on: date
    to_ends_on: date
    by: str
    reason: str | None = None


class LeaveStatus(BaseModel):
    """The status query. No diagnosis, provider or reason: ids, dates, hours and decisions."""

    workflow_id: str
    employee_id: str
    leave_type: str
    schedule: str
    starts_on: date
    ends_on: date
    requested_by: str
    requested_hours: float
    stage: str
    eligible: bool | None = None
    eligibility_reasons: list[str] = Field(default_factory=list)
    service_months: int | None = None
    hours_worked: float | None = None
    certification_due_at: datetime | None = None
    certified_by: str | None = None
    certified_at: datetime | None = None
    fitness_for_duty_required: bool | None = None
    supervisor_id: str | None = None
    acknowledged_by: str | None = None
    approved_by: str | None = None
    designated_on: date | None = None
    tpa_claim_number: str | None = None
    tpa_decision: str | None = None
    entitlement_hours: float
    used_hours: float
    """In the twelve months to ``balance_on``, this leave's absences and earlier ones."""
    remaining_hours: float
    balance_on: date
    absences: list[AbsenceDay]
    """This leave's absences."""
    difficult: bool = False
    referred_to: str | None = None
    extensions: list[Extension] = Field(default_factory=list)
    returned_on: date | None = None
    outcome: str | None = None
    outcome_reason: str | None = None
    open_steps: list[StepSnapshot]
    closed_steps: list[StepSnapshot]


class LeaveResult(BaseModel):
    workflow_id: str
    employee_id: str
    outcome: str
    outcome_reason: str | None = None
    used_hours: float
    remaining_hours: float
