"""Leave end to end on the time-skipping server, with real activities, store (SQLite and
PostgreSQL) and SMTP: an intermittent leave used until the entitlement is exhausted (counting an
earlier leave's absences), then referred to the benefits representative; a certification that
never arrives; a workers' compensation claim decided by the third-party administrator, extended,
then a return with a fitness-for-duty certificate; and the refusals that change nothing."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from schemas import leave as lv
from schemas.search_attributes import HR_ACTION_TYPE, HR_EMPLOYEE_ID, HR_STAGE
from service.signing import SigningInterceptor
from tests.conftest import _city_at_work
from tests.harness_common import delivered
from tests.leave_harness import (
    BENEFITS_REP,
    EMPLOYEE,
    HR_APPROVER,
    HR_SUPERVISOR,
    HR_TECHNICIAN,
    SUPERVISOR,
    Leaves,
    extended_to,
    fitness_on,
    tpa_claim,
)
from tests.signing import token_for, unsigned

DIAGNOSIS = "recurrent migraine, see attached MRI 4471"


@pytest_asyncio.fixture(loop_scope="session")
async def leaves(time_skipping_env, engine, db_url, smtp):
    """Leaves on the time-skipping server (``tests.conftest._city_at_work``)."""
    async with _city_at_work(time_skipping_env, engine, db_url, smtp) as parts:
        yield Leaves(**parts)


async def _refused(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await call
    cause = err.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InputRefused"
    return cause.message


async def test_an_intermittent_leave_used_until_exhausted_is_referred(leaves: Leaves, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    today = await leaves.today()
    leaves.eligible(EMPLOYEE, today)
    leaves.give_role(BENEFITS_REP, lv.BENEFITS_REP_ROLE)
    # An earlier leave two months ago took 440 hours: 40 are left in the rolling twelve months.
    leaves.earlier_leave(EMPLOYEE, today - timedelta(days=80), days=55, hours_a_day=8)
    handle = await leaves.start(today, today + timedelta(days=60), hours=40, reason="migraines")
    wid = handle.id

    status = await leaves.wait_for_step(handle, lv.CERTIFICATION_STEP)
    assert status.eligible and status.service_months >= 35 and status.hours_worked == 26 * 80
    assert status.certification_due_at is not None
    assert status.certification_due_at - status.open_steps[0].due_at == timedelta(0)
    assert (status.used_hours, status.remaining_hours) == (440, 40)

    # A certification from someone who is neither the employee nor HR: refused, nothing changed.
    cause = await _refused(leaves.certify(handle, SUPERVISOR, diagnosis=DIAGNOSIS))
    assert cause == (
        f"{SUPERVISOR} is neither the employee {EMPLOYEE} nor HR staff: "
        "a certification comes from one of them"
    )
    # ... and the generic decision is not its way in.
    cause = await _refused(leaves.decide(handle, EMPLOYEE, lv.CERTIFIED, step_id=lv.CERTIFICATION_STEP))
    assert cause == "answer certification with `hr leave certify`"
    assert leaves.certifications(wid) == []
    assert (await leaves.status(handle)).certified_by is None

    after = await leaves.certify(handle, EMPLOYEE, diagnosis=DIAGNOSIS, fitness_for_duty_required=False)
    assert after.certified_by == EMPLOYEE and after.fitness_for_duty_required is False
    [certification] = leaves.certifications(wid)
    assert certification.diagnosis == DIAGNOSIS and certification.submitted_by == EMPLOYEE

    status = await leaves.approve_through(handle, certify=False)
    assert (status.acknowledged_by, status.approved_by, status.designated_on) == (
        SUPERVISOR,
        HR_APPROVER,
        today,
    )
    mail = await delivered(leaves.engine, leaves.smtp, wid)
    designations = [
        m for m in mail if m["Subject"].startswith(f"Leave of {EMPLOYEE} approved and designated")
    ]
    assert sorted(m["To"] for m in designations) == ["ahmed.rahimi@city.example", "teresa.vance@city.example"]
    assert "40 hours remain today" in designations[0].get_payload()

    # Absences: 32 hours, then 16 more is refused with the balance, then the last 8 exhaust it.
    status = await leaves.absence(handle, EMPLOYEE, today, 8)
    status = await leaves.absence(
        handle, HR_TECHNICIAN, today + timedelta(days=1), 8, through=today + timedelta(days=3)
    )
    assert status.remaining_hours == 40 - 8 - 8 * len(status.absences[1:])
    taken = sum(a.hours for a in status.absences)
    left = 40 - taken
    day = today + timedelta(days=7)
    cause = await _refused(leaves.absence(handle, SUPERVISOR, day, left + 8))
    assert cause == (
        f"{left + 8:g} hours on {day} exceed the remaining entitlement: "
        f"{left:g} of 480 hours left in the twelve months to {day}"
    )
    cause = await _refused(leaves.absence(handle, EMPLOYEE, today + timedelta(days=61), 4))
    assert cause == f"absences are recorded inside the leave, {today} to {today + timedelta(days=60)}"
    cause = await _refused(leaves.absence(handle, "E1020", day, 1))
    assert cause == f"E1020 may not record {EMPLOYEE}'s absences"
    # An absence needs a credential that names its recorder: none, or another person's, is refused.
    absence = lv.AbsenceInput(actor_id=EMPLOYEE, on=day, hours=1)
    raw = unsigned(leaves.env.client).get_workflow_handle(wid)
    cause = await _refused(raw.execute_update(lv.RECORD_ABSENCE, absence))
    assert "carries no credential" in cause
    config = leaves.env.client.config()
    config["interceptors"] = [SigningInterceptor(lambda _actor: token_for(SUPERVISOR))]
    forged = Client(**config).get_workflow_handle(wid)
    cause = await _refused(forged.execute_update(lv.RECORD_ABSENCE, absence))
    assert cause == f"the credential names {SUPERVISOR}, not {EMPLOYEE}"
    assert len(leaves.absence_rows(wid)) == len(status.absences)

    await leaves.absence(handle, EMPLOYEE, day, left)
    status = await leaves.wait_for_step(handle, lv.REFERRAL_STEP)
    assert status.stage == lv.REFERRAL and status.remaining_hours == 0 and status.referred_to == BENEFITS_REP
    assert "the entitlement is exhausted" in status.open_steps[0].title
    cause = await _refused(leaves.absence(handle, EMPLOYEE, day + timedelta(days=1), 1))
    assert cause.startswith("absences are recorded during an approved leave")

    # The diagnosis and the reason are in the store only: not in the id, search attributes,
    # summary, details, status, audit or mail.
    described = await handle.describe()
    visible = [wid, str(described.typed_search_attributes), str(described.static_summary)]
    visible.append(str(described.raw_description.workflow_extended_info))
    visible.append((await leaves.status(handle)).model_dump_json())
    for secret in (DIAGNOSIS, "migraine", "Valley Clinic"):
        assert not any(secret in text for text in visible), secret
    assert described.typed_search_attributes.get(HR_ACTION_TYPE) == "leave"
    assert described.typed_search_attributes.get(HR_EMPLOYEE_ID) == EMPLOYEE
    assert described.typed_search_attributes.get(HR_STAGE) == lv.REFERRAL

    await leaves.decide(handle, BENEFITS_REP, lv.ACCEPTED, comment="will call the employee")
    result = await handle.result()
    assert (result.outcome, result.used_hours, result.remaining_hours) == (lv.REFERRED, 480, 0)
    row = leaves.request_row(wid)
    assert row is not None and (row.status, row.referred_to, row.reason) == (
        lv.REFERRED,
        BENEFITS_REP,
        "migraines",
    )
    assert sum(a.hours for a in leaves.absence_rows(wid)) == 40
    actions = [(a.step_id, a.actor_id, a.action) for a in leaves.audit(wid)]
    assert (lv.REFERRAL_STEP, "system", "referred") in actions
    assert (lv.REFERRAL_STEP, BENEFITS_REP, lv.ACCEPTED) in actions
    stored = [a.comment or "" for a in leaves.audit(wid)] + [m.body + m.subject for m in leaves.outbox(wid)]
    assert not any(secret in text for text in stored for secret in (DIAGNOSIS, "migraine", "Valley Clinic"))
    logged = capsys.readouterr().out + caplog.text
    assert "leave recorded" in logged and "employee_id=E1025" in logged
    assert not any(secret in logged for secret in (DIAGNOSIS, "migraine", "Valley Clinic"))


async def test_a_leave_overlapping_an_approved_one_is_refused_and_nothing_is_written(leaves: Leaves):
    today = await leaves.today()
    leaves.eligible(EMPLOYEE, today)
    approved = leaves.earlier_leave(EMPLOYEE, today, days=20, hours_a_day=4)
    handle = await leaves.start(today + timedelta(days=10), today + timedelta(days=40))
    result = await handle.result()
    assert result.outcome == lv.REFUSED
    assert result.outcome_reason == (
        f"the dates overlap the approved leave {approved} ({today} to {today + timedelta(days=19)})"
    )
    assert leaves.request_row(handle.id) is None and leaves.audit(handle.id) == []

    # A requester who is neither HR nor the employee: refused at the start (signed starts).
    handle = await leaves.start(
        today + timedelta(days=30), today + timedelta(days=40), requested_by=SUPERVISOR
    )
    with pytest.raises(WorkflowFailureError) as err:
        await handle.result()
    cause = err.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "StartRefused"
    assert cause.message.startswith(f"start refused: {SUPERVISOR} has no HR role and may not request a leave")
    assert leaves.request_row(handle.id) is None and leaves.audit(handle.id) == []


async def test_a_certification_that_never_arrives_denies_the_leave_after_reminders(leaves: Leaves):
    today = await leaves.today()
    leaves.eligible(EMPLOYEE, today)
    handle = await leaves.start(today + timedelta(days=3), today + timedelta(days=30), schedule="continuous")
    status = await leaves.wait_for_step(handle, lv.CERTIFICATION_STEP)
    assert status.requested_hours == 8 * len(
        [d for d in range(28) if (today + timedelta(days=3 + d)).weekday() < 5]
    )
    result = await handle.result()  # time skips: reminders, escalation, the default
    assert (result.outcome, result.outcome_reason) == (
        lv.DENIED,
        f"no certification by {status.certification_due_at:%Y-%m-%d}",
    )
    wid = handle.id
    assert leaves.notices(wid, "reminder").count(EMPLOYEE) == 2
    assert leaves.notices(wid, "escalation") == [HR_SUPERVISOR]
    answers = [
        (a.actor_id, a.action, a.on_behalf_of)
        for a in leaves.audit(wid)
        if a.step_id == lv.CERTIFICATION_STEP
    ]
    assert ("system", lv.NOT_RECEIVED, EMPLOYEE) in answers
    row = leaves.request_row(wid)
    assert row is not None and row.status == lv.DENIED and row.designated_on is None
    assert leaves.certifications(wid) == []
    mail = await delivered(leaves.engine, leaves.smtp, wid)
    assert any(m["Subject"] == f"Outcome of {wid}: denied" for m in mail)


async def test_an_employee_short_of_hours_is_not_eligible(leaves: Leaves):
    today = await leaves.today()
    leaves.eligible(EMPLOYEE, today, hours_per_period=40)
    handle = await leaves.start(today, today + timedelta(days=10), leave_type="family")
    result = await handle.result()
    assert result.outcome == lv.INELIGIBLE
    assert result.outcome_reason == (
        f"1040 hours worked in the twelve months before {today}; 1250 are needed"
    )


async def test_workers_comp_claim_by_the_tpa_then_extended_then_return_with_fitness_for_duty(leaves: Leaves):
    today = await leaves.today()
    leaves.eligible(EMPLOYEE, today)
    adjuster = leaves.add_tpa()
    ends = today + timedelta(days=13)
    handle = await leaves.start(today, ends, leave_type="workers_comp", schedule="continuous")
    await leaves.wait_for_step(handle, lv.CERTIFICATION_STEP)
    await leaves.certify(handle, HR_TECHNICIAN, diagnosis="fractured wrist at work")
    status = await leaves.wait_for_step(handle, lv.TPA_STEP)
    assert status.open_steps[0].pending == [adjuster]
    cause = await _refused(leaves.decide(handle, adjuster, lv.ACCEPT, step_id=lv.TPA_STEP))
    assert cause == f"decision 'accept' at step {lv.TPA_STEP} needs tpa_claim details"
    await leaves.decide(handle, adjuster, lv.ACCEPT, step_id=lv.TPA_STEP, details=tpa_claim("WC-2026-0042"))
    status = await leaves.approve_through(handle, certify=False)
    assert (status.tpa_claim_number, status.tpa_decision) == ("WC-2026-0042", lv.ACCEPT)
    assert status.fitness_for_duty_required is True

    await leaves.absence(handle, HR_TECHNICIAN, today, 8, through=ends)
    await leaves.env.sleep(timedelta(days=14))
    status = await leaves.wait_for_step(handle, f"{lv.RETURN_PREFIX}1")
    assert "fitness-for-duty certificate required" in status.open_steps[0].title
    cause = await _refused(leaves.decide(handle, HR_APPROVER, lv.RETURNED, step_id="return-1"))
    assert cause == "decision 'returned' at step return-1 needs fitness_for_duty details"
    cause = await _refused(
        leaves.decide(
            handle, HR_APPROVER, lv.EXTEND, step_id="return-1", comment="surgery", details=extended_to(ends)
        )
    )
    assert cause == f"an extension moves the end ({ends}) later, not to {ends}"
    new_end = ends + timedelta(days=14)
    await leaves.decide(
        handle, HR_APPROVER, lv.EXTEND, step_id="return-1", comment="surgery", details=extended_to(new_end)
    )
    status = await leaves.wait_for(handle, lambda s: s.stage == lv.ON_LEAVE and s.ends_on == new_end)
    assert [(e.from_ends_on, e.to_ends_on) for e in status.extensions] == [(ends, new_end)]
    await leaves.env.sleep(timedelta(days=15))
    await leaves.wait_for_step(handle, f"{lv.RETURN_PREFIX}2")
    back = await leaves.today()
    await leaves.decide(handle, HR_APPROVER, lv.RETURNED, step_id="return-2", details=fitness_on(back))
    result = await handle.result()
    assert result.outcome == lv.RETURNED
    row = leaves.request_row(handle.id)
    assert row is not None
    assert (row.status, row.ends_on, row.fitness_for_duty_on, row.tpa_claim_number) == (
        lv.RETURNED,
        new_end,
        back,
        "WC-2026-0042",
    )
