"""Contracts of the death claim (seed 003: "process death claims"; issue 10).

``DeathClaim`` (``death-claim-<employee>``): records the date of death, ends the employee's
coverage and payroll deductions at the end of that month, finds the beneficiaries designated on
the life-plan election, waits for HR benefits staff to file the life-insurance claim with the
carrier (the shared human step), records the dependants' COBRA eligibility, sends the
beneficiaries their notice and closes with an audit trail.

The date of death and the beneficiaries' names, addresses and e-mail addresses travel only
inside payloads (the codec encrypts them) and the store; the workflow itself holds counts,
ids and codes, and nothing personal reaches a search attribute, id, summary or log.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from schemas.human_step import AuditInput, NotifyInput, StepSnapshot
from schemas.limits import Contract, Day, Id

DEATH_CLAIM_WORKFLOW = "DeathClaim"
DEATH_CLAIM_ACTION_TYPE = "death_claim"
FILE_STEP = "file_claim"
FILED = "filed"
FILED_KIND = "life_claim_filed"
FILE_COMMAND = "hr benefits claim-filed"

# Stages and outcomes.
RESOLVING = "resolving"
OPEN = "open"
FILING = "filing"
CLOSED = "closed"
NO_LIFE_COVERAGE = "closed_no_life_coverage"
WITHDRAWN = "withdrawn"


def death_claim_workflow_id(employee_id: str) -> str:
    """``death-claim-E1016``: one claim per employee (no date in it)."""
    return f"death-claim-{employee_id}"


class DeathClaimInput(Contract):
    employee_id: Id
    died_on: Day
    """Personal data: kept in the payload and the store only."""
    requested_by: Id


class DeathClaimQuery(BaseModel):
    employee_id: str
    requested_by: str


class DeathClaimFacts(BaseModel):
    """What the claim needs, as ids, codes and counts (no beneficiary's name)."""

    employee_id: str
    department_code: str
    hr_supervisor_id: str
    hr_staff: list[str]
    life_plan_id: str | None = None
    carrier: str | None = None
    beneficiaries: int = 0
    dependants_covered: int = 0
    """Dependants on the employee's current medical, dental or vision elections (the most on one)."""


class DeathClaimRecords(BaseModel):
    """What one moment of a claim decided, written in one transaction keyed by run."""

    key: str
    workflow_id: str
    run_id: str
    employee_id: str
    died_on: date
    coverage_ends_on: date
    status: str
    at: datetime
    end_coverage: bool = False
    """End the current elections, tell the carriers and stop the deductions (the opening write)."""
    life_plan_id: str | None = None
    carrier: str | None = None
    beneficiaries: int = 0
    dependants_cobra: int = 0
    dependants_elect_by: date | None = None
    claim_number: str | None = None
    filed_on: date | None = None
    filed_by: str | None = None
    notify_beneficiaries: bool = False
    """Queue the beneficiaries' notice (the addresses are read from the election row)."""
    audits: list[AuditInput] = Field(default_factory=list)
    notices: list[NotifyInput] = Field(default_factory=list)


class ClaimWritten(BaseModel):
    delegates: dict[str, list[str]] = Field(default_factory=dict)
    beneficiaries_told: int = 0


class DeathClaimStatus(BaseModel):
    workflow_id: str
    employee_id: str
    stage: str
    coverage_ends_on: date | None = None
    life_plan_id: str | None = None
    carrier: str | None = None
    beneficiaries: int = 0
    claim_number: str | None = None
    filed_on: date | None = None
    dependants_cobra: int = 0
    dependants_elect_by: date | None = None
    outcome: str | None = None
    open_steps: list[StepSnapshot] = Field(default_factory=list)
    closed_steps: list[StepSnapshot] = Field(default_factory=list)


class DeathClaimResult(BaseModel):
    workflow_id: str
    employee_id: str
    outcome: str
    claim_number: str | None = None
    beneficiaries_told: int = 0
    dependants_cobra: int = 0
