"""The leave's store activities against a real database (SQLite, and PostgreSQL when configured):
a retried write changes nothing twice; an approval that would overlap another approved leave is
refused and writes nothing; the facts a request starts from (service, hours worked, absences of
earlier leaves, refusals)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import Engine
from sqlmodel import Session, select

from activities.leave import LeaveActivities
from activities.notifications import NotificationActivities
from activities.seed import seed_city
from schemas import leave as lv
from schemas.human_step import AuditInput
from schemas.leave_tables import LeaveAbsence, LeaveCertification, LeaveRequest
from schemas.tables import AuditEvent
from tests.leave_harness import add_earlier_leave, make_eligible

AT = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
TODAY = AT.date()
EMPLOYEE = "E1025"


def _acts(engine: Engine) -> LeaveActivities:
    seed_city(engine)
    return LeaveActivities(engine, NotificationActivities(engine))


def _row(status: str, starts_on: date, ends_on: date, designated: bool = False) -> lv.LeaveRow:
    return lv.LeaveRow(
        leave_id="x",
        leave_type="medical",
        schedule="intermittent",
        starts_on=starts_on,
        ends_on=ends_on,
        requested_hours=40,
        weekly_hours=40,
        entitlement_hours=480,
        status=status,
        requested_by="E1008",
        reason="private reason",
        designated_on=starts_on if designated else None,
        at=AT,
    )


def _records(wid: str, **parts: object) -> lv.LeaveRecords:
    return lv.LeaveRecords(workflow_id=wid, run_id="run-1", employee_id=EMPLOYEE, **parts)  # type: ignore[arg-type]


def test_a_retried_write_changes_nothing_twice(engine: Engine):
    acts = _acts(engine)
    wid = lv.leave_workflow_id(EMPLOYEE, TODAY)
    records = _records(
        wid,
        leave=_row(lv.ON_LEAVE, TODAY, TODAY + timedelta(days=30), designated=True),
        certification=lv.CertificationRecord(
            key=f"{wid}:run-1:certification:received",
            submitted_by=EMPLOYEE,
            provider="Valley Clinic",
            diagnosis="lumbar strain",
            incapacity_from=None,
            incapacity_to=None,
            fitness_for_duty_required=None,
            at=AT,
        ),
        absences=[
            lv.AbsenceRecord(
                key=f"{wid}:run-1:absence:{n}",
                on=TODAY + timedelta(days=n),
                hours=4,
                recorded_by=EMPLOYEE,
                at=AT,
            )
            for n in range(3)
        ],
        audits=[
            AuditInput(
                key=f"{wid}:run-1:absence:absence:0",
                workflow_id=wid,
                step_id="absence",
                actor_id=EMPLOYEE,
                action="absence_recorded",
                at=AT,
            )
        ],
    )
    assert acts.record_leave(records).refused is None
    assert acts.record_leave(records).refused is None
    with Session(engine) as s:
        assert len(s.exec(select(LeaveAbsence)).all()) == 3
        assert len(s.exec(select(LeaveCertification)).all()) == 1
        assert len(s.exec(select(AuditEvent).where(AuditEvent.workflow_id == wid)).all()) == 1
        row = s.get(LeaveRequest, wid)
        assert row is not None and (row.status, row.reason) == (lv.ON_LEAVE, "private reason")


def test_an_approval_that_overlaps_another_approved_leave_is_refused_and_writes_nothing(engine: Engine):
    acts = _acts(engine)
    first = lv.leave_workflow_id(EMPLOYEE, TODAY)
    second = lv.leave_workflow_id(EMPLOYEE, TODAY + timedelta(days=10))
    acts.record_leave(
        _records(second, leave=_row(lv.APPROVAL, TODAY + timedelta(days=10), TODAY + timedelta(days=40)))
    )
    assert (
        acts.record_leave(
            _records(first, leave=_row(lv.ON_LEAVE, TODAY, TODAY + timedelta(days=30), True), approving=True)
        ).refused
        is None
    )
    audit = AuditInput(
        key=f"{second}:run-1:designation:designated",
        workflow_id=second,
        step_id="designation",
        actor_id="system",
        action="designated",
        at=AT,
    )
    written = acts.record_leave(
        _records(
            second,
            leave=_row(lv.ON_LEAVE, TODAY + timedelta(days=10), TODAY + timedelta(days=40), True),
            approving=True,
            audits=[audit],
        )
    )
    assert written.refused == (
        f"the dates overlap the approved leave {first} ({TODAY} to {TODAY + timedelta(days=30)})"
    )
    with Session(engine) as s:
        row = s.get(LeaveRequest, second)
        assert row is not None and (row.status, row.designated_on) == (lv.APPROVAL, None)
        assert s.exec(select(AuditEvent).where(AuditEvent.workflow_id == second)).all() == []


def test_the_facts_a_request_starts_from(engine: Engine):
    acts = _acts(engine)
    make_eligible(engine, EMPLOYEE, TODAY)
    earlier = add_earlier_leave(engine, EMPLOYEE, TODAY - timedelta(days=200), days=5, hours_a_day=8)
    add_earlier_leave(engine, EMPLOYEE, TODAY - timedelta(days=400), days=3, hours_a_day=8)  # over a year ago
    leave = lv.LeaveInput(
        employee_id=EMPLOYEE, leave_type="family", schedule="intermittent", starts_on=TODAY,
        ends_on=TODAY + timedelta(days=30), hours=16, requested_by="E1008",
    )  # fmt: skip
    opened = acts.resolve_leave(lv.LeaveQuery(workflow_id=lv.leave_workflow_id(EMPLOYEE, TODAY), leave=leave))
    assert opened.refused is None and opened.facts is not None
    facts = opened.facts
    assert facts.service_start == TODAY - timedelta(days=3 * 365) and facts.hours_worked == 26 * 80
    assert [(a.leave_id, a.hours) for a in facts.prior_absences] == [(earlier, 8.0)] * 5
    assert (
        facts.employee.supervisor_id == "E1024" and facts.benefits_rep_id == "E1005" and facts.tpa_ids == []
    )

    overlapping = leave.model_copy(update={"starts_on": TODAY - timedelta(days=198)})
    refused = acts.resolve_leave(lv.LeaveQuery(workflow_id="leave-x", leave=overlapping))
    assert refused.refused is not None and refused.refused.startswith(
        f"the dates overlap the approved leave {earlier}"
    )
    by_other = leave.model_copy(update={"requested_by": "E1020"})
    refused = acts.resolve_leave(lv.LeaveQuery(workflow_id="leave-y", leave=by_other))
    assert refused.refused == "E1020 is neither E1025 nor HR staff and may not request this leave"
    by_self = leave.model_copy(update={"requested_by": EMPLOYEE})
    assert acts.resolve_leave(lv.LeaveQuery(workflow_id="leave-z", leave=by_self)).refused is None
    with Session(engine) as s:
        assert s.get(LeaveRequest, "leave-x") is None
