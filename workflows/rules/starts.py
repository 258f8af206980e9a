"""Who may start which process: the one table, read by the client (whose credential a start
carries) and by the workflow (whether the starter may start it). Pure: no I/O, no clock.

Each process names its starter in one field of its input (``requested_by`` for all of them
today); HR staff (the directory's HR roles) may start every process, and an employee may start
a few for themself (``self_service``). A recruitment starts its ``EligibilityRegister`` as a
child (children are never checked: their parent was); HR staff may open one directly, naming
themselves in ``requested_by``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

REQUESTED_BY = "requested_by"


def _field(inp: Any, name: str) -> Any:
    return inp.get(name) if isinstance(inp, Mapping) else getattr(inp, name, None)


def _own_leave(inp: Any, starter: str) -> bool:
    return _field(inp, "employee_id") == starter


def _own_resignation(inp: Any, starter: str) -> bool:
    return _field(inp, "kind") == "resignation" and _field(inp, "employee_id") == starter


def _own_life_event(inp: Any, starter: str) -> bool:
    return _field(inp, "event") == "life_event" and _field(inp, "employee_id") == starter


@dataclass(frozen=True)
class StartRule:
    """Who may start one process: the input field naming the starter (None: no one from
    outside), what it is (for the refusal), and what an employee may start for themself."""

    what: str
    starter_field: str | None = REQUESTED_BY
    self_service: Callable[[Any, str], bool] | None = None
    self_service_text: str = ""


JD_SWEEP_SCHEDULE_ID = "hr-jd-review-sweep-yearly"
OPEN_ENROLLMENT_SCHEDULE_ID = "open-enrollment-yearly"
SERVICE_SCHEDULES: Mapping[str, str] = {
    JD_SWEEP_SCHEDULE_ID: "ScheduledReviewSweep",
    OPEN_ENROLLMENT_SCHEDULE_ID: "OpenEnrollment",
}
"""The service's own schedules (``hr admin setup``) and the one process each starts. A run one of
them started carries no person's credential and is not checked; a run of any other schedule (one
made by hand in the UI or the ``temporal`` CLI) is checked like any start."""


def started_by_service_schedule(schedule_id: str, workflow_type: str) -> bool:
    """Whether ``schedule_id`` is one of the service's schedules and starts ``workflow_type``."""
    return SERVICE_SCHEDULES.get(schedule_id) == workflow_type


START_RULES: dict[str, StartRule] = {
    "JobDescriptionReview": StartRule("request a job-description review"),
    "JobDescriptionReviewSweep": StartRule("start a job-description review sweep"),
    "ScheduledReviewSweep": StartRule("start the scheduled review sweep"),
    "Recruitment": StartRule("open a recruitment"),
    "EligibilityRegister": StartRule("open an eligibility register"),
    "Onboarding": StartRule("start an onboarding"),
    "Probation": StartRule("start a probation"),
    "PersonnelAction": StartRule(
        "request a personnel action", self_service=_own_resignation, self_service_text="their own resignation"
    ),
    "Leave": StartRule("request a leave", self_service=_own_leave, self_service_text="their own leave"),
    "BenefitsEnrollment": StartRule(
        "start a benefits enrollment",
        self_service=_own_life_event,
        self_service_text="their own life-event enrollment",
    ),
    "OpenEnrollment": StartRule("start open enrollment"),
    "DeathClaim": StartRule("open a death claim"),
}
"""Every process the worker runs (``worker.WORKFLOWS``; a unit test keeps them in step)."""


def subject_of(inp: Any) -> dict[str, str]:
    """The few fields of an input the self-service rules read (for the start check's record)."""
    fields = {name: _field(inp, name) for name in ("employee_id", "kind", "event")}
    return {name: value for name, value in fields.items() if isinstance(value, str)}


def starter_of(workflow_type: str, args: Any) -> str | None:
    """The person a start's input names as its starter (the first argument's field of the
    process's rule), or None (not one of the table's processes, or it names none)."""
    rule = START_RULES.get(workflow_type)
    if rule is None or rule.starter_field is None or not args:
        return None
    value = _field(args[0], rule.starter_field)
    return value if isinstance(value, str) and value else None


def start_refusal(workflow_type: str, inp: Any, starter: str, hr_staff: Iterable[str]) -> str | None:
    """Why ``starter`` may not start this process with ``inp``; None when they may."""
    rule = START_RULES.get(workflow_type)
    if rule is None:
        return f"{workflow_type} is not a process of this service"
    if rule.starter_field is None:
        return f"no one may {rule.what} directly: a recruitment opens it"
    if starter in set(hr_staff):
        return None
    if rule.self_service is not None and rule.self_service(inp, starter):
        return None
    also = f"; an employee may start only {rule.self_service_text}" if rule.self_service else ""
    return f"{starter} has no HR role and may not {rule.what}{also}"
