"""The scripted demo of a leave (``hr demo --leave``): request to referral, on the seeded city.

``run_leave_demo`` gives employee E1025 (a maintenance worker of Public Works) what payroll and
the employment history would hold (an appointment three years ago, 26 pay periods of 80 hours),
then requests an intermittent medical leave of three months starting after any leave already on
record. The employee submits the certification (the diagnosis goes to the store through the
encrypted payload), the supervisor acknowledges, HR approves: the designation notice goes out.
Two absences are recorded; a span of workdays beyond the remaining entitlement is refused with
the balance; HR flags the case as difficult and the benefits representative (the HR supervisor in
the seeded city) takes it: the leave ends ``referred``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowHandle

from activities.db import utcnow
from activities.leave import service_start
from cli.demo import workflow_url
from cli.leave import render_leave
from cli.support import CliError
from cli.temporal import update
from schemas import leave as lv
from schemas.human_step import DecisionInput, DecisionReceipt
from schemas.leave_tables import HoursWorked, LeaveRequest
from schemas.tables import EmploymentEvent
from service.settings import Settings

EMPLOYEE = "E1025"
SUPERVISOR = "E1024"
HR_TECHNICIAN = "E1008"
HR_APPROVER = "E1006"
STALL_SECONDS = 120.0


def _payroll_on_record(engine: Engine, today: date) -> None:
    """An appointment three years ago and a year of pay periods, unless already on record."""
    with Session(engine) as session:
        if service_start(session, EMPLOYEE) is None:
            session.add(
                EmploymentEvent(
                    key=f"demo:{EMPLOYEE}:appointed",
                    workflow_id="demo",
                    employee_id=EMPLOYEE,
                    kind="appointed",
                    effective_on=today - timedelta(days=3 * 365),
                    recorded_by=HR_TECHNICIAN,
                    at=utcnow(),
                )
            )
        known = set(
            session.exec(
                select(col(HoursWorked.period_ends_on)).where(HoursWorked.employee_id == EMPLOYEE)
            ).all()
        )
        for n in range(26):
            ends = today - timedelta(days=14 * n + 1)
            if ends not in known:
                session.add(HoursWorked(employee_id=EMPLOYEE, period_ends_on=ends, hours=80))
        session.commit()


def _first_free_day(engine: Engine, today: date) -> date:
    with Session(engine) as session:
        latest = session.exec(
            select(col(LeaveRequest.ends_on))
            .where(LeaveRequest.employee_id == EMPLOYEE)
            .order_by(col(LeaveRequest.ends_on).desc())
        ).first()
    return max(today, latest + timedelta(days=1)) if latest else today


async def _step(handle: WorkflowHandle[Any, Any], step_id: str, stall: float) -> lv.LeaveStatus:
    def pending(status: lv.LeaveStatus) -> bool:
        return any(s.step_id == step_id and s.pending for s in status.open_steps)

    return await _until(handle, pending, step_id, stall)


async def _until(
    handle: WorkflowHandle[Any, Any], reached: Callable[[lv.LeaveStatus], bool], what: str, stall: float
) -> lv.LeaveStatus:
    deadline = time.monotonic() + stall
    while True:
        status = await handle.query("status", result_type=lv.LeaveStatus)
        if reached(status):
            return status
        if status.outcome is not None:
            raise CliError(f"the demo leave ended {status.outcome}: {status.outcome_reason}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the demo leave did not reach {what}; is a worker polling?")
        await asyncio.sleep(0.25)


async def _decide(
    handle: WorkflowHandle[Any, Any], actor: str, decision: str, step_id: str, **kw: Any
) -> str:
    answer = DecisionInput(actor_id=actor, decision=decision, step_id=step_id, **kw)
    receipt = await update(handle, "decide", answer, DecisionReceipt)
    return f"  {receipt.step_id}: {receipt.actor_id} {receipt.decision}"


async def run_leave_demo(
    client: Client,
    settings: Settings,
    engine: Engine,
    *,
    echo: Callable[[str], None] = print,
    stall_seconds: float = STALL_SECONDS,
) -> lv.LeaveResult:
    today = datetime.now(timezone.utc).date()
    await asyncio.to_thread(_payroll_on_record, engine, today)
    starts_on = await asyncio.to_thread(_first_free_day, engine, today)
    ends_on = starts_on + timedelta(days=90)
    inp = lv.LeaveInput(
        employee_id=EMPLOYEE,
        leave_type="medical",
        schedule="intermittent",
        starts_on=starts_on,
        ends_on=ends_on,
        hours=96,
        requested_by=HR_TECHNICIAN,
        reason="Treatment twice a week (demo)",
    )
    handle = await client.start_workflow(
        lv.LEAVE_WORKFLOW,
        inp,
        id=lv.leave_workflow_id(EMPLOYEE, starts_on),
        task_queue=settings.task_queue,
        result_type=lv.LeaveResult,
        static_summary=f"Leave of {EMPLOYEE} from {starts_on}",
    )
    echo(f"leave {handle.id}: intermittent, {starts_on} to {ends_on}, 96 hours, requested by {HR_TECHNICIAN}")
    echo(f"  {workflow_url(settings, handle.id)}")
    status = await _step(handle, lv.CERTIFICATION_STEP, stall_seconds)
    echo(
        f"  eligible: {status.service_months} months of service, {status.hours_worked:g} hours worked; "
        f"certification due {status.certification_due_at:%Y-%m-%d}"
    )
    refused = DecisionInput(actor_id=EMPLOYEE, decision=lv.CERTIFIED, step_id=lv.CERTIFICATION_STEP)
    try:
        await update(handle, "decide", refused, DecisionReceipt)
    except CliError as err:
        echo(f"  the generic decision: {err}")
    certification = lv.CertificationInput(
        actor_id=EMPLOYEE,
        provider="Valley Clinic",
        diagnosis="(demo) chronic condition",
        comment="letter attached",
    )
    await update(handle, lv.SUBMIT_CERTIFICATION, certification, lv.LeaveStatus)
    echo(f"  {lv.CERTIFICATION_STEP}: {EMPLOYEE} submitted it (the diagnosis goes to the store only)")
    await _step(handle, lv.ACKNOWLEDGEMENT_STEP, stall_seconds)
    echo(await _decide(handle, SUPERVISOR, lv.ACKNOWLEDGED, lv.ACKNOWLEDGEMENT_STEP))
    await _step(handle, lv.APPROVAL_STEP, stall_seconds)
    echo(
        await _decide(handle, HR_APPROVER, lv.APPROVE, lv.APPROVAL_STEP) + "; the designation notice goes out"
    )
    # The approval closes its step; the leave starts once the designation is recorded.
    await _until(handle, lambda status: status.stage == lv.ON_LEAVE, lv.ON_LEAVE, stall_seconds)
    for day, hours in ((starts_on, 4.0), (starts_on + timedelta(days=2), 4.0)):
        absence = lv.AbsenceInput(actor_id=EMPLOYEE, on=day, hours=hours)
        status = await update(handle, lv.RECORD_ABSENCE, absence, lv.LeaveStatus)
        left = f"{status.remaining_hours:g} of {status.entitlement_hours:g} hours left"
        echo(f"  absence {day} {hours:g}h: {left}")
    span = lv.AbsenceInput(actor_id=HR_TECHNICIAN, on=starts_on + timedelta(days=3), through=ends_on, hours=8)
    try:
        await update(handle, lv.RECORD_ABSENCE, span, lv.LeaveStatus)
    except CliError as err:
        echo(f"  every workday to {ends_on} at 8h: {err}")
    difficult = lv.DifficultInput(
        actor_id=HR_TECHNICIAN, reason="Treatment plan unclear; needs the representative"
    )
    await update(handle, lv.FLAG_DIFFICULT, difficult, lv.LeaveStatus)
    status = await _step(handle, lv.REFERRAL_STEP, stall_seconds)
    representative = status.open_steps[0].pending[0]
    echo(f"  flagged difficult by {HR_TECHNICIAN}: referred to {representative}")
    echo(
        await _decide(handle, representative, lv.ACCEPTED, lv.REFERRAL_STEP, comment="Will meet the employee")
    )
    result: lv.LeaveResult = await asyncio.wait_for(handle.result(), stall_seconds)
    final = await handle.query("status", result_type=lv.LeaveStatus)
    echo(render_leave(await handle.describe(), final))
    echo(f"finished {handle.id}: {result.outcome}")
    return result
