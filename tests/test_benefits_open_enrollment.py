"""Open enrollment through the bulk parent on the time-skipping server, with real activities,
store and SMTP: a few hundred employees, one child each in a sliding window, continue-as-new
every ``per_run_limit`` children, pause and resume, elections and defaults (carry over) counted
in its progress, and a second run for the same year that starts nothing twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlmodel import Session, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from activities.seed_benefits import seed_benefits
from schemas import benefits as bn
from schemas.benefits_tables import BenefitElection, BenefitEnrollment
from schemas.tables import Person
from tests.benefits_harness import Benefits, elections
from tests.conftest import _city_at_work
from tests.harness_common import poll_until

EMPLOYEES = 220
PER_RUN = 60


@pytest_asyncio.fixture(loop_scope="session")
async def benefits(time_skipping_env, engine, db_url, smtp):
    async with _city_at_work(time_skipping_env, engine, db_url, smtp) as parts:
        yield Benefits(**parts)


def _many(benefits: Benefits, n: int) -> list[str]:
    ids = [f"E{5000 + i}" for i in range(n)]
    with Session(benefits.engine) as s:
        for person_id in ids:
            s.add(
                Person(
                    id=person_id,
                    name=f"Employee {person_id}",
                    email=f"{person_id.lower()}@city.example",
                    title="Clerk",
                    department_code="PW",
                    supervisor_id="E1011",
                    roles=["employee"],
                    employment_status="permanent",
                )
            )
        s.commit()
    seed_benefits(benefits.engine, people=ids)
    return ids


async def _start(benefits: Benefits, year: int, **fields) -> object:  # type: ignore[no-untyped-def]
    closes_at = await benefits.now() + timedelta(days=10)
    return await benefits.client.start_workflow(
        bn.OPEN_ENROLLMENT_WORKFLOW,
        bn.OpenEnrollmentInput(year=year, requested_by="E1008", closes_at=closes_at, **fields),
        id=bn.open_enrollment_workflow_id(year),
        task_queue=benefits.task_queue,
        result_type=bn.OpenEnrollmentProgress,
    )


async def test_open_enrollment_for_a_few_hundred_continues_as_new_pauses_and_never_starts_twice(
    benefits: Benefits,
):
    _many(benefits, EMPLOYEES)
    with Session(benefits.engine) as s:
        everyone = len(s.exec(select(Person.id).where(Person.active)).all())
    handle = await _start(
        benefits, 2027, window=25, per_run_limit=PER_RUN, page_size=40, wait_for_outcomes=False
    )

    async def progress() -> bn.OpenEnrollmentProgress:
        while True:
            try:
                return await handle.query("status", result_type=bn.OpenEnrollmentProgress)  # type: ignore[attr-defined]
            except RPCError:  # a run that just continued as new, or a worker busy starting children
                await asyncio.sleep(0.2)

    # Once the start is checked (signed starts) and the run has read HR staff from the directory.
    await poll_until(progress, lambda p: p.started + p.in_flight > 0, timeout=30)
    not_hr = bn.PauseInput(actor_id="E5001")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update("pause", not_hr)  # type: ignore[attr-defined]
    assert "E5001 may not pause open enrollment" in str(refused.value.cause)
    paused = await handle.execute_update(  # type: ignore[attr-defined]
        "pause", bn.PauseInput(actor_id="E1008"), result_type=bn.OpenEnrollmentProgress
    )
    assert paused.paused and paused.stage == bn.PAUSED
    held = paused.started + paused.in_flight
    await asyncio.sleep(0.5)
    assert (await progress()).started <= held  # nothing new starts while paused
    await handle.execute_update("resume", bn.PauseInput(actor_id="E1008"))  # type: ignore[attr-defined]

    result: bn.OpenEnrollmentProgress = await handle.result()  # type: ignore[attr-defined]
    assert (result.stage, result.started, result.already_started, result.failed) == (bn.DONE, everyone, 0, 0)
    assert result.runs >= everyone // PER_RUN + 1  # continued as new every PER_RUN children
    first_run = benefits.client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)  # type: ignore[attr-defined]
    history = await first_run.fetch_history()
    assert len(history.events) < 12 * PER_RUN  # one run's history is bounded by its children

    async def enrolled() -> set[str]:
        with Session(benefits.engine) as s:
            rows = s.exec(select(BenefitEnrollment).where(BenefitEnrollment.year == 2027)).all()
            return {r.workflow_id for r in rows}

    await poll_until(enrolled, lambda ids: len(ids) == everyone, timeout=120)  # each child opened its window
    e5003 = benefits.client.get_workflow_handle("benefits-E5003-open-2027", result_type=bn.EnrollmentResult)
    status = await benefits.electing(e5003)
    assert "MED-HMO-PW" in status.offered  # Public Works
    await benefits.decide(e5003, "E5003", bn.ELECT, details=elections({"MED-HMO-PW": "employee_only"}))
    await benefits.audit(e5003)
    assert (await e5003.result()).outcome == bn.ELECTED

    again = await _start(benefits, 2027, window=25, per_run_limit=10_000, wait_for_outcomes=False)
    second: bn.OpenEnrollmentProgress = await again.result()  # type: ignore[attr-defined]
    assert (second.started, second.already_started) == (0, everyone)


async def test_open_enrollment_counts_elections_and_carries_the_rest_over_when_the_windows_close(
    benefits: Benefits,
):
    _many(benefits, 12)
    with Session(benefits.engine) as s:
        everyone = len(s.exec(select(Person.id).where(Person.active)).all())
    handle = await _start(benefits, 2028, window=5, per_run_limit=10_000, poll_every=86_400)

    e5003 = benefits.client.get_workflow_handle("benefits-E5003-open-2028", result_type=bn.EnrollmentResult)
    await benefits.electing(e5003)
    await benefits.decide(e5003, "E5003", bn.ELECT, details=elections({"MED-HMO-PW": "employee_only"}))
    await benefits.audit(e5003)
    e5004 = benefits.client.get_workflow_handle("benefits-E5004-open-2028", result_type=bn.EnrollmentResult)
    await benefits.electing(e5004)
    await benefits.decide(e5004, "E5004", bn.WAIVE)

    async def decided() -> list[str]:
        with Session(benefits.engine) as s:
            rows = s.exec(select(BenefitEnrollment).where(BenefitEnrollment.year == 2028)).all()
            return sorted(r.employee_id for r in rows if r.status != bn.OPEN)

    assert await poll_until(decided, lambda ids: len(ids) == 2, timeout=60) == ["E5003", "E5004"]

    # Waiting for the result skips time: the windows close and the rest carry over.
    result: bn.OpenEnrollmentProgress = await handle.result()  # type: ignore[attr-defined]
    assert (result.stage, result.elected, result.defaulted, result.open) == (bn.DONE, 2, everyone - 2, 0)
    with Session(benefits.engine) as s:
        rows = s.exec(select(BenefitEnrollment).where(BenefitEnrollment.year == 2028)).all()
        assert {r.status for r in rows if r.defaulted} == {bn.CARRIED_OVER}
        medical = s.exec(
            select(BenefitElection)
            .where(BenefitElection.employee_id == "E5003")
            .where(BenefitElection.kind == "medical")
        ).all()
        assert {(e.plan_id, e.status) for e in medical} == {("MED-PPO", "ended"), ("MED-HMO-PW", "current")}
        waived = s.exec(select(BenefitElection).where(BenefitElection.employee_id == "E5004")).all()
        assert {e.status for e in waived} == {"ended"}
        kept = s.exec(select(BenefitElection).where(BenefitElection.employee_id == "E5005")).all()
        assert {e.status for e in kept} == {"current"}  # carried over
