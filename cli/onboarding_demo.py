"""The scripted demo of onboarding and probation: a recruitment's hire to permanent status.

``run_onboarding_demo`` runs seed 001's recruitment (``cli/recruitment_demo.py``) to its hire,
starting tomorrow, with a probation of ``HR_DEMO_PROBATION`` (settings, default one minute: a
length under a day counts from the moment the probation starts). The hire starts the onboarding;
the demo completes every task as its owner would, through the same ``decide`` Update that
``hr onboarding done`` sends: payroll enters the appointment, the IT service desk closes its four
work orders, HR schedules both orientations for today (the employee is told) and confirms
attendance, the employee acknowledges the policies. The probation's timer runs out; the
supervisor passes the employee and HR concurs: permanent status.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowHandle

from cli.demo import workflow_url
from cli.onboarding_render import render_onboarding
from cli.recruitment_demo import run_recruitment_demo
from cli.render import fmt_time
from cli.temporal import update
from schemas import onboarding as ob
from schemas.decision_details import OrientationDate, as_sent
from schemas.employment import onboarding_workflow_id
from schemas.human_step import DecisionInput, DecisionReceipt
from schemas.tables import EmploymentEvent
from service.settings import Settings

STALL_SECONDS = 120.0
"""The demo gives up when what it waits for has not happened after this long."""
START_IN_DAYS = 1
NOTES = {
    ob.PAYROLL: "Entered in payroll at step 1",
    ob.IT_ACCOUNT: "Network account and mailbox created",
    ob.IT_DESKTOP: "Desktop asset 4471 installed",
    ob.IT_VOICE_DATA: "Port 3-14 patched",
    ob.IT_PHONE: "Extension 4417; directory updated",
    ob.POLICIES: "Read and acknowledged",
}


async def _wait(what: str, fetch: Callable[[], Any], ready: Callable[[Any], bool], seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        current = await fetch()
        if ready(current):
            return current
        if time.monotonic() > deadline:
            raise TimeoutError(f"the demo did not reach {what}; is a worker polling the task queue?")
        await asyncio.sleep(0.25)


async def _complete_tasks(
    handle: WorkflowHandle[Any, Any], echo: Callable[[str], None], stall: float
) -> ob.OnboardingStatus:
    """Answers every open task as its first owner until the probation has started."""
    answered: set[str] = set()
    deadline = time.monotonic() + stall
    today = datetime.now(timezone.utc).date()
    while True:
        status = await handle.query("status", result_type=ob.OnboardingStatus)
        if status.probation is not None:
            return status
        steps = {s.step_id: s for s in status.open_steps}
        for view in status.tasks:
            step = steps.get(view.step_id or "")
            if step is None or not step.pending or step.step_id in answered:
                continue
            scheduling = view.decision == ob.SCHEDULED
            answer = DecisionInput(
                actor_id=step.pending[0],
                decision=view.decision,
                step_id=step.step_id,
                comment=NOTES.get(view.task),
                details=as_sent(OrientationDate(on=today)) if scheduling else None,
            )
            receipt = await update(handle, "decide", answer, DecisionReceipt)
            answered.add(step.step_id)
            deadline = time.monotonic() + stall
            extra = f" for {today} (the employee is told)" if scheduling else ""
            extra += f": {answer.comment}" if answer.comment else ""
            echo(f"  {view.task} ({view.owner}): {receipt.actor_id} {receipt.decision}{extra}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the demo onboarding {handle.id} made no progress (stage {status.stage})")
        await asyncio.sleep(0.25)


async def run_onboarding_demo(
    client: Client,
    settings: Settings,
    engine: Engine,
    *,
    echo: Callable[[str], None] = print,
    stall_seconds: float = STALL_SECONDS,
) -> ob.OnboardingResult:
    """Runs a recruitment to its hire, then the hire's onboarding and probation; the result."""
    hired = await run_recruitment_demo(
        client,
        settings,
        engine,
        echo=echo,
        stall_seconds=stall_seconds,
        start_in=timedelta(days=START_IN_DAYS),
        probation=settings.demo_probation,
    )
    if hired.employee_id is None:
        raise RuntimeError(f"the demo recruitment ended {hired.outcome} without a hire")
    employee = hired.employee_id
    handle = client.get_workflow_handle(onboarding_workflow_id(employee), result_type=ob.OnboardingResult)
    echo(f"onboarding {handle.id}, started by the hire (the recruitment did not wait for it)")
    echo(f"  {workflow_url(settings, handle.id)}")
    status = await _wait(
        "the onboarding's tasks",
        lambda: handle.query("status", result_type=ob.OnboardingStatus),
        lambda s: bool(s.open_steps),
        stall_seconds,
    )
    echo(
        f"  {len(status.tasks)} tasks, starting {status.starts_on}: "
        + ", ".join(f"{t.task} ({t.owner})" for t in status.tasks)
    )
    status = await _complete_tasks(handle, echo, stall_seconds)
    assert status.probation is not None
    probation = client.get_workflow_handle(status.probation.workflow_id)
    serving = await _wait(
        "the probation",
        lambda: probation.query("status", result_type=ob.ProbationStatus),
        lambda s: s.ends_at is not None,
        stall_seconds,
    )
    echo(
        f"probation {probation.id}: ends {fmt_time(serving.ends_at)} "
        f"(HR_DEMO_PROBATION={settings.demo_probation}); the timer runs"
    )
    echo(f"  {workflow_url(settings, probation.id)}")
    left = (serving.ends_at - datetime.now(timezone.utc)).total_seconds()
    decision = await _wait(
        "the supervisor's decision",
        lambda: probation.query("status", result_type=ob.ProbationStatus),
        lambda s: any(st.step_id == "decision-1" and st.pending for st in s.open_steps),
        max(left, 0) + stall_seconds,
    )
    step = next(s for s in decision.open_steps if s.step_id == "decision-1")
    answer = DecisionInput(
        actor_id=step.pending[0], decision=ob.PASS, step_id=step.step_id, comment="Meets the standard"
    )
    receipt = await update(probation, "decide", answer, DecisionReceipt)
    echo(f"  {receipt.step_id}: {receipt.actor_id} (supervisor) {receipt.decision}: {answer.comment}")
    concurrence = await _wait(
        "HR's concurrence",
        lambda: probation.query("status", result_type=ob.ProbationStatus),
        lambda s: any(st.step_id == "concurrence-1" and st.pending for st in s.open_steps),
        stall_seconds,
    )
    step = next(s for s in concurrence.open_steps if s.step_id == "concurrence-1")
    receipt = await update(
        probation,
        "decide",
        DecisionInput(actor_id=step.pending[0], decision=ob.CONCUR, step_id=step.step_id),
        DecisionReceipt,
    )
    echo(f"  {receipt.step_id}: {receipt.actor_id} (HR) {receipt.decision}")
    result: ob.OnboardingResult = await asyncio.wait_for(handle.result(), stall_seconds)
    execution = await handle.describe()
    final = await handle.query("status", result_type=ob.OnboardingStatus)
    ended = await probation.query("status", result_type=ob.ProbationStatus)
    echo(render_onboarding(execution, final, (await probation.describe(), ended)))
    with Session(engine) as session:
        events = session.exec(
            select(EmploymentEvent)
            .where(EmploymentEvent.employee_id == employee)
            .order_by(col(EmploymentEvent.id))
        ).all()
    echo(f"employment history of {employee}: " + "; ".join(f"{e.kind} {e.effective_on}" for e in events))
    echo(f"finished {handle.id}: {result.outcome}")
    echo(f"open it in the Web UI: {workflow_url(settings, handle.id)}")
    return result
