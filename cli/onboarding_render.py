"""What ``hr onboarding status`` and ``hr probation status`` print.

Pure functions from the workflows' status queries to text; ids and codes only (names stay in
the store). ``cli/render.py`` holds what every command shares (times, steps, receipts).
"""

from __future__ import annotations

from temporalio.client import WorkflowExecution

from cli.render import fmt_time, render_step
from cli.support import one_line
from schemas import onboarding as ob


def _state(execution: WorkflowExecution | None) -> str:
    return execution.status.name.title() if execution is not None and execution.status else "Unknown"


def task_state(view: ob.TaskView) -> str:
    """A task's state for people: open, done by whom and when (late), re-opened, waiting."""
    if view.state == ob.COMPLETED:
        text = f"done by {view.completed_by} {fmt_time(view.completed_at)}"
        if view.late:
            text += " LATE"
    elif view.state == ob.WAITING:
        text = "waiting (opens once its orientation is scheduled)"
    else:
        text = view.state
    if view.times_reopened:
        text += f" (re-opened {view.times_reopened}x)"
    return text


def render_onboarding(
    execution: WorkflowExecution | None,
    s: ob.OnboardingStatus,
    probation: tuple[WorkflowExecution | None, ob.ProbationStatus] | None = None,
) -> str:
    """The onboarding for people: the employee, every task (owner, due date, state, what was
    recorded), the command that completes one, and the probation."""
    where = ", ".join(
        x
        for x in (
            s.class_code,
            s.position_id,
            f"department {s.department_code}" if s.department_code else None,
            f"supervisor {s.supervisor_id}" if s.supervisor_id else None,
        )
        if x
    )
    lines = [
        f"{s.workflow_id}  Onboarding  {_state(execution)}",
        f"  employee: {s.employee_id}, starts {s.starts_on}" + (f" ({where})" if where else ""),
        f"  requested by: {s.requested_by}",
        f"  stage: {s.stage}" + (f"; outcome: {s.outcome}" if s.outcome else ""),
        "  tasks:",
        f"    {'TASK':<26} {'OWNER':<38} {'DUE':<21} STATE",
    ]
    for view in s.tasks:
        owner = f"{view.owner}: {', '.join(view.owner_ids)}"
        lines.append(f"    {view.task:<26} {owner:<38} {fmt_time(view.due_at):<21} {task_state(view)}")
        if view.detail:
            lines.append(f"      {view.decision}: {one_line(view.detail)}")
    if any(v.state in (ob.OPEN, ob.REOPENED) for v in s.tasks):
        lines.append(f"  complete a task as its owner: hr onboarding done {s.employee_id} <task> --as <id>")
    if s.probation is not None:
        lines.append(f"  probation: {s.probation.workflow_id} {s.probation.outcome or 'running'}")
    if probation is not None:
        lines += ["", render_probation(*probation)]
    return "\n".join(lines)


def render_probation(execution: WorkflowExecution | None, s: ob.ProbationStatus) -> str:
    """The probation for people: its end, reminders, the CJIS clearance, an extension, the
    decision and the outcome, and the open steps."""
    lines = [
        f"{s.workflow_id}  Probation  {_state(execution)}",
        f"  employee: {s.employee_id} from {s.starts_on}; supervisor {s.supervisor_id or '-'}; "
        f"position {s.position_id or '-'}",
        f"  stage: {s.stage}",
        f"  ends: {s.ends_on or '-'} (timer {fmt_time(s.ends_at)})",
    ]
    if s.reminders_sent:
        lines.append("  supervisor reminded: " + ", ".join(f"{d} days before" for d in s.reminders_sent))
    if s.cjis_required:
        cjis = f"cleared {s.cjis_cleared_on}" if s.cjis_cleared_on else "not on record"
        lines.append(
            f"  CJIS clearance: {cjis}" + (" (escalated to the HR supervisor)" if s.cjis_escalated else "")
        )
    if s.extension is not None:
        e = s.extension
        lines.append(
            f"  extended: by {e.days} days, {e.from_ends_on} to {e.to_ends_on} ({e.decided_by}, "
            f"concurred by {e.concurred_by}): {one_line(e.reason)}"
        )
    if s.outcome is not None:
        extra = f" from {s.permanent_on}" if s.permanent_on else ""
        extra += f"; separation {s.action_workflow_id}" if s.action_workflow_id else ""
        lines.append(f"  outcome: {s.outcome}{extra}")
    lines.append("  open steps:" + ("" if s.open_steps else " none"))
    for step in s.open_steps:
        lines += render_step(step, open_=True)
    return "\n".join(lines)
