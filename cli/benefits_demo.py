"""The scripted demo of open enrollment: ``hr demo --open-enrollment``.

``run_open_enrollment_demo`` runs open enrollment for the demo city (every active employee) with
a short window (``DEMO_WINDOW``): the bulk run starts one enrollment per employee; three of them
answer as the employees would, through the same ``decide`` Update that ``hr benefits elect``
sends (E1006 elects family medical and dental for a spouse and a child, E1012 moves to employee
and spouse coverage, E1010 waives), HR (E1008) audits and approves each election as
``hr benefits audit`` does, the window closes and everyone else's current elections carry over.
Each run uses a coverage year of its own (the first after any already on record), so the demo can
run again on the same server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from cli.demo import workflow_url
from schemas import benefits as bn
from schemas.benefits_records import EnrollmentStatus
from schemas.benefits_tables import BenefitEnrollment
from schemas.decision_details import BenefitElections, as_sent
from schemas.human_step import DecisionInput
from service.settings import Settings

DEMO_WINDOW = timedelta(seconds=60)
HR = "E1008"
SCRIPT: dict[str, tuple[str, BenefitElections | None]] = {
    "E1006": (
        bn.ELECT,
        BenefitElections(
            plans=[
                bn.PlanChoice(plan_id="MED-PPO", tier="family"),
                bn.PlanChoice(plan_id="DEN-DELTA", tier="family"),
                bn.PlanChoice(plan_id="VIS-VSP", tier="family"),
            ],
            dependants=[
                bn.Dependant(relation="spouse", date_of_birth=date(1986, 5, 14)),
                bn.Dependant(relation="child", date_of_birth=date(2016, 9, 2)),
            ],
        ),
    ),
    "E1012": (
        bn.ELECT,
        BenefitElections(
            plans=[bn.PlanChoice(plan_id="MED-PPO", tier="employee_spouse")],
            dependants=[bn.Dependant(relation="domestic_partner", date_of_birth=date(1990, 1, 23))],
        ),
    ),
    "E1010": (bn.WAIVE, None),
}


def demo_year(engine: Engine) -> int:
    with Session(engine) as s:
        latest = s.exec(select(func.max(BenefitEnrollment.year))).one()
    return max(date.today().year + 1, (latest or 0) + 1)


async def _status_when(
    child: Any, predicate: Callable[[EnrollmentStatus], bool], what: str
) -> EnrollmentStatus:
    """The enrollment's status once ``predicate`` holds (60 s at most)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            status = EnrollmentStatus.model_validate(await child.query("status"))
            if predicate(status):
                return status
        except RPCError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{child.id} did not {what}; is a worker polling?")
        await asyncio.sleep(0.3)


async def run_open_enrollment_demo(
    client: Client,
    settings: Settings,
    engine: Engine,
    *,
    echo: Callable[[str], None] = print,
    window: timedelta = DEMO_WINDOW,
) -> bn.OpenEnrollmentProgress:
    """Runs the scripted open enrollment to its end and returns its progress (stage ``done``)."""
    year = demo_year(engine)
    closes_at = datetime.now(timezone.utc) + window
    handle = await client.start_workflow(
        bn.OPEN_ENROLLMENT_WORKFLOW,
        bn.OpenEnrollmentInput(year=year, requested_by=HR, closes_at=closes_at, window=10, poll_every=5),
        id=bn.open_enrollment_workflow_id(year),
        task_queue=settings.task_queue,
        result_type=bn.OpenEnrollmentProgress,
        static_summary=f"Open enrollment {year} (demo)",
    )
    echo(f"started {handle.id}: every active employee, the windows close {closes_at:%H:%M:%S} UTC")
    echo(f"  {workflow_url(settings, handle.id)}")
    for employee, (decision, details) in SCRIPT.items():
        child = client.get_workflow_handle(f"benefits-{employee}-open-{year}")
        await _status_when(child, lambda s: bool(s.open_steps), "open its window")
        answer = DecisionInput(
            actor_id=employee,
            decision=decision,
            step_id="elections",
            details=as_sent(details) if details else None,
        )
        try:
            await child.execute_update("decide", answer)
        except WorkflowUpdateFailedError as err:
            echo(f"  {employee}: {decision} refused: {err.cause}")
            continue
        chosen = ", ".join(f"{c.plan_id} {c.tier}" for c in details.plans) if details else "-"
        echo(f"  {employee}: {decision} {chosen}")
        if decision == bn.ELECT:  # HR audits the election before anything is recorded
            await _status_when(
                child, lambda s: s.stage == bn.AUDITING and bool(s.open_steps), "open HR's audit"
            )
            await child.execute_update("decide", DecisionInput(actor_id=HR, decision=bn.AUDIT_APPROVE))
            echo(f"  {HR}: audited {employee}'s election: approved")
    echo("waiting for the windows to close; everyone else's elections carry over …")
    last: Any = None
    while True:
        progress = await handle.query("status", result_type=bn.OpenEnrollmentProgress)
        line = (
            f"  {progress.stage}: started {progress.started}, elected {progress.elected}, "
            f"defaulted {progress.defaulted}, open {progress.open}"
        )
        if line != last:
            echo(line)
            last = line
        if progress.stage == bn.DONE:
            break
        await asyncio.sleep(1)
    result: bn.OpenEnrollmentProgress = await handle.result()
    echo(f"finished {handle.id}: {result.elected} answered, {result.defaulted} carried over")
    return result
