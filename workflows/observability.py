"""What operations see of running workflows: the service's metrics and the UI's timeline labels.

Workflow code calls these helpers; they emit through ``workflow.metric_meter()``, which the SDK
skips while replaying, so a metric counts what happened once, however often a history is
replayed, and emitting one adds no command to the history (replay stays deterministic).
The meter labels every metric with the namespace, task queue and ``workflow_type`` (the
process); the helpers add only codes (a step id, an event kind, a reason), never personal data.

Metric names (Prometheus, as exported by the worker's runtime, service/metrics.py):
``hr_processes_started`` / ``hr_processes_completed`` (label ``outcome``), ``hr_steps_opened``
/ ``hr_steps_closed`` (open = opened - closed), ``hr_steps_overdue`` (a step that reached its
escalation), ``hr_step_events`` (label ``kind``), ``hr_decisions_refused`` (label ``reason``),
``hr_starts_refused`` (label ``reason``: starts the signed-start check refused, never counted
as processes started or completed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import workflow
from temporalio.common import MetricCounter

_REASONS: list[tuple[str, str]] = [
    ("is not a respondent", "not_respondent"),
    ("is a delegate of", "delegate_unclear"),
    ("has already answered", "already_answered"),
    ("already answered", "already_answered"),
    ("is closed", "step_closed"),
    ("no step is open", "no_open_step"),
    ("unknown step", "unknown_step"),
    ("several open steps", "step_ambiguous"),
    ("own request", "own_request"),
    ("needs a comment", "comment_required"),
    ("details", "bad_details"),
    ("may not", "not_allowed"),
    ("credential", "bad_credential"),
    ("signature", "bad_credential"),
    ("answered with", "wrong_way"),
    ("not allowed", "decision_not_allowed"),
]

_START_REASONS: list[tuple[str, str]] = [
    ("carries no credential", "no_credential"),
    ("is started by the person it names", "not_the_starter"),
    ("names no starter", "no_starter"),
    ("has no HR role", "not_allowed"),
    ("directly", "started_by_parent_only"),
    ("is not a process of this service", "unknown_process"),
    ("credential", "bad_credential"),
]

_TIMER_LABELS = {
    "reminder": "reminder",
    "escalate": "escalation",
    "overdue_reminder": "overdue reminder",
    "default": "default answer",
}


def refusal_reason(message: str) -> str:
    """A refusal's message as a small, fixed label (the message may name people: never a label)."""
    for needle, label in _REASONS:
        if needle in message:
            return label
    return "other"


def _counter(name: str, description: str) -> MetricCounter | None:
    if not workflow.in_workflow():
        return None
    return workflow.metric_meter().create_counter(name, description)


def _add(name: str, description: str, labels: dict[str, str] | None = None) -> None:
    counter = _counter(name, description)
    if counter is not None:
        counter.add(1, labels or {})


def process_started() -> None:
    _add("hr_processes_started", "Processes (workflow runs) started, by workflow_type")


def process_completed(outcome: str) -> None:
    _add("hr_processes_completed", "Processes ended, by workflow_type and outcome", {"outcome": outcome})


def step_opened(step_id: str) -> None:
    _add("hr_steps_opened", "Human steps opened, by process and step", {"step": step_id})


def step_closed(step_id: str) -> None:
    _add("hr_steps_closed", "Human steps closed, by process and step", {"step": step_id})


def step_event(step_id: str, kind: str) -> None:
    """A step's reminder, escalation, overdue reminder or default answer fired."""
    _add("hr_step_events", "Reminders, escalations and defaults of human steps", {"kind": kind})
    if kind == "escalate":  # once per step: the step is overdue
        _add("hr_steps_overdue", "Human steps that became overdue (escalated)", {"step": step_id})


def decision_refused(message: str) -> None:
    reason = refusal_reason(message)
    _add("hr_decisions_refused", "Answers refused by the human step's check", {"reason": reason})


def start_refusal_reason(message: str) -> str:
    """A refused start's reason as a small, fixed label (the message names people)."""
    for needle, label in _START_REASONS:
        if needle in message:
            return label
    return "other"


def start_refused(message: str) -> None:
    """A start the signed-start check refused (``StartRefused``): not a process started."""
    reason = start_refusal_reason(message)
    _add("hr_starts_refused", "Starts refused by the signed-start check", {"reason": reason})


def timer_summary(kind: str, step_id: str) -> str:
    """What a step's timer waits for, for the UI's timeline: ``reminder review-1``."""
    return f"{_TIMER_LABELS.get(kind, kind)} {step_id}"


def activity_summary(method: Callable[..., Any], arg: Any) -> str:
    """An activity's label in the UI's timeline: its name and the step or template it serves
    (codes only), e.g. ``notify reminder supervisor``."""
    name = getattr(method, "__name__", "activity").replace("_", " ")
    parts = [name]
    params = getattr(arg, "params", None)
    values = [getattr(arg, attr, None) for attr in ("template", "step_id", "action")]
    if isinstance(params, dict):
        values.append(params.get("step_id"))
    for value in values:
        if isinstance(value, str) and value and len(value) <= 64 and value not in parts:
            parts.append(value)
    return " ".join(parts)


def step_records_summary(records: Any) -> str:
    """``record_step``'s label in the UI's timeline: the step and what happened (codes only),
    e.g. ``record step review-1 opened`` or ``record step union-1 agreeable``."""
    parts = ["record step"]
    for audit in getattr(records, "audits", []):
        for value in (audit.step_id, audit.action):
            if value and len(value) <= 64 and value not in parts:
                parts.append(value)
    if len(parts) == 1:
        for notice in getattr(records, "notices", []):
            for value in (notice.params.get("step_id"), notice.template):
                if isinstance(value, str) and value and len(value) <= 64 and value not in parts:
                    parts.append(value)
    return " ".join(parts[:6])
