"""What each process's history costs (issue 13), as for the review (``test_review_history_shape``):
every process with a human step sets ``COALESCED``, so under the patches ``one-upsert-per-task``
and ``step-records-in-one`` a workflow task carries at most one of the process's own
search-attribute upserts, and a step's audit rows and notices are local activities
(``record_step`` and the process's own records), never ``record_audit``, ``notify`` or
``active_delegations`` activities, with every audit row and notice on record exactly once.

Each test runs a real process on the time-skipping server through Updates, a signal, timers
(reminders, an effective date, a probation's end) and child workflows, then reads its history
and its records. ``tests/record_histories.py`` (set ``coalesced_processes``) records the same
scenarios for the replay tests.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest_asyncio
from sqlmodel import Session, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from schemas import benefits as bn
from schemas import death_claim as dc
from schemas import leave as lv
from schemas import onboarding as ob
from schemas import personnel_action as pa
from schemas import recruitment as rc
from schemas.human_step import DecisionInput, ExtendDueInput
from schemas.tables import AuditEvent, OutboxMessage
from tests.benefits_harness import HR_TECHNICIAN, Benefits, elections
from tests.conftest import _city_at_work
from tests.harness_common import poll_until
from tests.leave_harness import BENEFITS_REP, EMPLOYEE, HR_APPROVER, Leaves
from tests.onboarding_harness import Onboard, orientation_on
from tests.personnel_harness import Actions
from tests.recruitment_harness import Hiring
from tests.test_review_history_shape import _patches, _upserts_per_task
from workflows.human_step import ONE_UPSERT, STEP_RECORDS

PER_ROW_ACTIVITIES = {"record_audit", "notify", "active_delegations"}


@pytest_asyncio.fixture(loop_scope="session")
async def benefits(time_skipping_env, engine, db_url, smtp):
    async with _city_at_work(time_skipping_env, engine, db_url, smtp) as parts:
        yield Benefits(**parts)


@pytest_asyncio.fixture(loop_scope="session")
async def leaves(time_skipping_env, engine, db_url, smtp):
    async with _city_at_work(time_skipping_env, engine, db_url, smtp) as parts:
        yield Leaves(**parts)


# ----- the scenarios (also recorded by tests/record_histories.py) -----------------------------------


async def benefits_returned_then_approved(benefits: Benefits) -> WorkflowHandle:
    """A new hire's enrollment: an election HR's audit returns after its reminder, a second
    election (by a signal), the second audit's due date moved, and HR's approval."""
    employee = benefits.add_employee("E2401")
    handle = await benefits.start(employee, bn.NEW_HIRE, await benefits.today())
    await benefits.electing(handle)
    await benefits.decide(handle, employee, bn.ELECT, details=elections({"MED-PPO": "employee_only"}))
    await benefits.auditing(handle)
    await benefits.env.sleep(timedelta(days=4))  # the audit's reminder before its due date
    await benefits.audit(handle, bn.AUDIT_RETURN, comment="dental was asked for on the paper form")
    status = await benefits.electing(handle)
    both = elections({"MED-PPO": "employee_only", "DEN-DELTA": "employee_only"})
    await handle.signal("decide", DecisionInput(actor_id=employee, decision=bn.ELECT, details=both))
    status = await benefits.auditing(handle)
    audit_step = next(s for s in status.open_steps if s.step_id.startswith(bn.AUDIT_STEP))
    await handle.execute_update(
        "extend_due",
        ExtendDueInput(
            actor_id=HR_TECHNICIAN,
            step_id=audit_step.step_id,
            new_due_at=audit_step.due_at + timedelta(days=1),
            reason="the plan's rates are being checked",
        ),
    )
    await benefits.audit(handle)
    await handle.result()
    return handle


async def personnel_resignation_moved_executed(actions: Actions) -> WorkflowHandle:
    """A resignation: the director approves by signal, HR's due date moved, HR approves, the
    effective date moved, its timer, the execution (COBRA started) and both work orders."""
    handle = await actions.start("E1016", "resignation", requested_by="E1016", effective_in_days=14)
    status = await actions.wait_for_step(handle, "approve-director")
    await handle.signal(
        "decide", DecisionInput(actor_id="E1010", decision="approve", step_id="approve-director")
    )
    status = await actions.wait_for_step(handle, "approve-hr")
    hr_step = next(s for s in status.open_steps if s.step_id == "approve-hr")
    await handle.execute_update(
        "extend_due",
        ExtendDueInput(
            actor_id="E1006",
            step_id="approve-hr",
            new_due_at=hr_step.due_at + timedelta(days=2),
            reason="away",
        ),
    )
    await actions.decide(handle, "E1005", "approve", step_id="approve-hr")
    status = await actions.wait_for_stage(handle, pa.SCHEDULED)
    await handle.execute_update(
        pa.MOVE_EFFECTIVE_DATE,
        pa.MoveEffectiveDateInput(
            actor_id="E1006", effective_on=status.effective_on + timedelta(days=7), reason="notice extended"
        ),
        result_type=pa.PersonnelActionStatus,
    )
    await actions.env.sleep(timedelta(days=21))
    await actions.finish_work_orders(
        handle, {"work-order-it-deprovisioning": "E1012", "work-order-equipment-return": "E1013"}
    )
    await handle.result()
    return handle


async def onboarding_to_permanent(onboard: Onboard) -> tuple[WorkflowHandle, WorkflowHandle]:
    """A direct appointment: payroll by signal, a late task, a task re-opened and done again, the
    attendances; the probation (a child) to its end, passed and concurred: permanent."""
    employee = onboard.add_employee("E2402")
    starts_on = await onboard.today() + timedelta(days=4)
    handle = await onboard.start(employee, starts_on, probation=timedelta(days=30))
    await onboard.wait_for_task(handle, ob.PAYROLL)
    await handle.signal("decide", DecisionInput(actor_id="E1022", decision=ob.APPOINTED, step_id=ob.PAYROLL))
    await onboard.env.sleep(timedelta(days=2))  # the IT account, due 3 days before the start, is late
    for task in (ob.IT_ACCOUNT, ob.IT_DESKTOP, ob.IT_VOICE_DATA, ob.IT_PHONE, ob.POLICIES):
        await onboard.done(handle, task)
    await onboard.done(handle, ob.ORIENTATION, details=orientation_on(starts_on))
    await onboard.done(handle, ob.BENEFITS, details=orientation_on(starts_on))
    await handle.execute_update(
        ob.REOPEN_TASK,
        ob.ReopenTaskInput(actor_id="E1008", task=ob.IT_PHONE, reason="wrong extension"),
        result_type=ob.TaskView,
    )
    await onboard.done(handle, ob.IT_PHONE, actor="E1013", comment="ext. 4417")
    await onboard.env.sleep(timedelta(days=3))
    await onboard.done(handle, ob.ORIENTATION_ATTENDANCE)
    await onboard.done(handle, ob.BENEFITS_ATTENDANCE)
    status = await onboard.wait_for(handle, lambda s: s.probation is not None)
    assert status.probation is not None
    probation = onboard.client.get_workflow_handle(status.probation.workflow_id)
    serving = await onboard.wait_for_probation(probation, lambda s: s.ends_at is not None)
    assert serving.ends_at is not None
    await onboard.env.sleep(serving.ends_at - await onboard.env.get_current_time() + timedelta(hours=1))
    await onboard.wait_for_step(probation, "decision-1")
    await onboard.decide(probation, "E1011", ob.PASS)
    await onboard.wait_for_step(probation, "concurrence-1")
    await onboard.decide(probation, "E1008", ob.CONCUR)
    await handle.result()
    return handle, probation


async def leave_exhausted_referred(leaves: Leaves) -> WorkflowHandle:
    """An intermittent leave: certified, acknowledged, approved, absences until the entitlement
    is used up, then referred to the benefits representative, who takes it."""
    today = await leaves.today()
    leaves.eligible(EMPLOYEE, today)
    leaves.give_role(BENEFITS_REP, lv.BENEFITS_REP_ROLE)
    leaves.earlier_leave(EMPLOYEE, today - timedelta(days=80), days=55, hours_a_day=8)
    handle = await leaves.start(today, today + timedelta(days=60), hours=40, reason="migraines")
    await leaves.wait_for_step(handle, lv.CERTIFICATION_STEP)
    await leaves.certify(handle, EMPLOYEE, diagnosis="recurrent migraine", fitness_for_duty_required=False)
    await leaves.approve_through(handle, certify=False)
    await leaves.absence(handle, EMPLOYEE, today, 8, through=today + timedelta(days=3))
    status = await leaves.status(handle)
    await leaves.absence(handle, HR_APPROVER, today + timedelta(days=7), status.remaining_hours)
    await leaves.wait_for_step(handle, lv.REFERRAL_STEP)
    await leaves.decide(handle, BENEFITS_REP, lv.ACCEPTED, comment="will call the employee")
    await handle.result()
    return handle


async def death_claim_filed(benefits: Benefits) -> WorkflowHandle:
    """A death claim whose life claim HR files; the beneficiary is told."""
    employee = benefits.add_employee("E2403")
    enrollment = await benefits.start(employee, bn.NEW_HIRE, await benefits.today())
    await benefits.electing(enrollment)
    details = elections({"LIFE-BASIC": "employee_only"}) | {
        "beneficiaries": [
            {"name": "Ana Okafor", "relation": "spouse", "percent": 100, "email": "ana@mail.example"}
        ]
    }
    await benefits.decide(enrollment, employee, bn.ELECT, details=details)
    await benefits.audit(enrollment)
    await enrollment.result()
    today = await benefits.today()
    handle = await benefits.client.start_workflow(
        dc.DEATH_CLAIM_WORKFLOW,
        dc.DeathClaimInput(employee_id=employee, died_on=today, requested_by=HR_TECHNICIAN),
        id=dc.death_claim_workflow_id(employee),
        task_queue=benefits.task_queue,
        result_type=dc.DeathClaimResult,
    )
    await poll_until(
        lambda: handle.query("status", result_type=dc.DeathClaimStatus), lambda s: bool(s.open_steps), 30
    )
    await benefits.decide(
        handle,
        HR_TECHNICIAN,
        dc.FILED,
        details={"kind": "life_claim_filed", "claim_number": "LC-1", "filed_on": today.isoformat()},
    )
    await handle.result()
    return handle


async def recruitment_hired_after_background_answer(hiring: Hiring) -> WorkflowHandle:
    """A recruitment to its hire: the announcement approved, applications, the screen, the oral
    board's scores, the selection and offer, a background record answered, then the hire (the
    register and the onboarding are children)."""
    from activities.seed_recruitment import demo_application

    handle = await hiring.open(checks=["criminal", "mvr"])
    await hiring.approve_and_post(handle)
    await hiring.apply(handle, [demo_application(n) for n in range(1, 4)] + [demo_application(4, clerical=1)])
    await hiring.close_applications(handle)
    await hiring.confirm_screen(handle)
    await hiring.score_step(handle, "oral-board", {"A001": 90, "A002": 80, "A003": 70})
    await hiring.select_offer_accept(handle, "A001")
    await hiring.wait_for_step(handle, "background-1")
    await hiring.record_check(handle, "A001", "criminal", rc.POTENTIALLY_DISQUALIFYING)
    await hiring.record_check(handle, "A001", "mvr")
    await hiring.wait_for_step(handle, "candidate-answer-1")
    await hiring.decide(handle, "E1006", "responded", comment="court record shows the charge dismissed")
    await hiring.wait_for_step(handle, "background-decision-1")
    await hiring.decide(handle, "E1005", "proceed", comment="dismissed charge; not job related")
    await handle.result()
    return handle


# ----- the checks ------------------------------------------------------------------------------------


async def _coalesced(handle: WorkflowHandle) -> list:
    """The run's history, checked: the patches met, at most one of the process's own upserts per
    completed workflow task, and no activity per audit row, notice or delegation lookup."""
    events = list((await handle.fetch_history()).events)
    ours = {ONE_UPSERT, STEP_RECORDS}
    assert _patches(events, ours) == ours, handle.id
    counts = _upserts_per_task(events)
    assert max(counts) == 1, (handle.id, counts)
    scheduled = Counter(
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    )
    assert not PER_ROW_ACTIVITIES & set(scheduled), (handle.id, scheduled)
    return events


def _records(engine, workflow_id: str) -> tuple[Counter, Counter]:
    """The run's audit rows as (step, action) and its notices as (template, recipient), counted."""
    with Session(engine) as s:
        audits = s.exec(select(AuditEvent).where(AuditEvent.workflow_id == workflow_id)).all()
        outbox = s.exec(select(OutboxMessage).where(OutboxMessage.workflow_id == workflow_id)).all()
    notices = Counter((m.key.split(":")[3], m.recipient_id) for m in outbox)
    return Counter((a.step_id, a.action) for a in audits), notices


async def test_a_benefits_enrollment_costs_one_upsert_per_task_and_records_every_row_once(benefits: Benefits):
    handle = await benefits_returned_then_approved(benefits)
    await _coalesced(handle)
    audits, notices = _records(benefits.engine, handle.id)
    assert audits == Counter(
        {
            ("elections", "opened"): 1,
            ("elections", "elect"): 2,
            ("elections", "reopened"): 1,
            (bn.AUDIT_STEP, "opened"): 1,
            (bn.AUDIT_STEP, "return"): 1,
            (f"{bn.AUDIT_STEP}-2", "opened"): 1,
            (f"{bn.AUDIT_STEP}-2", "due_extended"): 1,
            (f"{bn.AUDIT_STEP}-2", "approve"): 1,
        }
    ), audits
    employee = "E2401"
    assert notices[("step_opened", employee)] == 1 and notices[("reminder", HR_TECHNICIAN)] == 1, notices
    assert notices[("benefits_returned", employee)] == 1, notices
    assert notices[("benefits_confirmation", employee)] == 1, notices


async def test_a_personnel_action_costs_one_upsert_per_task_and_records_every_row_once(actions: Actions):
    handle = await personnel_resignation_moved_executed(actions)
    await _coalesced(handle)
    audits, notices = _records(actions.engine, handle.id)
    assert audits == Counter(
        {
            ("request", "requested"): 1,
            ("approve-director", "opened"): 1,
            ("approve-director", "approve"): 1,
            ("approve-hr", "opened"): 1,
            ("approve-hr", "due_extended"): 1,
            ("approve-hr", "approve"): 1,
            ("effective-date", "effective_date_moved"): 1,
            ("execute", "executed"): 1,
            ("work-order-it-deprovisioning", "opened"): 1,
            ("work-order-it-deprovisioning", "done"): 1,
            ("work-order-equipment-return", "opened"): 1,
            ("work-order-equipment-return", "done"): 1,
        }
    ), audits
    assert notices[("effective_date_moved", "E1016")] == 1, notices
    assert notices[("action_executed", "E1016")] == 1, notices


async def test_an_onboarding_and_its_probation_cost_one_upsert_per_task_and_record_every_row_once(
    onboard: Onboard,
):
    handle, probation = await onboarding_to_permanent(onboard)
    await _coalesced(handle)
    await _coalesced(probation)
    audits, notices = _records(onboard.engine, handle.id)
    assert audits[(f"{ob.IT_PHONE}.2", "reopened")] == 1 and audits[(f"{ob.IT_PHONE}.2", "opened")] == 1, (
        audits
    )
    assert all(n == 1 for n in audits.values()), audits
    assert audits[(ob.IT_ACCOUNT, "done_late")] == 1, audits
    assert notices[("orientation_scheduled", "E2402")] == 2, notices
    p_audits, p_notices = _records(onboard.engine, probation.id)
    assert p_audits[("decision-1", "opened")] == 1 and p_audits[("decision-1", ob.PASS)] == 1, p_audits
    assert p_audits[("concurrence-1", ob.CONCUR)] == 1 and p_audits[("process", ob.PERMANENT)] == 1, p_audits
    assert all(n == 1 for n in p_audits.values()), p_audits


async def test_a_leave_costs_one_upsert_per_task_and_records_every_row_once(leaves: Leaves):
    handle = await leave_exhausted_referred(leaves)
    await _coalesced(handle)
    audits, notices = _records(leaves.engine, handle.id)
    assert audits[("absence", "absence_recorded")] == 2, audits
    assert audits[(lv.REFERRAL_STEP, "opened")] == 1 and audits[(lv.REFERRAL_STEP, lv.ACCEPTED)] == 1, audits
    assert notices[("step_opened", BENEFITS_REP)] == 1, notices


async def test_a_death_claim_costs_one_upsert_per_task_and_records_every_row_once(benefits: Benefits):
    handle = await death_claim_filed(benefits)
    await _coalesced(handle)
    audits, notices = _records(benefits.engine, handle.id)
    assert audits[(dc.FILE_STEP, "opened")] == 1 and audits[(dc.FILE_STEP, dc.FILED)] == 1, audits
    assert audits[("claim", "closed")] == 1, audits
    assert notices[("step_opened", HR_TECHNICIAN)] == 1, notices


async def test_a_recruitment_costs_one_upsert_per_task_and_records_every_row_once(hiring: Hiring):
    handle = await recruitment_hired_after_background_answer(hiring)
    await _coalesced(handle)
    audits, notices = _records(hiring.engine, handle.id)
    assert audits[("posting", "posted")] == 1 and audits[("applications", "closed")] == 1, audits
    assert audits[("background-1", "check_potentially_disqualifying")] == 1, audits
    assert audits[("hire", "hired")] == 1 and audits[("process", "hired")] == 1, audits
    assert audits[("oral-board", "scores_recorded")] == 3 and audits[("oral-board", "scored")] == 3, audits
    assert notices[("step_opened", "E1005")] >= 1, notices
