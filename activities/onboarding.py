"""The record of onboarding and probation: the employee's facts, tasks, work orders, history.

``resolve_employee`` reads who the new employee is and who acts on their processes (ids only).
``record_employment`` writes what one moment of an onboarding or a probation decided, in one
transaction: task rows and IT work orders (each written whole, so a retry writes the same values,
and never back to an earlier state), the employment history and payroll changes (once per key),
the employee's status, the audit rows; then it queues the notices and, for steps opening now,
looks up the delegations. The workflows run both as local activities: single short transactions.

``place_in_position`` is HR's direct appointment into a vacant position (``hr onboarding start
--position``), before the onboarding starts.

Logs carry ids only: never a person's name or e-mail address.
"""

from __future__ import annotations

import structlog
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.directory import _one_with_role, active_delegates, hr_staff, is_hr_staff
from activities.notifications import NotificationActivities
from activities.store import get_by_key, lock_row
from schemas.employment import SEPARATED, EmployeeFacts
from schemas.onboarding import (
    CLOSED_UNFINISHED,
    COMPLETED,
    EmployeeQuery,
    EmploymentRecords,
    RecordsWritten,
)
from schemas.tables import (
    AuditEvent,
    Classification,
    Department,
    EmploymentEvent,
    Hire,
    OnboardingTask,
    PayrollChange,
    Person,
    Position,
    Recruitment,
    WorkOrder,
)

_STATUS_RANK = {COMPLETED: 1, CLOSED_UNFINISHED: 2}
"""A task row moves forward only: within a round open → done (or closed unfinished); a re-opening
starts the next round (``times_reopened``)."""


def _log() -> structlog.stdlib.BoundLogger:
    log = structlog.get_logger("hr.onboarding")
    if activity.in_activity():
        info = activity.info()
        log = log.bind(workflow_id=info.workflow_id, activity=info.activity_type)
    return log


def _refused(message: str, kind: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


def role_members(session: Session, role: str) -> list[str]:
    """The active people with ``role``, by id."""
    people = session.exec(select(Person).where(Person.active).order_by(col(Person.id))).all()
    return [p.id for p in people if role in p.roles]


def held_position(session: Session, employee_id: str) -> Position | None:
    return session.exec(
        select(Position).where(Position.incumbent_id == employee_id).order_by(col(Position.id))
    ).first()


def latest_hire(session: Session, employee_id: str) -> Hire | None:
    return session.exec(
        select(Hire).where(Hire.employee_id == employee_id).order_by(col(Hire.hired_at).desc())
    ).first()


def employee_facts(session: Session, employee_id: str) -> EmployeeFacts:
    """The employee's facts from the directory (``EmployeeFacts``), without any check."""
    person = session.get(Person, employee_id)
    if person is None:
        raise _refused(f"unknown employee {employee_id}", "UnknownEmployee")
    position = held_position(session, employee_id)
    class_code = position.class_code if position else None
    if class_code is None and (hire := latest_hire(session, employee_id)) is not None:
        recruitment = session.get(Recruitment, hire.recruitment_id)
        class_code = recruitment.class_code if recruitment else None
    cls = session.get(Classification, class_code) if class_code else None
    department_code = position.department_code if position else person.department_code
    department = session.get(Department, department_code)
    return EmployeeFacts(
        employee_id=person.id,
        active=person.active,
        employment_status=person.employment_status,
        department_code=department_code,
        class_code=class_code,
        position_id=position.id if position else None,
        supervisor_id=(position.supervisor_id if position else None) or person.supervisor_id,
        department_director_id=department.director_id if department else None,
        hr_supervisor_id=_one_with_role(session, "hr_supervisor"),
        hr_staff=hr_staff(session),
        payroll_ids=role_members(session, "payroll"),
        it_service_desk_ids=role_members(session, "it_service_desk"),
        finance_ids=role_members(session, "finance"),
        requires_driver_license=bool(position and position.requires_driver_license),
        requires_cjis=bool(position and position.requires_cjis),
        probation_months=cls.probation_months if cls else 6,
    )


def place_in_position(engine: Engine, employee_id: str, position_id: str) -> Position:
    """HR's direct appointment: the employee becomes the position's incumbent (with its
    supervisor and department). Refused (``ValueError``, one line) for an unknown position, one
    filled by someone else, or an employee who is not in the directory or is separated."""
    with Session(engine, expire_on_commit=False) as session:
        person = session.get(Person, employee_id)
        if person is None or not person.active or person.employment_status == SEPARATED:
            raise ValueError(f"{employee_id} is not an active person of the directory")
        lock_row(session, Position.id, position_id)  # two appointments to one position queue up
        position = session.exec(select(Position).where(Position.id == position_id)).first()
        if position is None:
            raise ValueError(f"unknown position {position_id}")
        if position.incumbent_id not in (None, employee_id):
            raise ValueError(f"position {position_id} is already filled by {position.incumbent_id}")
        held = held_position(session, employee_id)
        if held is not None and held.id != position_id:
            raise ValueError(f"{employee_id} already holds position {held.id}")
        position.incumbent_id = employee_id
        person.supervisor_id = position.supervisor_id
        person.department_code = position.department_code
        session.add(position)
        session.add(person)
        session.commit()
        return position


class OnboardingActivities:
    """Reads and writes of onboarding and probation, with an engine and the notices' outbox."""

    def __init__(self, engine: Engine, notifications: NotificationActivities) -> None:
        self.engine = engine
        self.notifications = notifications

    @activity.defn(name="resolve_employee")
    def resolve_employee(self, inp: EmployeeQuery) -> EmployeeFacts:
        """The employee's facts, with who acts on their onboarding or probation.

        Raises:
            ApplicationError: Non-retryable for an unknown or separated employee, a requester
                who is not HR staff, or a directory without the roles an onboarding needs.
        """
        with Session(self.engine) as session:
            facts = employee_facts(session, inp.employee_id)
            if not facts.active or facts.employment_status == SEPARATED:
                raise _refused(f"{inp.employee_id} is separated; no {inp.purpose} can start", "NotEmployed")
            requester = session.get(Person, inp.requested_by)
            if requester is None or not is_hr_staff(requester):
                raise _refused(
                    f"{inp.requested_by} has no HR role and may not start an {inp.purpose}", "NotHrStaff"
                )
        if inp.purpose == "onboarding":
            for role, people in (
                ("payroll", facts.payroll_ids),
                ("it_service_desk", facts.it_service_desk_ids),
            ):
                if not people:
                    raise _refused(f"the directory has nobody with the {role} role", "DirectoryError")
        _log().info("employee resolved", employee_id=facts.employee_id, position_id=facts.position_id)
        return facts

    @activity.defn(name="record_employment")
    def record_employment(self, inp: EmploymentRecords) -> RecordsWritten:
        """Writes ``inp``'s rows in one transaction, then queues its notices (idempotent by key)."""
        kept: str | None = None
        with Session(self.engine) as session:
            for t in inp.tasks:
                row = get_by_key(session, OnboardingTask, t.key)
                if row is None:
                    row = OnboardingTask(
                        key=t.key,
                        workflow_id=inp.workflow_id,
                        run_id=inp.run_id,
                        employee_id=inp.employee_id,
                        task=t.task,
                        owner=t.owner,
                        due_at=t.due_at,
                    )
                elif (t.times_reopened, _STATUS_RANK.get(t.status, 0)) < (
                    row.times_reopened,
                    _STATUS_RANK.get(row.status, 0),
                ):
                    continue  # a later state is already on record
                for field in ("owner", "due_at", "status", "completed_by", "completed_at", "late", "detail"):
                    setattr(row, field, getattr(t, field))
                row.times_reopened = t.times_reopened
                session.add(row)
            for w in inp.work_orders:
                order = get_by_key(session, WorkOrder, w.key)
                if order is None:
                    order = WorkOrder(
                        key=w.key,
                        workflow_id=inp.workflow_id,
                        run_id=inp.run_id,
                        employee_id=inp.employee_id,
                        kind=w.kind,
                        opened_at=w.opened_at,
                    )
                for field in ("status", "opened_at", "done_at", "done_by", "note"):
                    setattr(order, field, getattr(w, field))
                session.add(order)
            hire = latest_hire(session, inp.employee_id) if (inp.events or inp.payroll) else None
            pay_step = hire.pay_step if hire else None
            for e in inp.events:
                if get_by_key(session, EmploymentEvent, e.key) is None:
                    session.add(
                        EmploymentEvent(
                            **e.model_dump(exclude={"pay_step"}),
                            pay_step=e.pay_step if e.pay_step is not None else pay_step,
                            workflow_id=inp.workflow_id,
                            run_id=inp.run_id,
                            employee_id=inp.employee_id,
                        )
                    )
            for p in inp.payroll:
                if get_by_key(session, PayrollChange, p.key) is None:
                    session.add(
                        PayrollChange(
                            **p.model_dump(exclude={"details"}),
                            pay_step=pay_step,
                            details=dict(p.details),
                            workflow_id=inp.workflow_id,
                            employee_id=inp.employee_id,
                        )
                    )
            if inp.employment_status is not None:
                person = session.get(Person, inp.employee_id)
                if person is None:
                    raise _refused(f"unknown employee {inp.employee_id}", "UnknownEmployee")
                if person.employment_status == SEPARATED:
                    kept = SEPARATED
                elif person.employment_status != inp.employment_status:
                    person.employment_status = inp.employment_status
                    session.add(person)
            for a in inp.audits:
                if get_by_key(session, AuditEvent, a.key) is None:
                    session.add(AuditEvent(**a.model_dump()))
            session.commit()
            delegates = {}
            if inp.delegations is not None:
                delegates = active_delegates(session, set(inp.delegations.person_ids), inp.delegations.on)
        for notice in inp.notices:
            self.notifications.notify(notice)
        _log().info(
            "employment recorded",
            employee_id=inp.employee_id,
            tasks=[t.task for t in inp.tasks],
            events=[e.kind for e in inp.events],
            audits=len(inp.audits),
            notices=len(inp.notices),
        )
        return RecordsWritten(delegates=delegates, status_kept=kept)
