"""The record of leaves: what the store says when a leave is requested, and what each moment of
it writes.

``resolve_leave`` reads the employee's facts, their start of service, the hours they worked in
the twelve months before the leave, the absences of their earlier leaves (which count against
the same rolling entitlement) and who the third-party administrator and the benefits
representative are; it refuses a requester who is neither HR nor the employee, and dates that
overlap an approved leave. It writes nothing.

``record_leave`` writes one moment in one transaction (the request's row, written whole; the
certification; absences; audit rows, each once per key), then queues its notices. When the
leave becomes approved it takes the employee's row lock first and refuses (writing nothing) if
another approved leave overlaps, so two approvals at once cannot both stand.

Logs carry ids, dates and hours only: never a diagnosis, a provider or a reason.
"""

from __future__ import annotations

from datetime import date

import structlog
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio import activity

from activities.directory import is_hr_staff
from activities.notifications import NotificationActivities
from activities.onboarding import employee_facts, role_members
from activities.store import get_by_key, lock_row
from schemas import leave as lv
from schemas.employment import SEPARATED
from schemas.leave_tables import HoursWorked, LeaveAbsence, LeaveCertification, LeaveRequest
from schemas.tables import AuditEvent, EmploymentEvent, Hire, Person
from workflows.rules.leave import one_year_before, overlap

NOT_APPROVED = frozenset({lv.DENIED, lv.WITHDRAWN, lv.CANCELLED, lv.REFUSED, lv.INELIGIBLE})


def _log() -> structlog.stdlib.BoundLogger:
    log = structlog.get_logger("hr.leave")
    if activity.in_activity():
        info = activity.info()
        log = log.bind(workflow_id=info.workflow_id, activity=info.activity_type)
    return log


def service_start(session: Session, employee_id: str) -> date | None:
    """The first day of service: the earliest appointment in the employment history, else the
    start date of the latest hire."""
    appointed = session.exec(
        select(col(EmploymentEvent.effective_on))
        .where(EmploymentEvent.employee_id == employee_id)
        .where(EmploymentEvent.kind == "appointed")
        .order_by(col(EmploymentEvent.effective_on))
    ).first()
    if appointed is not None:
        return appointed
    hire = session.exec(
        select(Hire).where(Hire.employee_id == employee_id).order_by(col(Hire.start_date))
    ).first()
    return hire.start_date if hire else None


def hours_worked(session: Session, employee_id: str, before: date) -> float:
    """Hours worked in the pay periods ending in the twelve months up to ``before``."""
    rows = session.exec(
        select(HoursWorked)
        .where(HoursWorked.employee_id == employee_id)
        .where(HoursWorked.period_ends_on > one_year_before(before))
        .where(HoursWorked.period_ends_on <= before)
    ).all()
    return float(sum(r.hours for r in rows))


def approved_leaves(session: Session, employee_id: str, except_id: str) -> list[LeaveRequest]:
    rows = session.exec(
        select(LeaveRequest)
        .where(LeaveRequest.employee_id == employee_id)
        .where(LeaveRequest.id != except_id)
        .where(col(LeaveRequest.designated_on).is_not(None))
    ).all()
    return [r for r in rows if r.status not in NOT_APPROVED]


def overlap_problem(
    session: Session, employee_id: str, leave_id: str, starts_on: date, ends_on: date
) -> str | None:
    periods = [(r.id, r.starts_on, r.ends_on) for r in approved_leaves(session, employee_id, leave_id)]
    return overlap(starts_on, ends_on, periods)


def absences_of(
    session: Session, employee_id: str, after: date, except_leave: str | None = None
) -> list[lv.AbsenceDay]:
    """The employee's absences after ``after`` (of every leave but ``except_leave``), by date."""
    query = (
        select(LeaveAbsence)
        .where(LeaveAbsence.employee_id == employee_id)
        .where(LeaveAbsence.on > after)
        .order_by(col(LeaveAbsence.on), col(LeaveAbsence.id))
    )
    if except_leave is not None:
        query = query.where(LeaveAbsence.leave_id != except_leave)
    return [lv.AbsenceDay(on=a.on, hours=a.hours, leave_id=a.leave_id) for a in session.exec(query).all()]


class LeaveActivities:
    """Reads and writes of the leave process, with an engine and the notices' outbox."""

    def __init__(self, engine: Engine, notifications: NotificationActivities) -> None:
        self.engine = engine
        self.notifications = notifications

    @activity.defn(name="resolve_leave")
    def resolve_leave(self, inp: lv.LeaveQuery) -> lv.LeaveOpened:
        """The facts a leave starts from, or why it is refused (nothing is written either way)."""
        leave = inp.leave
        with Session(self.engine) as session:
            person = session.get(Person, leave.employee_id)
            if person is None:
                return lv.LeaveOpened(refused=f"unknown employee {leave.employee_id}")
            if not person.active or person.employment_status == SEPARATED:
                return lv.LeaveOpened(refused=f"{leave.employee_id} is separated; no leave can start")
            requester = session.get(Person, leave.requested_by)
            if requester is None or not (requester.id == leave.employee_id or is_hr_staff(requester)):
                return lv.LeaveOpened(
                    refused=f"{leave.requested_by} is neither {leave.employee_id} nor HR staff "
                    "and may not request this leave"
                )
            problem = overlap_problem(
                session, leave.employee_id, inp.workflow_id, leave.starts_on, leave.ends_on
            )
            if problem:
                _log().info("leave refused", employee_id=leave.employee_id, why="overlap")
                return lv.LeaveOpened(refused=problem)
            facts = employee_facts(session, leave.employee_id)
            reps = role_members(session, lv.BENEFITS_REP_ROLE)
            opened = lv.LeaveFacts(
                employee=facts,
                service_start=service_start(session, leave.employee_id),
                hours_worked=hours_worked(session, leave.employee_id, leave.starts_on),
                prior_absences=absences_of(
                    session, leave.employee_id, one_year_before(leave.starts_on), except_leave=inp.workflow_id
                ),
                tpa_ids=role_members(session, lv.TPA_ROLE),
                benefits_rep_id=reps[0] if reps else facts.hr_supervisor_id,
            )
        _log().info(
            "leave resolved",
            employee_id=leave.employee_id,
            prior_absences=len(opened.prior_absences),
            hours_worked=opened.hours_worked,
        )
        return lv.LeaveOpened(facts=opened)

    @activity.defn(name="record_leave")
    def record_leave(self, inp: lv.LeaveRecords) -> lv.LeaveWritten:
        """Writes ``inp``'s rows in one transaction, then queues its notices (idempotent by key)."""
        with Session(self.engine) as session:
            if inp.leave is not None:
                row = inp.leave
                if inp.approving:
                    lock_row(session, Person.id, inp.employee_id)  # approvals of one employee queue up
                    problem = overlap_problem(
                        session, inp.employee_id, inp.workflow_id, row.starts_on, row.ends_on
                    )
                    if problem:
                        session.rollback()
                        _log().info("leave approval refused", employee_id=inp.employee_id, why="overlap")
                        return lv.LeaveWritten(refused=problem)
                stored = session.get(LeaveRequest, inp.workflow_id)
                if stored is None:
                    stored = LeaveRequest(
                        id=inp.workflow_id,
                        run_id=inp.run_id,
                        employee_id=inp.employee_id,
                        created_at=row.at,
                        updated_at=row.at,
                        **row.model_dump(exclude={"leave_id", "at"}),
                    )
                else:
                    for field, value in row.model_dump(exclude={"leave_id", "at"}).items():
                        setattr(stored, field, value)
                    stored.updated_at = row.at
                session.add(stored)
                session.flush()
            if inp.certification is not None:
                c = inp.certification
                if get_by_key(session, LeaveCertification, c.key) is None:
                    session.add(LeaveCertification(leave_id=inp.workflow_id, **c.model_dump()))
            for a in inp.absences:
                if get_by_key(session, LeaveAbsence, a.key) is None:
                    session.add(
                        LeaveAbsence(leave_id=inp.workflow_id, employee_id=inp.employee_id, **a.model_dump())
                    )
            for audit in inp.audits:
                if get_by_key(session, AuditEvent, audit.key) is None:
                    session.add(AuditEvent(**audit.model_dump()))
            session.commit()
        for notice in inp.notices:
            self.notifications.notify(notice)
        _log().info(
            "leave recorded",
            employee_id=inp.employee_id,
            status=inp.leave.status if inp.leave else None,
            certification=inp.certification is not None,
            absences=len(inp.absences),
            audits=len(inp.audits),
            notices=len(inp.notices),
        )
        return lv.LeaveWritten()
