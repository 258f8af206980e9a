"""Onboarding and probation end to end on the time-skipping server, with real activities, store
(SQLite and PostgreSQL) and SMTP: a recruitment's hire through onboarding and probation to
permanent status; an extension then a pass; a release that runs the separation; a missing CJIS
clearance escalated at 30 days and awaited at the end; refusals that change nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.seed_recruitment import demo_application
from schemas import onboarding as ob
from schemas import recruitment as rc
from schemas.employment import PERMANENT, onboarding_workflow_id
from schemas.human_step import WithdrawInput
from schemas.search_attributes import HR_ACTION_TYPE, HR_CLASS_CODE, HR_EMPLOYEE_ID
from schemas.tables import PayrollChange, SeparationEvent, WorkOrder
from tests.harness_common import delivered, poll_until
from tests.onboarding_harness import (
    HR_SUPERVISOR,
    HR_TECHNICIAN,
    IT_MANAGER,
    Onboard,
    extension,
    orientation_on,
)
from workflows.rules.onboarding import add_months

HR_REVIEWER = "E1006"
ITAT_SUPERVISOR = "E1015"


async def _refused(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await call
    return str(err.value.cause)


async def test_a_hire_flows_into_onboarding_and_through_probation_to_permanent_status(onboard: Onboard):
    hiring = onboard.hiring
    recruitment = await hiring.open(checks=[])
    await hiring.approve_and_post(recruitment)
    await hiring.apply(recruitment, [demo_application(n) for n in range(1, 4)])
    await hiring.close_applications(recruitment)
    await hiring.confirm_screen(recruitment)
    await hiring.score_step(recruitment, "oral-board", {"A001": 90, "A002": 80, "A003": 70})
    offered = await hiring.select_offer_accept(recruitment, "A001")
    hired = await recruitment.result()  # the recruitment closes as before; the onboarding runs on
    assert (hired.outcome, hired.employee_id) == (rc.HIRED, "E1031")
    starts_on = offered.offer.start_date if offered.offer else None
    assert starts_on is not None

    handle = onboard.client.get_workflow_handle(
        onboarding_workflow_id("E1031"), result_type=ob.OnboardingResult
    )
    status = await onboard.wait_for(handle, lambda s: bool(s.open_steps))
    assert (status.employee_id, status.starts_on, status.requested_by) == ("E1031", starts_on, HR_REVIEWER)
    assert (status.class_code, status.position_id, status.supervisor_id) == (
        "ITAT",
        "P-ITAT-02",
        ITAT_SUPERVISOR,
    )
    tasks = {t.task: t for t in status.tasks}
    assert list(tasks) == [
        ob.PAYROLL,
        ob.IT_ACCOUNT,
        ob.IT_DESKTOP,
        ob.IT_VOICE_DATA,
        ob.IT_PHONE,
        ob.ORIENTATION,
        ob.ORIENTATION_ATTENDANCE,
        ob.BENEFITS,
        ob.BENEFITS_ATTENDANCE,
        ob.POLICIES,
    ]  # P-ITAT-02 needs no driver's licence
    assert tasks[ob.PAYROLL].owner_ids == ["E1022"] and tasks[ob.IT_ACCOUNT].owner_ids == [
        "E1012",
        "E1013",
        "E1014",
    ]
    assert tasks[ob.POLICIES].owner_ids == ["E1031"] and tasks[ob.ORIENTATION].owner_ids == [
        HR_REVIEWER,
        HR_SUPERVISOR,
    ]
    assert tasks[ob.ORIENTATION_ATTENDANCE].state == ob.WAITING  # opens once the date is set
    assert tasks[ob.IT_ACCOUNT].due_at is not None and tasks[
        ob.IT_ACCOUNT
    ].due_at.date() == starts_on - timedelta(days=3)
    described = await handle.describe()
    attrs = described.typed_search_attributes
    assert (attrs.get(HR_ACTION_TYPE), attrs.get(HR_EMPLOYEE_ID), attrs.get(HR_CLASS_CODE)) == (
        "onboarding",
        "E1031",
        "ITAT",
    )

    # a task done by someone who does not own it is refused and changes nothing
    cause = await _refused(onboard.decide(handle, "E1017", ob.DONE, step_id=ob.IT_ACCOUNT))
    assert "E1017 is not a respondent of step it-account" in cause
    assert (await onboard.status(handle)).tasks == status.tasks
    await onboard.complete_first_tasks(handle, orientation=starts_on, benefits=starts_on + timedelta(days=1))
    status = await onboard.status(handle)
    tasks = {t.task: t for t in status.tasks}
    assert tasks[ob.IT_ACCOUNT].completed_by == "E1012" and tasks[ob.PAYROLL].state == ob.COMPLETED
    assert tasks[ob.ORIENTATION].detail == starts_on.isoformat()
    # attendance is confirmed on or after the orientation's date
    cause = await _refused(onboard.done(handle, ob.ORIENTATION_ATTENDANCE))
    assert f"the orientation is on {starts_on}" in cause
    await onboard.env.sleep(starts_on - await onboard.today() + timedelta(days=1, hours=1))
    await onboard.done(handle, ob.ORIENTATION_ATTENDANCE)
    await onboard.done(handle, ob.BENEFITS_ATTENDANCE)
    status = await onboard.wait_for(handle, lambda s: s.probation is not None)
    assert status.stage == ob.PROBATION and all(t.state == ob.COMPLETED for t in status.tasks)
    assert not any(t.late for t in status.tasks)
    assert onboard.employment_status("E1031") == "probation"

    probation = onboard.client.get_workflow_handle(status.probation.workflow_id)
    assert probation.id == f"probation-E1031-{starts_on:%Y%m%d}"
    serving = await onboard.wait_for_probation(probation, lambda s: s.ends_on is not None)
    assert serving.ends_on == add_months(starts_on, 6)
    await onboard.env.sleep(serving.ends_at - await onboard.env.get_current_time() + timedelta(minutes=5))
    decided = await onboard.wait_for_step(probation, "decision-1")
    assert decided.reminders_sent == [30, 14]
    await onboard.decide(probation, ITAT_SUPERVISOR, ob.PASS, comment="Meets the standard")
    await onboard.wait_for_step(probation, "concurrence-1")
    await onboard.decide(probation, HR_REVIEWER, ob.CONCUR)
    result = await handle.result()
    assert result.outcome == ob.PERMANENT and result.tasks_done == 10 and not result.tasks_late
    assert onboard.employment_status("E1031") == PERMANENT
    assert [(e.kind, e.effective_on) for e in onboard.history("E1031")] == [
        ("appointed", starts_on),
        ("probation_started", starts_on),
        ("permanent", serving.ends_on),
    ]
    with Session(onboard.engine) as s:
        payroll = s.exec(select(PayrollChange).where(PayrollChange.employee_id == "E1031")).one()
        assert (payroll.kind, payroll.pay_step, payroll.position_id) == ("appointment", 1, "P-ITAT-02")
        orders = s.exec(select(WorkOrder).where(WorkOrder.employee_id == "E1031")).all()
        assert sorted((o.kind, o.status, o.done_by) for o in orders) == [
            ("account", "done", "E1012"),
            ("desktop", "done", "E1012"),
            ("phone_directory", "done", "E1012"),
            ("voice_data", "done", "E1012"),
        ]
    rows = onboard.task_rows(handle.id)
    assert {t: r.status for t, r in rows.items()} == {t: ob.COMPLETED for t in tasks}
    assert onboard.notices(handle.id, "orientation_scheduled") == ["E1031", "E1031"]
    assert onboard.notices(probation.id, "probation_reminder") == [ITAT_SUPERVISOR, ITAT_SUPERVISOR]
    mail = await delivered(onboard.engine, onboard.smtp, probation.id)
    subjects = [str(m["Subject"]) for m in mail]
    assert f"Your new-employee orientation is on {starts_on}" in subjects
    assert any(s.startswith("Probation of E1031 ends") for s in subjects)


async def test_a_probation_extended_once_then_passed(onboard: Onboard):
    employee = onboard.add_employee("E2001")  # no position: six months, the person's supervisor
    today = await onboard.today()
    handle = await onboard.start_probation(employee, today)
    status = await onboard.wait_for_probation(handle, lambda s: s.ends_at is not None)
    assert status.ends_on == add_months(today, 6) and status.supervisor_id == IT_MANAGER
    await onboard.env.sleep(status.ends_at - await onboard.env.get_current_time() + timedelta(hours=1))
    before = await onboard.wait_for_step(handle, "decision-1")

    # bad input: refused with the reason, nothing changed
    cause = await _refused(onboard.decide(handle, IT_MANAGER, ob.RELEASE))
    assert cause.endswith("a release from probation needs a reason")
    cause = await _refused(onboard.decide(handle, IT_MANAGER, ob.EXTEND, details=extension(45)))
    assert cause.endswith("an extension needs a reason")
    cause = await _refused(onboard.decide(handle, IT_MANAGER, ob.EXTEND, comment="more time"))
    assert "needs probation_extension details" in cause
    cause = await _refused(onboard.decide(handle, HR_SUPERVISOR, ob.PASS))
    assert "E1005 is not a respondent of step decision-1" in cause
    assert (await onboard.probation(handle)).open_steps == before.open_steps

    reason = "Needs more time on the ticketing system"
    await onboard.decide(handle, IT_MANAGER, ob.EXTEND, comment=reason, details=extension(45))
    await onboard.wait_for_step(handle, "concurrence-1")
    await onboard.decide(handle, HR_SUPERVISOR, ob.CONCUR)
    extended = await onboard.wait_for_probation(
        handle, lambda s: s.extension is not None and s.stage == ob.SERVING
    )
    assert extended.extension is not None
    assert (extended.extension.days, extended.extension.reason) == (45, reason)
    assert extended.ends_on == status.ends_on + timedelta(days=45)

    await onboard.env.sleep(extended.ends_at - await onboard.env.get_current_time() + timedelta(hours=1))
    before = await onboard.wait_for_step(handle, "decision-2")
    cause = await _refused(
        onboard.decide(handle, IT_MANAGER, ob.EXTEND, comment="again", details=extension(30))
    )
    assert cause.endswith(f"already extended once (to {extended.ends_on}); it may be extended only once")
    after = await onboard.probation(handle)
    assert (after.open_steps, after.extension, after.ends_at) == (
        before.open_steps,
        extended.extension,
        extended.ends_at,
    )
    await onboard.decide(handle, IT_MANAGER, ob.PASS)
    await onboard.wait_for_step(handle, "concurrence-2")
    await onboard.decide(handle, HR_SUPERVISOR, ob.RETURN, comment="Add the evaluation first")
    await onboard.wait_for_step(handle, "decision-3")  # HR returned it: the supervisor decides again
    await onboard.decide(handle, IT_MANAGER, ob.PASS, comment="Evaluation attached")
    await onboard.wait_for_step(handle, "concurrence-3")
    await onboard.decide(handle, HR_TECHNICIAN, ob.CONCUR)
    result = await handle.result()
    assert (result.outcome, result.extended_days, result.permanent_on) == (ob.PERMANENT, 45, extended.ends_on)
    final = await onboard.probation(handle)
    assert final.reminders_sent == [30, 14, 30, 14]
    assert [(e.kind, e.effective_on) for e in onboard.history(employee)] == [
        ("probation_started", today),
        ("probation_extended", extended.ends_on),
        ("permanent", extended.ends_on),
    ]
    assert onboard.employment_status(employee) == PERMANENT
    assert sorted(onboard.notices(handle.id, "probation_extended")) == sorted([employee, IT_MANAGER])


async def test_a_release_runs_the_separation(onboard: Onboard):
    employee = onboard.add_employee("E2002", position_id="P-ITAT-02", supervisor="E1015")
    today = await onboard.today()
    handle = await onboard.start_probation(employee, today, length=timedelta(days=30))
    status = await onboard.wait_for_probation(handle, lambda s: s.ends_at is not None)
    assert status.ends_on == today + timedelta(days=30)
    await onboard.env.sleep(status.ends_at - await onboard.env.get_current_time() + timedelta(hours=1))
    await onboard.wait_for_step(handle, "decision-1")
    await onboard.decide(handle, ITAT_SUPERVISOR, ob.RELEASE, comment="Did not meet the standard")
    await onboard.wait_for_step(handle, "concurrence-1")
    await onboard.decide(handle, HR_TECHNICIAN, ob.CONCUR)
    result = await handle.result()  # the probation does not wait for the separation
    assert result.outcome == ob.RELEASED
    assert result.action_workflow_id == f"personnel-action-{employee}-release-{today:%Y%m%d}"

    action = onboard.client.get_workflow_handle(result.action_workflow_id)

    async def separated() -> str | None:
        return onboard.employment_status(employee)

    await poll_until(separated, lambda s: s == "separated", 30)
    with Session(onboard.engine) as s:
        separation = s.exec(select(SeparationEvent).where(SeparationEvent.employee_id == employee)).one()
        assert (separation.kind, separation.effective_on) == ("release", await onboard.today())
    while (current := await action.query("status")).get("outcome") is None:  # IT's work orders
        for step in current["open_steps"]:
            if step["pending"]:
                await onboard.decide(action, step["pending"][0], "done", step_id=step["step_id"])
        await asyncio.sleep(0.05)
    assert current["outcome"] == "executed" and current["kind"] == "release"


async def test_a_missing_cjis_clearance_is_escalated_at_30_days_and_awaited_at_the_end(onboard: Onboard):
    employee = onboard.add_employee("E2003", position_id="P-CI1659-04")  # licence and CJIS
    today = await onboard.today()
    handle = await onboard.start_probation(employee, today)
    status = await onboard.wait_for_probation(handle, lambda s: s.ends_at is not None)
    assert status.cjis_required and status.cjis_cleared_on is None
    check = status.ends_at - timedelta(days=30)
    await onboard.env.sleep(check - await onboard.env.get_current_time() + timedelta(hours=1))
    status = await onboard.wait_for_probation(handle, lambda s: s.cjis_escalated)
    assert status.reminders_sent == [30]
    assert onboard.notices(handle.id, "cjis_missing") == [HR_SUPERVISOR]
    escalated = [e for e in onboard.audit(handle.id) if e.action == "escalated"]
    assert [(e.step_id, e.comment) for e in escalated] == [
        ("cjis", f"to E1005: CJIS clearance not on record; the probation ends {status.ends_on}")
    ]
    cjis = ob.CjisInput(actor_id=IT_MANAGER, cleared_on=today)
    assert "E1011 may not record a CJIS clearance" in await _refused(
        handle.execute_update(ob.RECORD_CJIS, cjis)
    )
    future = ob.CjisInput(actor_id=HR_REVIEWER, cleared_on=status.ends_on)
    assert "is in the future" in await _refused(handle.execute_update(ob.RECORD_CJIS, future))

    await onboard.env.sleep(status.ends_at - await onboard.env.get_current_time() + timedelta(hours=1))
    await onboard.wait_for_step(handle, "decision-1")
    await onboard.decide(handle, IT_MANAGER, ob.PASS)
    await onboard.wait_for_step(handle, "concurrence-1")
    await onboard.decide(handle, HR_SUPERVISOR, ob.CONCUR)
    waiting = await onboard.wait_for_step(handle, "cjis")
    assert waiting.stage == ob.AWAITING_CJIS and waiting.outcome is None
    assert onboard.employment_status(employee) is None  # not permanent while it waits
    cause = await _refused(onboard.decide(handle, HR_REVIEWER, ob.RECORDED, step_id="cjis"))
    assert cause.endswith("answer cjis with `hr probation cjis`")
    await onboard.env.sleep(timedelta(days=2))
    cleared_on = await onboard.today()
    recorded = await handle.execute_update(
        ob.RECORD_CJIS,
        ob.CjisInput(actor_id=HR_REVIEWER, cleared_on=cleared_on),
        result_type=ob.ProbationStatus,
    )
    assert recorded.cjis_cleared_on == cleared_on
    result = await handle.result()
    assert (result.outcome, result.permanent_on) == (ob.PERMANENT, cleared_on)  # it waited for it
    assert [e.kind for e in onboard.history(employee)] == ["probation_started", "cjis_cleared", "permanent"]
    assert onboard.employment_status(employee) == PERMANENT
    # The UI's timeline says what each of the probation clock's timers waited for.
    history = await handle.fetch_history()
    summaries = [
        pydantic_data_converter.payload_converter.from_payload(e.user_metadata.summary, str)
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED and e.user_metadata.HasField("summary")
    ]
    assert summaries[:3] == [
        "CJIS clearance check",
        "probation reminder 14 days before the end",  # the 30-day one fell with the CJIS check
        "probation ends",
    ]


async def test_onboarding_refusals_a_late_task_a_reopened_task_and_a_withdrawal(onboard: Onboard):
    unknown = await onboard.start("E9999", await onboard.today())
    with pytest.raises(WorkflowFailureError) as failed:
        await unknown.result()
    assert "unknown employee E9999" in str(failed.value.cause)

    employee = onboard.add_employee("E2004", position_id="P-CI1659-04")
    today = await onboard.today()
    starts_on = today + timedelta(days=10)
    handle = await onboard.start(employee, starts_on, probation=timedelta(days=60))
    await onboard.wait_for_task(handle, ob.DRIVER_LICENSE)  # the position needs a licence
    # bad input: refused with the reason, nothing changed
    before = await onboard.status(handle)
    assert "E1022 is not a respondent of step it-desktop" in await _refused(
        onboard.decide(handle, "E1022", ob.DONE, step_id=ob.IT_DESKTOP)
    )
    assert f"the orientation date {today - timedelta(days=1)} is in the past" in await _refused(
        onboard.done(handle, ob.ORIENTATION, details=orientation_on(today - timedelta(days=1)))
    )
    reopen = ob.ReopenTaskInput(actor_id=HR_TECHNICIAN, task=ob.IT_PHONE, reason="wrong extension")
    assert "task it-phone-directory is open, not done" in await _refused(
        handle.execute_update(ob.REOPEN_TASK, reopen)
    )
    assert "E1012 may not re-open a task" in await _refused(
        handle.execute_update(ob.REOPEN_TASK, reopen.model_copy(update={"actor_id": "E1012"}))
    )
    assert (await onboard.status(handle)).tasks == before.tasks

    # the IT account is done a day late: recorded late (after a reminder and the escalation)
    account_due = next(t.due_at for t in before.tasks if t.task == ob.IT_ACCOUNT)
    await onboard.env.sleep(account_due - await onboard.env.get_current_time() + timedelta(days=1))
    await onboard.wait_for_task(handle, ob.IT_ACCOUNT)
    await onboard.complete_first_tasks(handle, orientation=starts_on, benefits=starts_on)
    status = await onboard.status(handle)
    late = [t.task for t in status.tasks if t.late]
    assert ob.IT_ACCOUNT in late and ob.POLICIES not in late
    assert "done_late" in [e.action for e in onboard.audit(handle.id) if e.step_id == ob.IT_ACCOUNT]
    assert onboard.notices(handle.id, "escalation")  # the overdue went to the HR supervisor

    # HR re-opens a done task with a reason; it is done again, and both are recorded
    assert "a re-opening needs a reason" in await _refused(
        handle.execute_update(ob.REOPEN_TASK, reopen.model_copy(update={"reason": " "}))
    )
    view = await handle.execute_update(ob.REOPEN_TASK, reopen, result_type=ob.TaskView)
    assert (view.state, view.step_id, view.times_reopened) == (ob.REOPENED, "it-phone-directory.2", 1)
    assert "is reopened, not done" in await _refused(handle.execute_update(ob.REOPEN_TASK, reopen))
    await onboard.done(handle, ob.IT_PHONE, actor="E1013", comment="ext. 4417")
    row = onboard.task_rows(handle.id)[ob.IT_PHONE]
    assert (row.status, row.times_reopened, row.completed_by, row.detail) == (
        ob.COMPLETED,
        1,
        "E1013",
        "ext. 4417",
    )
    with Session(onboard.engine) as s:
        order = s.exec(select(WorkOrder).where(WorkOrder.kind == "phone_directory")).one()
        assert (order.status, order.done_by, order.note) == ("done", "E1013", "ext. 4417")

    await onboard.env.sleep(starts_on - await onboard.today() + timedelta(hours=1))
    await onboard.done(handle, ob.ORIENTATION_ATTENDANCE)
    await onboard.done(handle, ob.BENEFITS_ATTENDANCE)
    status = await onboard.wait_for(handle, lambda s: s.probation is not None)
    assert status.probation is not None
    probation = onboard.client.get_workflow_handle(status.probation.workflow_id)
    await onboard.wait_for_probation(probation, lambda s: s.ends_at is not None)
    # HR withdraws the onboarding during the probation: the probation is cancelled with it
    await handle.execute_update(
        "withdraw", WithdrawInput(actor_id=HR_TECHNICIAN, reason="appointment rescinded")
    )
    result = await handle.result()
    assert result.outcome == ob.WITHDRAWN and result.tasks_late == late
    assert result.tasks_reopened == [ob.IT_PHONE]
    with pytest.raises(WorkflowFailureError):
        await probation.result()
