"""What a decision carries beyond its word and comment: one typed payload per kind of answer.

A step says which decision needs which kind (``StepSpec.details``); the shared decision check
refuses a decision whose details are missing, of another kind, or given where none are asked.
Each process's payloads live here, tagged by ``kind``, so a plain signal from the ``temporal``
CLI carries them as ``"details": {"kind": "board_resolution", "resolution_number": "26-0412R"}``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from schemas.benefits import PLAN_KINDS, Beneficiary, Dependant, PlanChoice
from schemas.limits import Day, Id, LongText, reason


class _Details(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


# ----- job-description review (seeds 003, 002) ----------------------------------------------------


class RevisedText(_Details):
    """HR's revised (or first) draft of the description."""

    kind: Literal["revised_text"] = "revised_text"
    text: LongText


class BoardResolution(_Details):
    """The Civil Service Board's approval: its resolution number and, if not the scheduled one,
    the meeting date."""

    kind: Literal["board_resolution"] = "board_resolution"
    resolution_number: Annotated[Id, StringConstraints(strip_whitespace=True)]
    meeting_date: Day | None = None


# ----- recruitment (seed 001) -----------------------------------------------------------------------


class Selection(_Details):
    """The hiring department's choice among the certified names."""

    kind: Literal["selection"] = "selection"
    applicant_id: Annotated[str, StringConstraints(pattern=r"^A\d{3,6}$")]


# ----- onboarding and probation (seeds 000, 004) ---------------------------------------------------


class OrientationDate(_Details):
    """The day HR scheduled an orientation for (the employee is told it)."""

    kind: Literal["orientation_date"] = "orientation_date"
    on: Day


MAX_EXTENSION_DAYS = 180
"""A probation is extended once, by at most six months."""


class ProbationExtension(_Details):
    """The supervisor's extension of a probation: by how many days (the reason is the comment)."""

    kind: Literal["probation_extension"] = "probation_extension"
    days: int = Field(ge=1, le=MAX_EXTENSION_DAYS)


# ----- leave (seeds 003, 000) ----------------------------------------------------------------------


class TpaClaim(_Details):
    """The third-party administrator's decision on a workers' compensation claim: its number."""

    kind: Literal["tpa_claim"] = "tpa_claim"
    claim_number: Annotated[Id, StringConstraints(strip_whitespace=True)]


class FitnessForDuty(_Details):
    """The fitness-for-duty certificate an employee returns with: the day it was signed."""

    kind: Literal["fitness_for_duty"] = "fitness_for_duty"
    certified_on: Day


class LeaveExtension(_Details):
    """A leave extended: its new last day (the reason is the comment)."""

    kind: Literal["leave_extension"] = "leave_extension"
    ends_on: Day


# ----- benefits enrollment (seeds 000, 003) ----------------------------------------------------------


class BenefitElections(_Details):
    """The employee's elections: one plan and tier per kind chosen, and the dependants covered
    (their dates of birth travel only inside payloads, which the codec encrypts)."""

    kind: Literal["benefit_elections"] = "benefit_elections"
    plans: list[PlanChoice] = Field(min_length=1, max_length=len(PLAN_KINDS))
    dependants: list[Dependant] = Field(default_factory=list, max_length=20)
    beneficiaries: list[Beneficiary] = Field(default_factory=list, max_length=10)
    """Who the life plan elected pays at death (shares totalling 100 percent); none: the estate."""


# ----- death claims (seed 003: "process death claims") ---------------------------------------------


class LifeClaimFiled(_Details):
    """HR filed the life-insurance claim with the carrier: the carrier's claim number and the day."""

    kind: Literal["life_claim_filed"] = "life_claim_filed"
    claim_number: Annotated[Id, StringConstraints(strip_whitespace=True, min_length=1)]
    filed_on: Day


DecisionDetails = Annotated[
    RevisedText
    | BoardResolution
    | Selection
    | OrientationDate
    | ProbationExtension
    | TpaClaim
    | FitnessForDuty
    | LeaveExtension
    | BenefitElections
    | LifeClaimFiled,
    Field(discriminator="kind"),
]
"""Every kind of details a decision may carry, told apart by ``kind``."""

_ADAPTER: TypeAdapter[DecisionDetails] = TypeAdapter(DecisionDetails)


def parse_details(raw: dict[str, Any]) -> DecisionDetails:
    """The typed details of a decision as sent (a JSON object with its ``kind``).

    Raises:
        ValueError: with a one-line reason that names the fields, never their values.
    """
    try:
        return _ADAPTER.validate_python(raw)
    except ValidationError as err:
        raise ValueError(reason(err)) from None


def as_sent(details: DecisionDetails) -> dict[str, Any]:
    """Details as a decision carries them (``DecisionInput.details``): a JSON object."""
    return details.model_dump(mode="json")
