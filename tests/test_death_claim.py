"""Death claims end to end on the time-skipping server, with real activities, store (SQLite and
PostgreSQL) and SMTP: beneficiaries designated on a life election, coverage and deductions ended
with the month of death, the claim filed by HR through the shared human step (wrong person,
missing claim number and a filing before the death refused), the beneficiaries told by mail;
and a claim without life coverage closed at once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import pytest_asyncio
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError

from schemas import benefits as bn
from schemas import death_claim as dc
from schemas.benefits_tables import BenefitElection, CarrierEnrollment, DeathClaim, PayrollDeduction
from schemas.search_attributes import HR_ACTION_TYPE, HR_PENDING_APPROVERS
from tests.benefits_harness import HR_TECHNICIAN, Benefits, elections
from tests.conftest import _city_at_work
from tests.harness_common import audit_rows, delivered, poll_until, text_of
from tests.personnel_harness import Actions
from workflows.rules.benefits import last_of_month

SPOUSE_BORN = date(1984, 2, 11)
BENEFICIARIES = [
    {"name": "Ana Okafor", "relation": "spouse", "percent": 60, "email": "ana.okafor@mail.example",
     "address": "12 Elm Street"},
    {"name": "Ben Okafor", "relation": "child", "percent": 40, "email": "ben.okafor@mail.example"},
]  # fmt: skip


@pytest_asyncio.fixture(loop_scope="session")
async def benefits(time_skipping_env, engine, db_url, smtp):
    async with _city_at_work(time_skipping_env, engine, db_url, smtp) as parts:
        yield Benefits(**parts)


def life_elections(beneficiaries: list[dict]) -> dict:
    details = elections(
        {"MED-PPO": "employee_spouse", "LIFE-BASIC": "employee_only"}, [("spouse", SPOUSE_BORN)]
    )
    return details | {"beneficiaries": beneficiaries}


async def _refused(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await call
    return str(err.value.cause)


async def start_claim(benefits: Benefits, employee: str, died_on: date) -> WorkflowHandle:
    return await benefits.client.start_workflow(
        dc.DEATH_CLAIM_WORKFLOW,
        dc.DeathClaimInput(employee_id=employee, died_on=died_on, requested_by=HR_TECHNICIAN),
        id=dc.death_claim_workflow_id(employee),
        task_queue=benefits.task_queue,
        result_type=dc.DeathClaimResult,
    )


async def claim_status(handle: WorkflowHandle) -> dc.DeathClaimStatus:
    return await handle.query("status", result_type=dc.DeathClaimStatus)


def filed(claim_number: str | None, filed_on: date) -> dict:
    details: dict = {"kind": "life_claim_filed", "filed_on": filed_on.isoformat()}
    if claim_number is not None:
        details["claim_number"] = claim_number
    return details


async def test_a_death_claim_ends_coverage_files_the_life_claim_and_tells_the_beneficiaries(
    benefits: Benefits, capfd: pytest.CaptureFixture[str]
):
    employee = benefits.add_employee("E2101")
    enrollment = await benefits.start(employee, bn.NEW_HIRE, await benefits.today() - timedelta(days=2))
    await benefits.electing(enrollment)
    shares_wrong = [BENEFICIARIES[0] | {"percent": 50}, BENEFICIARIES[1]]
    assert "shares total 90 percent; they must total 100" in await _refused(
        benefits.decide(enrollment, employee, bn.ELECT, details=life_elections(shares_wrong))
    )
    no_life = elections({"MED-PPO": "employee_only"}) | {"beneficiaries": BENEFICIARIES}
    assert "no life plan is elected" in await _refused(
        benefits.decide(enrollment, employee, bn.ELECT, details=no_life)
    )
    await benefits.decide(enrollment, employee, bn.ELECT, details=life_elections(BENEFICIARIES))
    await benefits.audit(enrollment)
    await enrollment.result()
    [life] = benefits.rows(BenefitElection, employee_id=employee, plan_id="LIFE-BASIC")
    assert [(b["name"], b["percent"]) for b in life.beneficiaries] == [("Ana Okafor", 60), ("Ben Okafor", 40)]

    died_on = await benefits.today()
    handle = await start_claim(benefits, employee, died_on)
    status = await poll_until(lambda: claim_status(handle), lambda s: bool(s.open_steps), 30)
    assert (status.stage, status.life_plan_id, status.beneficiaries, status.dependants_cobra) == (
        dc.FILING,
        "LIFE-BASIC",
        2,
        1,
    )
    assert status.coverage_ends_on == last_of_month(died_on)
    step = status.open_steps[0]
    assert step.step_id == dc.FILE_STEP and HR_TECHNICIAN in step.pending and employee not in step.pending
    attrs = (await handle.describe()).typed_search_attributes
    assert attrs.get(HR_ACTION_TYPE) == "death_claim" and HR_TECHNICIAN in (
        attrs.get(HR_PENDING_APPROVERS) or []
    )
    # Coverage and payroll deductions end with the month of death; every carrier is told.
    assert {e.status for e in benefits.rows(BenefitElection, employee_id=employee)} == {"ended"}
    assert {e.ended_on for e in benefits.rows(BenefitElection, employee_id=employee)} == {
        last_of_month(died_on)
    }
    ends = {(c.plan_id, c.action) for c in benefits.rows(CarrierEnrollment, employee_id=employee)}
    assert {("MED-PPO", "terminate"), ("LIFE-BASIC", "terminate")} <= ends
    assert {d.ends_on for d in benefits.rows(PayrollDeduction, employee_id=employee)} == {
        last_of_month(died_on)
    }

    def file(actor: str, details: dict):  # type: ignore[no-untyped-def]
        return benefits.decide(handle, actor, dc.FILED, details=details)

    assert "E2101 is not a respondent" in await _refused(file(employee, filed("LC-77120", died_on)))
    assert "claim_number" in await _refused(file(HR_TECHNICIAN, filed(None, died_on)))
    assert "before the date of death" in await _refused(
        file(HR_TECHNICIAN, filed("LC-77120", died_on - timedelta(days=1)))
    )
    assert "in the future" in await _refused(
        file(HR_TECHNICIAN, filed("LC-77120", died_on + timedelta(days=3)))
    )
    assert (await claim_status(handle)).claim_number is None

    await file(HR_TECHNICIAN, filed("LC-77120", died_on))
    result = await handle.result()
    assert (result.outcome, result.claim_number, result.beneficiaries_told, result.dependants_cobra) == (
        dc.CLOSED,
        "LC-77120",
        2,
        1,
    )
    with pytest.raises(RPCError):  # the claim has closed: nothing takes another answer
        await file(HR_TECHNICIAN, filed("LC-00001", died_on))
    [row] = benefits.rows(DeathClaim, workflow_id=handle.id)
    assert (row.died_on, row.claim_number, row.filed_on, row.filed_by, row.status) == (
        died_on,
        "LC-77120",
        died_on,
        HR_TECHNICIAN,
        dc.CLOSED,
    )
    assert row.dependants_cobra == 1 and row.dependants_elect_by is not None
    trail = [(a.step_id, a.actor_id, a.action) for a in audit_rows(benefits.engine, handle.id)]
    assert trail[:3] == [("claim", HR_TECHNICIAN, "opened"), ("claim", "system", "coverage_ended"),
                         ("claim", "system", "dependants_cobra")]  # fmt: skip
    assert (dc.FILE_STEP, HR_TECHNICIAN, dc.FILED) in trail
    assert {("claim", "system", "beneficiary_notice"), ("claim", "system", "closed")} <= set(trail)
    assert len(trail) == 7  # with the step's opening row
    assert not any(died_on.isoformat() in (a.comment or "") for a in audit_rows(benefits.engine, handle.id))
    mail = await delivered(benefits.engine, benefits.smtp, handle.id)
    notices = [m for m in mail if "Life insurance benefit" in str(m["Subject"])]
    assert sorted(m["To"] for m in notices) == ["ana.okafor@mail.example", "ben.okafor@mail.example"]
    body = text_of(notices[0])
    assert "LC-77120" in body and "Standard Insurance" in body and died_on.isoformat() not in body
    logged = "".join(capfd.readouterr())  # the worker's and mailer's logs: ids only
    assert "beneficiary" in logged and "death claim recorded" in logged
    for b in BENEFICIARIES:
        assert str(b["name"]) not in logged and str(b["email"]) not in logged


async def test_a_death_claim_without_life_coverage_ends_coverage_and_closes_without_a_step(
    benefits: Benefits,
):
    employee = benefits.add_employee("E2102")
    died_on = await benefits.today() - timedelta(days=3)
    handle = await start_claim(benefits, employee, died_on)
    result = await handle.result()
    assert (result.outcome, result.claim_number, result.beneficiaries_told) == (dc.NO_LIFE_COVERAGE, None, 0)
    [row] = benefits.rows(DeathClaim, workflow_id=handle.id)
    assert (row.status, row.coverage_ends_on) == (dc.NO_LIFE_COVERAGE, last_of_month(died_on))
    assert [a.action for a in audit_rows(benefits.engine, handle.id)] == [
        "opened",
        "coverage_ended",
        "dependants_cobra",
        "closed",
    ]


async def test_an_unfiled_claim_is_reminded_then_escalated_to_the_hr_supervisor(benefits: Benefits):
    employee = benefits.add_employee("E2103", covered=True)
    handle = await start_claim(benefits, employee, await benefits.today())
    await poll_until(lambda: claim_status(handle), lambda s: bool(s.open_steps), 30)
    await benefits.env.sleep(timedelta(days=11))
    await poll_until(lambda: claim_status(handle), lambda s: bool(s.open_steps), 30)
    assert HR_TECHNICIAN in benefits.notices(handle.id, "reminder")
    assert benefits.notices(handle.id, "escalation") == ["E1005"]
    assert (await claim_status(handle)).stage == dc.FILING  # no default: it waits for HR
    await benefits.decide(handle, "E1006", dc.FILED, details=filed("LC-1", await benefits.today()))
    result = await handle.result()
    assert (result.outcome, result.beneficiaries_told) == (dc.CLOSED, 0)  # none designated: the estate


@pytest_asyncio.fixture(loop_scope="session")
async def actions(time_skipping_env, engine, db_url, smtp):
    async with _city_at_work(time_skipping_env, engine, db_url, smtp) as parts:
        yield Actions(**parts)


async def test_a_separation_by_death_starts_the_death_claim_not_cobra(actions: Actions):
    benefits = Benefits(
        env=actions.env, engine=actions.engine, smtp=actions.smtp, task_queue=actions.task_queue
    )
    action = await actions.start("E1017", "death", requested_by="E1008", effective_in_days=0)
    await actions.approve_all(action)
    await actions.wait_for(action, lambda s: s.stage == "work_orders")
    died_on = await actions.today()
    claim = actions.client.get_workflow_handle(
        dc.death_claim_workflow_id("E1017"), result_type=dc.DeathClaimResult
    )
    status = await poll_until(lambda: claim_status(claim), lambda s: bool(s.open_steps), 30)
    assert (status.stage, status.life_plan_id, status.coverage_ends_on) == (
        dc.FILING,
        "LIFE-BASIC",
        last_of_month(died_on),
    )
    assert ("execute", "system", "death_claim_started") in {
        (a.step_id, a.actor_id, a.action) for a in audit_rows(actions.engine, action.id)
    }
    with pytest.raises(RPCError):  # no COBRA enrollment for the employee who died
        await actions.client.get_workflow_handle(
            bn.enrollment_workflow_id("E1017", bn.COBRA, died_on)
        ).describe()
    await benefits.decide(claim, HR_TECHNICIAN, dc.FILED, details=filed("LC-5", died_on))
    result = await claim.result()
    assert (result.outcome, result.claim_number) == (dc.CLOSED, "LC-5")
    [row] = benefits.rows(DeathClaim, workflow_id=claim.id)
    assert (row.died_on, row.status) == (died_on, dc.CLOSED)
