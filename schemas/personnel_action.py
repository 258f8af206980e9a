"""Contracts of the personnel action (``PersonnelAction``, id ``personnel-action-<employee>-<action>``).

The workflow's input is ``schemas.employment.PersonnelActionInput`` (shared with the probation,
which starts a ``release`` with it). Here: the stages and row statuses, the facts the opening
activity resolves (the employee, the target position, the approval chain), the Update that moves
the effective date, the execution's records, the status query and the result. Workflow state,
history, search attributes and logs carry ids and codes only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from schemas.employment import EmployeeFacts, PersonnelActionInput
from schemas.human_step import StepSnapshot
from schemas.limits import Comment, Contract, Day, Id, not_blank

# Stages (``HrStage``), in order; the last five are outcomes.
OPENING = "opening"
APPROVAL = "approval"
SCHEDULED = "scheduled"
"""Approved; waiting for the effective date (``HrDueAt`` is that date)."""
EXECUTING = "executing"
WORK_ORDERS = "work_orders"
"""Executed; the IT service desk's work orders of a separation are still open."""
EXECUTED = "executed"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"
REFUSED = "refused"
VOID = "void"
"""Approved, but the employee separated (or the position was filled) before it could execute."""
CANCELLED = "cancelled"
OUTCOMES: tuple[str, ...] = (EXECUTED, REJECTED, WITHDRAWN, REFUSED, VOID, CANCELLED)

# ``PersonnelAction.status`` in the store. A refused request writes no row.
REQUESTED = "requested"
IN_FLIGHT: tuple[str, ...] = (REQUESTED, SCHEDULED)
"""Statuses of an action that has not executed or ended: the conflict rules look at these."""

# Roles of the approval chain, in order (the step id is ``approve-<role>``).
DIRECTOR = "director"
RECEIVING_DIRECTOR = "receiving_director"
HR = "hr"
FINANCE = "finance"

DONE = "done"
"""The IT service desk's answer to a work-order step."""
IT_DEPROVISIONING = "it_deprovisioning"
EQUIPMENT_RETURN = "equipment_return"
WORK_ORDER_KINDS: tuple[str, ...] = (IT_DEPROVISIONING, EQUIPMENT_RETURN)

MOVE_EFFECTIVE_DATE = "move_effective_date"
"""The Update (``hr action move``) that moves the effective date before the action executes."""


def action_row_id(employee_id: str, action_id: str) -> str:
    """``PersonnelAction.id``: the workflow's business key."""
    return f"{employee_id}-{action_id}"


class ApprovalStage(BaseModel):
    """One approval of the chain: a step ``approve-<role>`` answered by ``approvers``."""

    role: str
    approvers: list[str]
    mode: Literal["all", "any"] = "all"

    @property
    def step_id(self) -> str:
        return f"approve-{self.role.replace('_', '-')}"


class ActionFacts(BaseModel):
    """What the opening activity resolved: the employee, the target position and the chain."""

    employee: EmployeeFacts
    target_position_id: str | None = None
    target_class_code: str | None = None
    target_department_code: str | None = None
    target_director_id: str | None = None
    target_probation_months: int = 0
    chain: list[ApprovalStage] = Field(default_factory=list)
    new_probation: bool = False
    """A promotion into another classification whose rules set a probation (``needs_probation``)."""


class OpenActionInput(BaseModel):
    """Checks a request and records it (``PersonnelAction`` row, status ``requested``)."""

    workflow_id: str
    run_id: str
    action: PersonnelActionInput
    today: date
    at: datetime


class OpenActionResult(BaseModel):
    refused: str | None = None
    """Why the request is refused (nothing was written); None when it was recorded."""
    facts: ActionFacts | None = None


class ActionStatusInput(BaseModel):
    """Sets the row's status; ``final`` also sets ``finished_at``."""

    row_id: str
    run_id: str
    status: str
    at: datetime
    final: bool = False


class MoveEffectiveDateInput(Contract):
    """HR moves the effective date before the action executes, with a reason (an Update)."""

    actor_id: Id
    effective_on: Day
    reason: Annotated[Comment, AfterValidator(not_blank)]


class MoveDateRecord(BaseModel):
    """The move as the store records it, after the conflict rules are checked again."""

    row_id: str
    run_id: str
    employee_id: str
    kind: str
    effective_on: date
    actor_id: str
    reason: str
    at: datetime


class DateMove(BaseModel):
    actor_id: str
    from_on: date
    to_on: date
    reason: str
    at: datetime


class ExecuteActionInput(BaseModel):
    """Executes an approved action on its effective date: one transaction, keyed by ``key``."""

    key: str
    workflow_id: str
    run_id: str
    action: PersonnelActionInput
    effective_on: date
    facts: ActionFacts
    at: datetime


class ExecutionResult(BaseModel):
    void: str | None = None
    """Why nothing was executed (the employee separated, the position was filled meanwhile)."""
    work_orders: dict[str, int] = Field(default_factory=dict)
    """Work-order kind -> ``WorkOrder.id`` (separations)."""
    summary: str = ""
    """What was done, ids and codes only (the audit's comment)."""


class WorkOrderDoneInput(BaseModel):
    work_order_id: int
    done_by: str
    done_at: datetime
    note: str | None = None


class PersonnelActionStatus(BaseModel):
    workflow_id: str
    action_id: str
    employee_id: str
    kind: str
    stage: str
    requested_by: str
    effective_on: date
    reason: str | None = None
    chain: list[ApprovalStage] = Field(default_factory=list)
    moves: list[DateMove] = Field(default_factory=list)
    open_steps: list[StepSnapshot] = Field(default_factory=list)
    closed_steps: list[StepSnapshot] = Field(default_factory=list)
    outcome: str | None = None
    outcome_reason: str | None = None
    """A refusal's, rejection's, withdrawal's or void's reason."""
    executed_at: datetime | None = None
    work_orders: dict[str, int] = Field(default_factory=dict)
    probation_workflow_id: str | None = None


class PersonnelActionResult(BaseModel):
    workflow_id: str
    action_id: str
    employee_id: str
    kind: str
    outcome: str
    reason: str | None = None
    effective_on: date
    probation_workflow_id: str | None = None
