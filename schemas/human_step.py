"""Contracts of the human step: who may answer, with what, by when, and what was answered."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from schemas.decision_details import DecisionDetails
from schemas.limits import Comment, Contract, Day, Id, Moment, not_blank

# Decisions used across processes. A step lists the ones it allows.
APPROVE = "approve"
REQUEST_CHANGES = "request_changes"
REJECT = "reject"
NO_RESPONSE = "no_response"
AGREEABLE = "agreeable"
OBJECTION = "objection"
TABLE = "table"
REVISE = "revise"
PROCEED = "proceed"
WITHDRAW = "withdraw"

DECIDE = "decide"
"""The generic decision (``hr decide``): the Update and the signal of that name."""


class Participant(BaseModel):
    """A person a step waits for, in a named role."""

    person_id: str
    role: str
    escalate_to: str | None = None
    """Who hears about it when this person is overdue (their supervisor, or HR)."""
    default_decision: str | None = None
    """Recorded for this person when they still have not answered after escalation."""


class DuePolicy(BaseModel):
    """Reminder and escalation parameters (DESIGN section 4)."""

    remind_days_before_due: list[int] = Field(default_factory=lambda: [7, 2])
    escalate_days_after_due: int = 0
    default_days_after_due: int = 3
    overdue_reminder_every_days: int = 7
    max_overdue_reminders: int = 2
    fallback_approver_id: str | None = None
    """Escalation target for a participant with no ``escalate_to`` of their own."""


class AnswerWay(BaseModel):
    """The one way a step is answered: the generic decision, or a process's dedicated Update."""

    update: str = DECIDE
    """The Update (and signal, for ``decide``) that answers the step."""
    command: str = "hr decide"
    """What a person types to send it; named in the refusal of any other way."""


class StepSpec(BaseModel):
    """One wait for people: the question, the allowed answers and the clock."""

    step_id: str
    title: str
    participants: list[Participant]
    allowed: list[str]
    answer_with: AnswerWay = Field(default_factory=AnswerWay)
    comment_required: list[str] = Field(default_factory=list)
    """Decisions that must carry a comment (a request for changes, an objection)."""
    details: dict[str, str] = Field(default_factory=dict)
    """Decision -> the ``kind`` of ``DecisionDetails`` it must carry (``approve`` at the Board:
    ``board_resolution``); every other decision carries none."""
    mode: Literal["all", "any"] = "all"
    due_at: datetime
    policy: DuePolicy = Field(default_factory=DuePolicy)
    delegates: dict[str, list[str]] = Field(default_factory=dict)
    """Active delegations when the step opened: delegate id -> the people they answer for."""
    requester_id: str | None = None
    """The person who asked; they may not approve their own request."""


class Answer(BaseModel):
    """A recorded answer. ``person_id`` is the participant, ``actor_id`` who actually answered."""

    person_id: str
    actor_id: str
    decision: str
    comment: str | None = None
    details: DecisionDetails | None = None
    at: datetime
    source: Literal["update", "signal", "default"] = "update"
    token_id: str | None = None
    """The id of the signed credential the answer carried (None for a default answer)."""


class StepState(BaseModel):
    """A step's in-flight state inside a workflow."""

    spec: StepSpec
    opened_at: datetime
    answers: dict[str, Answer] = Field(default_factory=dict)
    closed: bool = False
    fired: list[str] = Field(default_factory=list)
    escalated_to: list[str] = Field(default_factory=list)
    revision: int = 0

    def answer(self) -> Answer:
        """The step's one answer: a step of mode ``any``, or of a single participant."""
        if len(self.answers) != 1:
            raise ValueError(f"step {self.spec.step_id} has {len(self.answers)} answers, not one")
        return next(iter(self.answers.values()))


class DecisionInput(Contract):
    """A decision, sent by ``hr decide`` (an Update) or as a plain ``decide`` signal."""

    actor_id: Id
    decision: Id
    step_id: Id | None = None
    on_behalf_of: Id | None = None
    comment: Comment | None = None
    details: dict[str, Any] | None = None
    """What the decision carries beyond its word, as sent (``{"kind": ..., ...}``); the step
    says which kind, if any, and the decision check reads it as ``DecisionDetails``."""


class DecisionReceipt(BaseModel):
    workflow_id: str
    step_id: str
    person_id: str
    actor_id: str
    decision: str
    at: datetime
    step_closed: bool


class ExtendDueInput(Contract):
    """HR moves a step's due date, with a reason (an Update)."""

    actor_id: Id
    step_id: Id
    new_due_at: Moment
    reason: Comment


class WithdrawInput(Contract):
    """HR ends a process early, with a reason (an Update)."""

    actor_id: Id
    reason: Comment


class StepSnapshot(BaseModel):
    step_id: str
    title: str
    allowed: list[str]
    answer_with: str = "hr decide"
    """The command that answers the step (``hr decide``, or a process's own)."""
    due_at: datetime
    pending: list[str]
    answers: list[Answer]
    closed: bool


class AuditInput(BaseModel):
    key: str
    workflow_id: str
    run_id: str | None = None
    """The workflow's first execution run id: a later run of the same id has its own rows."""
    step_id: str
    actor_id: str
    action: str
    at: datetime
    on_behalf_of: str | None = None
    comment: str | None = None
    token_id: str | None = None
    """The id (``jti``) of the credential the answer or command carried."""


MAX_EXTENSION = timedelta(days=730)
"""How far ahead HR may move a step's due date: two years."""

MAX_DELEGATION_DAYS = 366
"""A delegation covers an absence: at most a year; a longer one is a change of who holds the role."""


class DelegationRequest(Contract):
    """A time-bounded authority for ``delegate_id`` to answer for ``delegator_id``, with a reason."""

    delegator_id: Id
    delegate_id: Id
    starts_on: Day
    ends_on: Day
    reason: Annotated[Comment, AfterValidator(not_blank)]

    @model_validator(mode="after")
    def _bounded(self) -> DelegationRequest:
        if self.delegator_id == self.delegate_id:
            raise ValueError("a person cannot delegate to themselves")
        if self.ends_on < self.starts_on:
            raise ValueError("the delegation ends before it starts")
        if (self.ends_on - self.starts_on).days > MAX_DELEGATION_DAYS:
            raise ValueError(f"a delegation lasts at most {MAX_DELEGATION_DAYS} days")
        return self


class DelegationQuery(BaseModel):
    """Whose authority is delegated, to whom, on a day (for a step about to open)."""

    person_ids: list[str]
    on: date


class NotifyInput(BaseModel):
    """A notification to people by id; the activity looks up addresses and renders the text."""

    key: str
    workflow_id: str | None
    run_id: str | None = None
    recipient_ids: list[str]
    template: str
    params: dict[str, str] = Field(default_factory=dict)


class NotifyResult(BaseModel):
    queued: int
    sent: int


class StepRecords(BaseModel):
    """What one moment of a human step writes, in one (local) activity: its audit rows, then its
    notices, each keyed by run, step and event, so a retry writes nothing twice. ``delegations``:
    look up who answers for whom (for a step opening now) and return it."""

    audits: list[AuditInput] = Field(default_factory=list)
    notices: list[NotifyInput] = Field(default_factory=list)
    delegations: DelegationQuery | None = None


class StepRecordsWritten(BaseModel):
    delegates: dict[str, list[str]] = Field(default_factory=dict)
    """Delegate id -> the people they answer for (when ``delegations`` was asked)."""
    audit_ids: list[int] = Field(default_factory=list)
    queued: int = 0
