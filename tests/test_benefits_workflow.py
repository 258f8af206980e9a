"""Benefits enrollment end to end on the time-skipping server, with real activities, store (SQLite
and PostgreSQL) and SMTP: a new hire who elects, one who does not (waived by default), bad
elections refused with their reason and nothing changed, and a separation's COBRA notice and
election."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import pytest_asyncio
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from schemas import benefits as bn
from schemas.benefits_tables import (
    BenefitElection,
    BenefitEnrollment,
    CarrierEnrollment,
    CobraNotice,
    PayrollDeduction,
)
from schemas.search_attributes import HR_ACTION_TYPE, HR_EMPLOYEE_ID, HR_PENDING_APPROVERS
from tests.benefits_harness import HR_TECHNICIAN, Benefits, elections
from tests.conftest import _city_at_work
from tests.harness_common import audit_rows, delivered, text_of
from tests.personnel_harness import Actions

SPOUSE_BORN = date(1988, 4, 17)
CHILD_BORN = date(2019, 9, 3)


@pytest_asyncio.fixture(loop_scope="session")
async def benefits(time_skipping_env, engine, db_url, smtp):
    async with _city_at_work(time_skipping_env, engine, db_url, smtp) as parts:
        yield Benefits(**parts)


async def _refused(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await call
    return str(err.value.cause)


async def test_a_new_hire_elects_family_coverage_recorded_with_carrier_payroll_and_confirmation(
    benefits: Benefits,
):
    employee = benefits.add_employee("E2001")
    hired_on = await benefits.today() + timedelta(days=3)
    handle = await benefits.start(employee, bn.NEW_HIRE, hired_on)
    status = await benefits.electing(handle)
    assert status.offered == ["DEN-DELTA", "LIFE-BASIC", "MED-PPO", "PERS-2", "VIS-VSP"]  # not the PW HMO
    assert status.open_steps[0].pending == [employee]
    assert status.coverage_on == date(hired_on.year + hired_on.month // 12, hired_on.month % 12 + 1, 1)
    attrs = (await handle.describe()).typed_search_attributes
    assert (attrs.get(HR_ACTION_TYPE), attrs.get(HR_EMPLOYEE_ID), attrs.get(HR_PENDING_APPROVERS)) == (
        "benefits_enrollment",
        employee,
        [employee],
    )

    receipt = await benefits.decide(
        handle,
        employee,
        bn.ELECT,
        details=elections(
            {"MED-PPO": "family", "DEN-DELTA": "family", "LIFE-BASIC": "employee_only"},
            [("spouse", SPOUSE_BORN), ("child", CHILD_BORN)],
        ),
    )
    assert receipt.step_closed
    status = await benefits.auditing(handle)  # HR audits it before anything is recorded
    assert status.stage == bn.AUDITING and status.open_steps[0].step_id == bn.AUDIT_STEP
    assert employee not in status.open_steps[0].pending and HR_TECHNICIAN in status.open_steps[0].pending
    assert benefits.rows(BenefitElection, employee_id=employee) == []
    assert benefits.rows(CarrierEnrollment, employee_id=employee) == []
    await benefits.audit(handle)
    result = await handle.result()
    assert (result.outcome, result.defaulted) == (bn.ELECTED, False)
    assert [(e.plan_id, e.tier, e.dependants) for e in result.elections] == [
        ("MED-PPO", "family", 2),
        ("DEN-DELTA", "family", 2),
        ("LIFE-BASIC", "employee_only", 0),
    ]

    rows = benefits.rows(BenefitElection, employee_id=employee)
    assert {(r.plan_id, r.tier, r.status) for r in rows} == {
        ("MED-PPO", "family", "current"),
        ("DEN-DELTA", "family", "current"),
        ("LIFE-BASIC", "employee_only", "current"),
    }
    medical = next(r for r in rows if r.plan_id == "MED-PPO")
    assert medical.dependants == [
        {"relation": "spouse", "date_of_birth": SPOUSE_BORN.isoformat()},
        {"relation": "child", "date_of_birth": CHILD_BORN.isoformat()},
    ]
    carriers = benefits.rows(CarrierEnrollment, employee_id=employee)
    assert {(c.carrier, c.action, c.dependants) for c in carriers} == {
        ("Regence BlueShield", "enroll", 2),
        ("Delta Dental of Washington", "enroll", 2),
        ("Standard Insurance", "enroll", 0),
    }
    deductions = benefits.rows(PayrollDeduction, employee_id=employee)
    assert {(d.plan_id, d.monthly_cents) for d in deductions} == {("MED-PPO", 13500), ("DEN-DELTA", 2400)}
    [enrollment] = benefits.rows(BenefitEnrollment, workflow_id=handle.id)
    assert (enrollment.status, enrollment.decided_by, enrollment.defaulted) == (bn.ELECTED, employee, False)
    assert [(a.step_id, a.actor_id, a.action) for a in audit_rows(benefits.engine, handle.id)] == [
        ("elections", "system", "opened"),
        ("elections", employee, bn.ELECT),
        ("audit", "system", "opened"),
        ("audit", HR_TECHNICIAN, bn.AUDIT_APPROVE),
    ]
    mail = await delivered(benefits.engine, benefits.smtp, handle.id)
    confirmation = next(m for m in mail if "enrollment: elected" in m["Subject"])
    assert confirmation["To"] == "e2001@city.example"
    body = confirmation.get_payload()
    assert "MED-PPO (medical, family)" in body and SPOUSE_BORN.isoformat() not in body
    status = await benefits.status(handle)  # what the status shows carries no date of birth
    assert SPOUSE_BORN.isoformat() not in status.model_dump_json()


async def test_a_new_hire_who_never_elects_is_reminded_then_waived_by_default(benefits: Benefits):
    employee = benefits.add_employee("E2002")
    handle = await benefits.start(employee, bn.NEW_HIRE, await benefits.today())
    await benefits.electing(handle)
    await benefits.env.sleep(timedelta(days=31))
    result = await handle.result()
    assert (result.outcome, result.defaulted, result.elections) == (bn.WAIVED, True, [])
    assert benefits.notices(handle.id, "reminder") == [employee, employee]  # 7 and 2 days before
    assert benefits.notices(handle.id, "escalation") == ["E1011"]  # the supervisor, at the close
    assert benefits.notices(handle.id, "benefits_confirmation") == [employee]
    [enrollment] = benefits.rows(BenefitEnrollment, workflow_id=handle.id)
    assert (enrollment.status, enrollment.decided_by, enrollment.defaulted) == (bn.WAIVED, "system", True)
    assert benefits.rows(BenefitElection, employee_id=employee) == []


async def test_bad_elections_are_refused_with_the_reason_and_change_nothing(benefits: Benefits):
    employee = benefits.add_employee("E2003")
    handle = await benefits.start(employee, bn.NEW_HIRE, await benefits.today())
    await benefits.electing(handle)

    def elect(plans, dependants=None, actor=employee):  # type: ignore[no-untyped-def]
        return benefits.decide(handle, actor, bn.ELECT, details=elections(plans, dependants))

    assert "plan MED-HMO-PW is not open to E2003" in await _refused(elect({"MED-HMO-PW": "employee_only"}))
    assert "tier employee_only of plan MED-PPO does not match the dependants listed (1 spouse/partner" in (
        await _refused(elect({"MED-PPO": "employee_only"}, [("spouse", SPOUSE_BORN)]))
    )
    assert "does not match" in await _refused(elect({"DEN-DELTA": "family"}, [("child", CHILD_BORN)]))
    assert "at most one spouse" in await _refused(
        elect({"MED-PPO": "employee_spouse"}, [("spouse", SPOUSE_BORN), ("domestic_partner", SPOUSE_BORN)])
    )
    too_old = await _refused(elect({"MED-PPO": "employee_children"}, [("child", date(1990, 1, 1))]))
    assert "dependant 1 (child) is 26 or older" in too_old and "1990" not in too_old
    assert "plan LIFE-BASIC has no tier family" in await _refused(elect({"LIFE-BASIC": "family"}))
    assert "E1011 is not a respondent" in await _refused(elect({"MED-PPO": "employee_only"}, actor="E1011"))
    assert "details" in await _refused(benefits.decide(handle, employee, bn.ELECT))  # no elections
    assert "carry_over" in await _refused(benefits.decide(handle, employee, bn.CARRY_OVER))
    assert await benefits.status(handle) == await benefits.status(handle)
    assert benefits.rows(BenefitElection, employee_id=employee) == []
    assert [a.action for a in audit_rows(benefits.engine, handle.id)] == ["opened"]

    await benefits.env.sleep(timedelta(days=31))  # the window closes: waived
    await handle.result()
    with pytest.raises(RPCError, match="not found"):  # the enrollment has ended: nothing takes it
        await elect({"MED-PPO": "employee_only"})
    assert benefits.rows(BenefitElection, employee_id=employee) == []


async def test_a_life_event_outside_its_window_ends_without_a_step(benefits: Benefits):
    employee = benefits.add_employee("E2004", covered=True)
    handle = await benefits.start(
        employee, bn.LIFE_EVENT, await benefits.today() - timedelta(days=45), life_event="marriage"
    )
    result = await handle.result()
    assert result.outcome == bn.WINDOW_CLOSED
    assert [a.action for a in audit_rows(benefits.engine, handle.id)] == [bn.WINDOW_CLOSED]


@pytest_asyncio.fixture(loop_scope="session")
async def actions(time_skipping_env, engine, db_url, smtp):
    async with _city_at_work(time_skipping_env, engine, db_url, smtp) as parts:
        yield Actions(**parts)


async def test_a_separation_sends_the_cobra_notice_and_the_election_continues_coverage(actions: Actions):
    benefits = Benefits(
        env=actions.env, engine=actions.engine, smtp=actions.smtp, task_queue=actions.task_queue
    )
    action = await actions.start("E1016", "resignation", requested_by="E1016", effective_in_days=0)
    await actions.approve_all(action)
    await actions.wait_for(action, lambda s: s.stage == "work_orders")
    separated_on = await actions.today()
    cobra_id = bn.enrollment_workflow_id("E1016", bn.COBRA, separated_on)
    handle = actions.client.get_workflow_handle(cobra_id, result_type=bn.EnrollmentResult)
    status = await benefits.electing(handle)
    assert status.offered == ["DEN-DELTA", "MED-PPO"]  # continuable coverage held at separation
    [notice] = benefits.rows(CobraNotice, employee_id="E1016")
    assert notice.within_deadline and notice.due_on == separated_on + timedelta(days=44)
    assert notice.elect_by >= separated_on + timedelta(days=60)
    assert benefits.notices(cobra_id, "cobra_notice") == ["E1016"]

    assert "plan VIS-VSP is not open to E1016" in await _refused(
        benefits.decide(handle, "E1016", bn.ELECT, details=elections({"VIS-VSP": "employee_only"}))
    )
    await benefits.decide(handle, "E1016", bn.ELECT, details=elections({"MED-PPO": "employee_only"}))
    await benefits.audit(handle)
    result = await handle.result()
    assert result.outcome == bn.ELECTED
    current = benefits.rows(BenefitElection, employee_id="E1016", status="current")
    assert [(r.plan_id, r.cobra) for r in current] == [("MED-PPO", True)]
    ended = benefits.rows(BenefitElection, employee_id="E1016", status="ended")
    assert {r.plan_id for r in ended} == {"MED-PPO", "DEN-DELTA", "LIFE-BASIC", "PERS-2"}
    carriers = {(c.plan_id, c.action) for c in benefits.rows(CarrierEnrollment, employee_id="E1016")}
    assert ("MED-PPO", "cobra_continue") in carriers and ("DEN-DELTA", "terminate") in carriers
    assert benefits.rows(PayrollDeduction, employee_id="E1016") == []  # no payroll after separation


async def test_hr_returns_an_election_with_a_reason_the_employee_elects_again_and_hr_approves(
    benefits: Benefits,
):
    employee = benefits.add_employee("E2005")
    handle = await benefits.start(employee, bn.NEW_HIRE, await benefits.today())
    await benefits.electing(handle)
    await benefits.decide(handle, employee, bn.ELECT, details=elections({"MED-PPO": "employee_only"}))
    await benefits.auditing(handle)

    # Refused, nothing changed: the employee, someone outside HR, a return without a reason.
    assert "E2005 is not a respondent" in await _refused(benefits.decide(handle, employee, bn.AUDIT_APPROVE))
    assert "E1011 is not a respondent" in await _refused(benefits.decide(handle, "E1011", bn.AUDIT_APPROVE))
    assert "needs a comment" in await _refused(benefits.decide(handle, HR_TECHNICIAN, bn.AUDIT_RETURN))
    assert "not allowed" in await _refused(benefits.decide(handle, HR_TECHNICIAN, bn.ELECT))

    await benefits.audit(handle, bn.AUDIT_RETURN, comment="dental was asked for on the paper form")
    status = await benefits.electing(handle)
    assert status.stage == bn.ELECTING and status.open_steps[0].step_id == "elections"
    assert benefits.notices(handle.id, "benefits_returned") == [employee]
    assert benefits.rows(BenefitElection, employee_id=employee) == []

    await benefits.decide(
        handle,
        employee,
        bn.ELECT,
        details=elections({"MED-PPO": "employee_only", "DEN-DELTA": "employee_only"}),
    )
    status = await benefits.auditing(handle)
    assert status.open_steps[0].step_id == "audit-2"
    await benefits.audit(handle)
    result = await handle.result()
    assert (result.outcome, [e.plan_id for e in result.elections]) == (bn.ELECTED, ["MED-PPO", "DEN-DELTA"])
    rows = benefits.rows(BenefitElection, employee_id=employee)
    assert {r.plan_id for r in rows} == {"MED-PPO", "DEN-DELTA"}
    trail = sorted((a.step_id, a.actor_id, a.action) for a in audit_rows(benefits.engine, handle.id))
    assert trail == sorted(
        [  # the answer's row and the next step's are written side by side
            ("elections", "system", "opened"),
            ("elections", employee, bn.ELECT),
            ("audit", "system", "opened"),
            ("audit", HR_TECHNICIAN, bn.AUDIT_RETURN),
            ("elections", "system", "reopened"),
            ("elections", employee, bn.ELECT),
            ("audit-2", "system", "opened"),
            ("audit-2", HR_TECHNICIAN, bn.AUDIT_APPROVE),
        ]
    )
    mail = await delivered(benefits.engine, benefits.smtp, handle.id)
    returned = next(m for m in mail if "returned" in m["Subject"])
    assert "dental was asked for on the paper form" in text_of(returned)


async def test_an_audit_left_open_is_reminded_escalated_and_refuses_a_return_after_the_window(
    benefits: Benefits,
):
    employee = benefits.add_employee("E2006", covered=True)
    married_on = await benefits.today() - timedelta(days=28)  # its window closes in two days
    handle = await benefits.start(employee, bn.LIFE_EVENT, married_on, life_event="marriage")
    await benefits.electing(handle)
    await benefits.decide(handle, employee, bn.ELECT, details=elections({"MED-PPO": "employee_only"}))
    await benefits.auditing(handle)
    await benefits.env.sleep(timedelta(days=7))  # the window has closed; the audit is overdue
    assert "an election can be returned only while it is open" in await _refused(
        benefits.decide(handle, HR_TECHNICIAN, bn.AUDIT_RETURN, comment="too late")
    )
    assert HR_TECHNICIAN in benefits.notices(handle.id, "reminder")
    assert benefits.notices(handle.id, "escalation")  # the HR supervisor hears of it
    await benefits.decide(handle, HR_TECHNICIAN, bn.AUDIT_APPROVE)
    assert (await handle.result()).outcome == bn.ELECTED
