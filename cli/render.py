"""What the ``hr`` command line prints: times, status snapshots, inbox rows, receipts, counts.

Pure functions from data to text; the commands echo what they return.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from temporalio.client import WorkflowExecution

from cli.support import one_line
from schemas.human_step import DecisionReceipt, StepSnapshot
from schemas.jd_review import SweepResult
from schemas.search_attributes import HR_DUE_AT, HR_STAGE


def fmt_time(value: datetime | None) -> str:
    """``2026-03-01 14:05 UTC``; a naive time is taken as UTC; None is ``-``."""
    if value is None:
        return "-"
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return f"{value.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"


def render_step(step: StepSnapshot, *, open_: bool) -> list[str]:
    """A step's line, for an open step who may answer what and who is pending, then its answers."""
    lines = [f"    {step.step_id}  {step.title}  (due {fmt_time(step.due_at)})"]
    if open_:
        lines.append(f"      allowed: {', '.join(step.allowed)}  (answer with `{step.answer_with}`)")
        lines.append(f"      waiting for: {', '.join(step.pending) if step.pending else '-'}")
    for answer in step.answers:
        who = (
            answer.actor_id
            if answer.actor_id == answer.person_id
            else f"{answer.actor_id} for {answer.person_id}"
        )
        extra = f" ({answer.source})" if answer.source != "update" else ""
        comment = f": {one_line(answer.comment)}" if answer.comment else ""
        lines.append(f"      {who} {answer.decision}{extra} at {fmt_time(answer.at)}{comment}")
    return lines


def render_status(execution: WorkflowExecution, raw: dict[str, Any]) -> str:
    """The ``status`` query's result for people: the fields, then open and closed steps."""
    status_name = execution.status.name.title() if execution.status else "Unknown"
    lines = [f"{execution.id}  {execution.workflow_type}  {status_name}"]
    for key, value in raw.items():
        if key in ("workflow_id", "open_steps", "closed_steps") or value is None:
            continue
        if isinstance(value, (dict, list)):
            value = json.dumps(value, default=str)
        lines.append(f"  {key.replace('_', ' ')}: {value}")
    for key, label, open_ in (("open_steps", "open steps", True), ("closed_steps", "closed steps", False)):
        if key not in raw:
            continue
        steps = [StepSnapshot.model_validate(s) for s in raw[key] or []]
        lines.append(f"  {label}:" + ("" if steps else " none"))
        for step in steps:
            lines += render_step(step, open_=open_)
    return "\n".join(lines)


def render_inbox(person_id: str, rows: list[tuple[WorkflowExecution, str | None]], now: datetime) -> str:
    """A table of what waits for ``person_id``; ``!`` marks a due time before ``now``."""
    if not rows:
        return f"nothing is waiting for {person_id}"
    lines = [f"{'WORKFLOW ID':<34} {'TYPE':<28} {'STAGE':<14} {'DUE':<22} FOR"]
    for execution, for_whom in rows:
        attrs = execution.typed_search_attributes
        due = attrs.get(HR_DUE_AT)
        if due is not None and due.tzinfo is None:
            due = due.replace(tzinfo=timezone.utc)
        due_text = fmt_time(due)
        if due is not None and due < now:
            due_text += " !"
        lines.append(
            f"{execution.id:<34} {execution.workflow_type:<28} {attrs.get(HR_STAGE) or '-':<14} "
            f"{due_text:<22} {('for ' + for_whom) if for_whom else 'you'}"
        )
    return "\n".join(lines)


def render_receipt(receipt: DecisionReceipt) -> str:
    """The line confirming a recorded decision."""
    actor = receipt.actor_id
    if receipt.person_id != receipt.actor_id:
        actor += f" for {receipt.person_id}"
    state = "step closed" if receipt.step_closed else "step still open"
    return (
        f"recorded {receipt.decision} by {actor} on {receipt.workflow_id} step {receipt.step_id} "
        f"at {fmt_time(receipt.at)} ({state})"
    )


def render_sweep(result: SweepResult) -> str:
    """How many reviews a sweep started and how many it found already running or done."""
    noun = "review" if result.started == 1 else "reviews"
    line = f"started {result.started} {noun}, {result.already_started} already running or done"
    if not result.done:
        line += f" so far (last classification handled: {result.cursor or '-'})"
    return line


def render_seeded(seeded: tuple[int, dict[str, int]]) -> str:
    """The line after seeding: rows created, then the count of each table."""
    created, counts = seeded
    return f"store seeded ({created} rows created): " + ", ".join(f"{n} {name}" for name, n in counts.items())
