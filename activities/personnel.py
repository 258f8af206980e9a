"""The record of personnel actions (issue 9): the request and its checks, moves of the
effective date, the execution, the work orders.

``check_request`` is the one check of a request, run by the CLI before it starts a workflow and
again by ``open_personnel_action`` inside the transaction that records it. That transaction
first takes the employee's row lock (an ``UPDATE`` of the ``person`` row: a row lock on
PostgreSQL, the write lock on SQLite), so two requests for one employee are checked and recorded
one after the other: the second sees the first's row and is refused if they conflict.

Every write is keyed (the action's row id, or the workflow's ``run_key`` plus a suffix), so a
retried activity changes nothing twice; the execution is one transaction. Logs carry ids only.
"""

from __future__ import annotations

from datetime import date, datetime

import structlog
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select
from temporalio import activity

from activities.db import utcnow
from activities.directory import _one_with_role, hr_staff
from activities.store import get_by_key
from schemas.employment import SEPARATED, SEPARATIONS, EmployeeFacts, PersonnelActionInput
from schemas.personnel_action import (
    EXECUTED,
    IN_FLIGHT,
    REQUESTED,
    VOID,
    WORK_ORDER_KINDS,
    ActionFacts,
    ActionStatusInput,
    ExecuteActionInput,
    ExecutionResult,
    MoveDateRecord,
    OpenActionInput,
    OpenActionResult,
    WorkOrderDoneInput,
    action_row_id,
)
from schemas.tables import (
    Classification,
    Department,
    EmploymentEvent,
    PayrollChange,
    Person,
    PersonnelAction,
    Position,
    SeparationEvent,
    WorkOrder,
)
from workflows.rules import personnel as rules

PAYROLL_KIND = {
    "promotion": "promotion",
    "transfer": "transfer",
    "pay_change": "pay_change",
}
"""``PayrollChange.kind`` per action; every separation is ``final_pay``."""


def _log() -> structlog.stdlib.BoundLogger:
    log = structlog.get_logger("hr.personnel")
    if activity.in_activity():
        info = activity.info()
        log = log.bind(workflow_id=info.workflow_id, run_id=info.workflow_run_id, activity=info.activity_type)
    return log


# ----- the directory and the store, read ------------------------------------------------------------


def _with_role(session: Session, role: str) -> list[str]:
    return sorted(p.id for p in session.exec(select(Person).where(Person.active)).all() if role in p.roles)


def position_of(session: Session, employee_id: str) -> Position | None:
    """The position the employee holds (the first by id, should there be several)."""
    return session.exec(
        select(Position).where(Position.incumbent_id == employee_id).order_by(col(Position.id))
    ).first()


def _active(session: Session, person_id: str | None) -> str | None:
    """``person_id`` if that person is active in the directory (a separated director is nobody)."""
    person = session.get(Person, person_id) if person_id else None
    return person.id if person is not None and person.active else None


def employee_facts(session: Session, person: Person) -> EmployeeFacts:
    """The employee as the directory knows them, with who acts on their processes (a director or
    supervisor who is no longer active is left out: the approval goes up the line)."""
    position = position_of(session, person.id)
    department = session.get(Department, person.department_code)
    cls = session.get(Classification, position.class_code) if position else None
    return EmployeeFacts(
        employee_id=person.id,
        active=person.active,
        employment_status=person.employment_status,
        department_code=person.department_code,
        class_code=position.class_code if position else None,
        position_id=position.id if position else None,
        supervisor_id=_active(session, person.supervisor_id),
        department_director_id=_active(session, department.director_id if department else None),
        hr_supervisor_id=_one_with_role(session, "hr_supervisor"),
        hr_staff=hr_staff(session),
        payroll_ids=_with_role(session, "payroll"),
        it_service_desk_ids=_with_role(session, "it_service_desk"),
        finance_ids=_with_role(session, "finance"),
        requires_driver_license=position.requires_driver_license if position else False,
        requires_cjis=position.requires_cjis if position else False,
        probation_months=cls.probation_months if cls else 6,
    )


def in_flight(session: Session, employee_id: str, *, except_id: str | None = None) -> list[rules.InFlight]:
    """The employee's actions that have not executed or ended, oldest request first."""
    rows = session.exec(
        select(PersonnelAction)
        .where(PersonnelAction.employee_id == employee_id)
        .where(col(PersonnelAction.status).in_(IN_FLIGHT))
        .order_by(col(PersonnelAction.created_at), col(PersonnelAction.id))
    ).all()
    prefix = f"{employee_id}-"
    return [
        rules.InFlight(action_id=r.id.removeprefix(prefix), kind=r.kind, effective_on=r.effective_on)
        for r in rows
        if r.id != except_id
    ]


def separation_of(session: Session, employee_id: str) -> SeparationEvent | None:
    return session.exec(
        select(SeparationEvent)
        .where(SeparationEvent.employee_id == employee_id)
        .order_by(col(SeparationEvent.id).desc())
    ).first()


def _separated(session: Session, person: Person) -> str | None:
    """Why the person can have no action: separated (with how and when, if on record), inactive."""
    if person.employment_status == SEPARATED:
        event = separation_of(session, person.id)
        how = f" ({rules.label(event.kind)} effective {event.effective_on})" if event else ""
        return f"{person.id} has separated{how}"
    if not person.active:
        return f"{person.id} is not an active employee"
    return None


def check_request(
    session: Session, action: PersonnelActionInput, today: date, *, own_id: str | None = None
) -> ActionFacts:
    """The one check of a request: the people, who asks, the fields its kind needs, the date,
    the target position, the approval chain and the conflicts with actions in flight.

    Args:
        own_id: The action's own row (a retry of the opening) is no conflict with itself.

    Raises:
        rules.RuleRefused: with the one-line reason.
    """
    person = session.get(Person, action.employee_id)
    if person is None:
        raise rules.RuleRefused(f"unknown employee {action.employee_id}")
    if (why := _separated(session, person)) is not None:
        raise rules.RuleRefused(why)
    requester = session.get(Person, action.requested_by)
    if requester is None or not requester.active:
        raise rules.RuleRefused(f"{action.requested_by} is not an active person in the directory")
    facts = employee_facts(session, person)
    problem = (
        rules.request_refusal(action.kind, action.requested_by, action.employee_id, facts.hr_staff)
        or rules.fields_refusal(
            action.kind, action.new_class_code, action.new_position_id, action.new_pay_step
        )
        or rules.date_refusal(action.effective_on, today)
    )
    if problem:
        raise rules.RuleRefused(problem)
    if action.kind == "release" and facts.employment_status not in (None, "probation"):
        raise rules.RuleRefused(
            f"{action.employee_id} is {facts.employment_status}: a release is from probation only"
        )
    result = ActionFacts(employee=facts)
    if action.new_position_id is not None:
        result = _target(session, action, facts, result)
    if action.kind in SEPARATIONS and not facts.it_service_desk_ids:
        raise rules.RuleRefused(
            "the directory names no IT service desk (role it_service_desk) for the work orders"
        )
    result.chain = rules.approval_chain(
        action.kind,
        employee_id=action.employee_id,
        requested_by=action.requested_by,
        new_pay_step=action.new_pay_step,
        director_id=facts.department_director_id,
        supervisor_id=facts.supervisor_id,
        hr_supervisor_id=facts.hr_supervisor_id,
        hr_staff=facts.hr_staff,
        finance_ids=facts.finance_ids,
        target_director_id=result.target_director_id,
    )
    result.new_probation = rules.needs_probation(
        action.kind, facts.class_code, result.target_class_code, result.target_probation_months
    )
    conflict = rules.conflict_refusal(
        action.employee_id,
        action.kind,
        action.effective_on,
        in_flight(session, action.employee_id, except_id=own_id),
    )
    if conflict:
        raise rules.RuleRefused(conflict)
    return result


def _target(
    session: Session, action: PersonnelActionInput, facts: EmployeeFacts, result: ActionFacts
) -> ActionFacts:
    """The new position of a promotion or transfer: known, vacant, of the right class."""
    position_id = action.new_position_id
    position = session.get(Position, position_id)
    if position is None:
        raise rules.RuleRefused(f"unknown position {position_id}")
    if position.incumbent_id is not None:
        raise rules.RuleRefused(f"position {position_id} is filled (incumbent {position.incumbent_id})")
    if action.kind == "promotion" and position.class_code != action.new_class_code:
        raise rules.RuleRefused(
            f"position {position_id} is of classification {position.class_code}, not {action.new_class_code}"
        )
    if action.kind == "transfer" and facts.class_code is not None and position.class_code != facts.class_code:
        raise rules.RuleRefused(
            f"position {position_id} is of classification {position.class_code}; a transfer keeps "
            f"{facts.class_code} (a new class is a promotion)"
        )
    cls = session.get(Classification, position.class_code)
    department = session.get(Department, position.department_code)
    return result.model_copy(
        update={
            "target_position_id": position.id,
            "target_class_code": position.class_code,
            "target_department_code": position.department_code,
            "target_director_id": _active(session, department.director_id if department else None),
            "target_probation_months": cls.probation_months if cls else 0,
        }
    )


def _lock_employee(session: Session, employee_id: str) -> None:
    """Serialises the writers of one employee's actions until the transaction ends."""
    session.execute(update(Person).where(col(Person.id) == employee_id).values(active=col(Person.active)))


def actions_of(engine: Engine, employee_id: str) -> list[PersonnelAction]:
    """The employee's actions on record, oldest request first (``hr action status E…``)."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(PersonnelAction)
                .where(PersonnelAction.employee_id == employee_id)
                .order_by(col(PersonnelAction.created_at), col(PersonnelAction.id))
            ).all()
        )


# ----- the activities ---------------------------------------------------------------------------------


class PersonnelActivities:
    """Writes of the personnel action: its row, its moves, its execution, its work orders."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name="open_personnel_action")
    def open_personnel_action(self, inp: OpenActionInput) -> OpenActionResult:
        """Checks the request (``check_request``) and records it, status ``requested``, in one
        transaction under the employee's lock; a refusal writes nothing.

        A retry of the same run finds its row and returns the facts again (checked against
        every other action, not itself); a row of another run under this id is a refusal.
        """
        action = inp.action
        row_id = action_row_id(action.employee_id, action.action_id)
        with Session(self.engine) as session:
            _lock_employee(session, action.employee_id)
            existing = session.get(PersonnelAction, row_id)
            if existing is not None and existing.run_id != inp.run_id:
                return OpenActionResult(
                    refused=f"action {action.action_id} of {action.employee_id} is on record already"
                )
            try:
                facts = check_request(session, action, inp.today, own_id=row_id)
            except rules.RuleRefused as err:
                if existing is not None:  # recorded by an earlier attempt: the check passed then
                    return OpenActionResult(facts=ActionFacts.model_validate(existing.details["facts"]))
                session.rollback()
                _log().info("personnel action refused", employee_id=action.employee_id, kind=action.kind)
                return OpenActionResult(refused=str(err))
            if existing is None:
                session.add(
                    PersonnelAction(
                        id=row_id,
                        workflow_id=inp.workflow_id,
                        run_id=inp.run_id,
                        employee_id=action.employee_id,
                        kind=action.kind,
                        status=REQUESTED,
                        requested_by=action.requested_by,
                        effective_on=action.effective_on,
                        reason=action.reason,
                        details={
                            "new_class_code": action.new_class_code,
                            "new_position_id": action.new_position_id,
                            "new_pay_step": action.new_pay_step,
                            "facts": facts.model_dump(mode="json"),
                            "moves": [],
                        },
                        created_at=inp.at,
                    )
                )
            session.commit()
        _log().info(
            "personnel action requested", employee_id=action.employee_id, kind=action.kind, row_id=row_id
        )
        return OpenActionResult(facts=facts)

    @activity.defn(name="set_personnel_action_status")
    def set_personnel_action_status(self, inp: ActionStatusInput) -> None:
        """The row's status (scheduled, rejected, withdrawn, cancelled); a final one is dated."""
        with Session(self.engine) as session:
            row = session.get(PersonnelAction, inp.row_id)
            if row is None or row.run_id != inp.run_id:
                return  # nothing of this run was recorded (refused before its row)
            if row.status in (EXECUTED, VOID):
                return  # it took effect (or could not): that stays on record
            row.status = inp.status
            if inp.final and row.finished_at is None:
                row.finished_at = inp.at
            session.add(row)
            session.commit()
        _log().info("personnel action status", row_id=inp.row_id, status=inp.status)

    @activity.defn(name="move_personnel_action_date")
    def move_personnel_action_date(self, inp: MoveDateRecord) -> str | None:
        """Moves the effective date on record after checking the conflicts with the new date
        (a separation moved before a pending pay change); returns why not, changing nothing."""
        with Session(self.engine) as session:
            _lock_employee(session, inp.employee_id)
            row = session.get(PersonnelAction, inp.row_id)
            if row is None or row.run_id != inp.run_id:
                return f"action {inp.row_id} is not on record"
            if row.effective_on == inp.effective_on:
                return None  # a retry after the move
            conflict = rules.conflict_refusal(
                inp.employee_id,
                inp.kind,
                inp.effective_on,
                in_flight(session, inp.employee_id, except_id=inp.row_id),
            )
            if conflict:
                session.rollback()
                return conflict
            moves = list(row.details.get("moves") or [])  # type: ignore[call-overload]
            moves.append(
                {
                    "from": row.effective_on.isoformat(),
                    "to": inp.effective_on.isoformat(),
                    "by": inp.actor_id,
                    "at": inp.at.isoformat(),
                }
            )
            row.details = {**row.details, "moves": moves}
            row.effective_on = inp.effective_on
            session.add(row)
            session.commit()
        _log().info("personnel action date moved", row_id=inp.row_id)
        return None

    @activity.defn(name="execute_personnel_action")
    def execute_personnel_action(self, inp: ExecuteActionInput) -> ExecutionResult:
        """Executes the action in one transaction, keyed by ``inp.key`` (a retry returns what was done).

        Every action: an ``EmploymentEvent`` and a ``PayrollChange``; the action's row
        ``executed``. A promotion or transfer moves the employee to the new position (the old
        one vacated; title, department and supervisor from the new one); a promotion that
        starts a probation sets the status to ``probation``. A separation: final pay, the two
        IT work orders, a ``SeparationEvent``, the person ``separated`` and inactive, the
        position vacated. An employee who separated meanwhile, or a position filled meanwhile,
        makes the action ``void``: nothing else is written.
        """
        action = inp.action
        row_id = action_row_id(action.employee_id, action.action_id)
        event_key = f"{inp.key}:event"
        with Session(self.engine, expire_on_commit=False) as session:
            done = get_by_key(session, EmploymentEvent, event_key)
            if done is not None:
                return self._executed(session, inp.key, done.comment or "")
            _lock_employee(session, action.employee_id)
            row = session.get(PersonnelAction, row_id)
            person = session.get(Person, action.employee_id)
            if row is None or row.run_id != inp.run_id:
                raise RuntimeError(f"action {row_id} of this run is not on record")
            if row.status == VOID:
                return ExecutionResult(void=str(row.details.get("void") or "void"))
            if row.status not in IN_FLIGHT:  # withdrawn or cancelled while this attempt waited
                return ExecutionResult(void=f"the action was {row.status} before it took effect")
            void = (
                _separated(session, person)
                if person is not None
                else f"unknown employee {action.employee_id}"
            )
            target: Position | None = None
            if void is None and inp.facts.target_position_id is not None:
                target = session.exec(
                    select(Position).where(Position.id == inp.facts.target_position_id).with_for_update()
                ).first()
                if target is None:
                    void = f"position {inp.facts.target_position_id} no longer exists"
                elif target.incumbent_id not in (None, action.employee_id):
                    void = f"position {target.id} was filled meanwhile (incumbent {target.incumbent_id})"
            if void is not None:
                row.status = VOID
                row.finished_at = inp.at
                row.details = {**row.details, "void": void}
                session.add(row)
                session.commit()
                _log().info("personnel action void", row_id=row_id)
                return ExecutionResult(void=void)
            assert person is not None
            summary = self._apply(session, inp, person, target)
            row.status = EXECUTED
            row.finished_at = inp.at
            session.add(row)
            session.commit()
            result = self._executed(session, inp.key, summary)
        _log().info(
            "personnel action executed", row_id=row_id, kind=action.kind, work_orders=result.work_orders
        )
        return result

    def _apply(
        self, session: Session, inp: ExecuteActionInput, person: Person, target: Position | None
    ) -> str:
        """The writes of one execution (the caller commits); returns the summary (ids and codes)."""
        action = inp.action
        current = position_of(session, person.id)
        class_code = current.class_code if current else None
        position_id = current.id if current else None
        parts = [f"{action.kind} of {person.id} effective {inp.effective_on}"]
        if action.kind in ("promotion", "transfer") and target is not None:
            if current is not None and current.id != target.id:
                current.incumbent_id = None
                session.add(current)
            target.incumbent_id = person.id
            session.add(target)
            cls = session.get(Classification, target.class_code)
            person.title = target.title if cls is None else cls.title
            person.department_code = target.department_code
            if target.supervisor_id and target.supervisor_id != person.id:
                person.supervisor_id = target.supervisor_id
            if inp.facts.new_probation:
                person.employment_status = "probation"
            class_code, position_id = target.class_code, target.id
            parts.append(
                f"from {current.id if current else 'no position'} to {target.id} ({target.class_code})"
            )
        if action.kind in SEPARATIONS:
            if current is not None:
                current.incumbent_id = None
                session.add(current)
                parts.append(f"position {current.id} vacated")
            person.active = False
            person.employment_status = SEPARATED
        if action.new_pay_step is not None:
            parts.append(f"pay step {action.new_pay_step}")
        session.add(person)
        summary = "; ".join(parts)
        session.add(
            EmploymentEvent(
                key=f"{inp.key}:event",
                workflow_id=inp.workflow_id,
                run_id=inp.run_id,
                employee_id=person.id,
                kind=action.kind,
                effective_on=inp.effective_on,
                class_code=class_code,
                position_id=position_id,
                pay_step=action.new_pay_step,
                comment=summary,
                recorded_by=action.requested_by,
                at=inp.at,
            )
        )
        session.add(
            PayrollChange(
                key=f"{inp.key}:payroll",
                workflow_id=inp.workflow_id,
                employee_id=person.id,
                kind="final_pay" if action.kind in SEPARATIONS else PAYROLL_KIND[action.kind],
                effective_on=inp.effective_on,
                class_code=class_code,
                position_id=position_id,
                pay_step=action.new_pay_step,
                details={"action": action_row_id(action.employee_id, action.action_id), "kind": action.kind},
                at=inp.at,
            )
        )
        if action.kind in SEPARATIONS:
            for kind in WORK_ORDER_KINDS:
                session.add(
                    WorkOrder(
                        key=f"{inp.key}:work-order:{kind}",
                        workflow_id=inp.workflow_id,
                        run_id=inp.run_id,
                        employee_id=person.id,
                        kind=kind,
                        opened_at=inp.at,
                    )
                )
            session.add(
                SeparationEvent(
                    key=f"{inp.key}:separation",
                    workflow_id=inp.workflow_id,
                    employee_id=person.id,
                    kind=action.kind,
                    effective_on=inp.effective_on,
                    at=inp.at,
                )
            )
        return summary

    @staticmethod
    def _executed(session: Session, key: str, summary: str) -> ExecutionResult:
        orders = {
            kind: row.id
            for kind in WORK_ORDER_KINDS
            if (row := get_by_key(session, WorkOrder, f"{key}:work-order:{kind}")) is not None and row.id
        }
        return ExecutionResult(work_orders=orders, summary=summary)

    @activity.defn(name="close_work_order")
    def close_work_order(self, inp: WorkOrderDoneInput) -> None:
        """The IT service desk's answer: the work order is done (a retry changes nothing)."""
        with Session(self.engine) as session:
            row = session.get(WorkOrder, inp.work_order_id)
            if row is None:
                raise RuntimeError(f"work order {inp.work_order_id} is not on record")
            if row.status != "done":
                row.status = "done"
                row.done_by = inp.done_by
                row.done_at = inp.done_at
                row.note = inp.note
                session.add(row)
                session.commit()
        _log().info("work order done", work_order_id=inp.work_order_id)


def today_utc(now: datetime | None = None) -> date:
    """Today's date in UTC: the date the workflows and the CLI check effective dates against."""
    return (now or utcnow()).date()
