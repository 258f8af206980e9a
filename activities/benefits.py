"""The record of benefits enrollment: plans, the employee's coverage, elections and what follows.

``resolve_enrollment`` reads who the employee is, every active plan and their current elections
(ids and codes only). ``record_enrollment`` writes what one moment of an enrollment decided in
one transaction keyed by the run: the enrollment row (its status moves forward only), the
elections (replacing or ending the current ones), the carrier enrollments and payroll
deductions, the COBRA notice, the audit rows; then it queues the notices and, for a step
opening now, looks up the delegations. ``eligible_employees`` pages through the employees open
enrollment covers; ``enrollment_counts`` counts a year's open-enrollment outcomes for the bulk
run's progress. The workflows run them as local activities: single short transactions.

Logs carry ids and counts only: never a dependant or a date of birth.
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy import Engine, String, cast, func
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.directory import active_delegates, hr_staff, is_hr_staff
from activities.notifications import NotificationActivities
from activities.store import get_by_key
from schemas.benefits import (
    OPEN,
    OPEN_ENROLLMENT,
    Coverage,
    EligiblePage,
    EnrollmentCounts,
    EnrollmentFacts,
    EnrollmentQuery,
    OpenEnrollmentFacts,
    PlanView,
    ProgressQuery,
)
from schemas.benefits_records import EnrollmentRecords, RecordsWritten
from schemas.benefits_tables import (
    BenefitElection,
    BenefitEnrollment,
    BenefitPlan,
    CarrierEnrollment,
    CobraNotice,
    PayrollDeduction,
)
from schemas.employment import SEPARATED
from schemas.tables import AuditEvent, Person

CURRENT = "current"
ENDED = "ended"


def _log() -> structlog.stdlib.BoundLogger:
    log = structlog.get_logger("hr.benefits")
    if activity.in_activity():
        info = activity.info()
        log = log.bind(workflow_id=info.workflow_id, activity=info.activity_type)
    return log


def plan_view(plan: BenefitPlan) -> PlanView:
    return PlanView(
        plan_id=plan.id,
        kind=plan.kind,
        name=plan.name,
        carrier=plan.carrier,
        tiers=list(plan.tiers),
        monthly_premium_cents=dict(plan.monthly_premium_cents),
        departments=list(plan.departments),
        new_hire_window_days=plan.new_hire_window_days,
        cobra=plan.cobra,
    )


def active_plans(session: Session) -> list[PlanView]:
    rows = session.exec(select(BenefitPlan).where(BenefitPlan.active).order_by(col(BenefitPlan.id))).all()
    return [plan_view(p) for p in rows]


def current_elections(session: Session, employee_id: str) -> list[BenefitElection]:
    return list(
        session.exec(
            select(BenefitElection)
            .where(BenefitElection.employee_id == employee_id)
            .where(BenefitElection.status == CURRENT)
            .order_by(col(BenefitElection.id))
        ).all()
    )


def coverage_of(session: Session, employee_id: str) -> list[Coverage]:
    return [
        Coverage(
            plan_id=e.plan_id,
            kind=e.kind,
            tier=e.tier,
            coverage_on=e.coverage_on,
            dependants=len(e.dependants),
        )
        for e in current_elections(session, employee_id)
    ]


def _hr_people(session: Session) -> list[Person]:
    """The active people whose roles mention HR (``hr_``, read by SQL on the roles' JSON text; the
    caller checks each role exactly). Every enrollment reads them: with the whole directory read
    and filtered in Python, an open enrollment of N employees read N rows N times."""
    return list(
        session.exec(
            select(Person)
            .where(Person.active, cast(Person.roles, String).like("%hr%"))
            .order_by(col(Person.id))
        ).all()
    )


def _only_hr_supervisor(hr: list[Person]) -> str:
    """As ``directory._one_with_role(session, "hr_supervisor")``, from the HR people read once."""
    people = [p for p in hr if "hr_supervisor" in p.roles]
    if len(people) != 1:
        raise ApplicationError(
            f"the directory needs exactly one active hr_supervisor, found {len(people)}",
            type="DirectoryError",
            non_retryable=True,
        )
    return people[0].id


def enrollment_facts(session: Session, employee_id: str) -> EnrollmentFacts:
    person = session.get(Person, employee_id)
    if person is None:
        raise ApplicationError(f"unknown employee {employee_id}", type="UnknownEmployee", non_retryable=True)
    hr = _hr_people(session)
    return EnrollmentFacts(
        employee_id=person.id,
        active=person.active and person.employment_status != SEPARATED,
        employment_status=person.employment_status,
        department_code=person.department_code,
        supervisor_id=person.supervisor_id,
        hr_supervisor_id=_only_hr_supervisor(hr),
        hr_staff=sorted(p.id for p in hr if is_hr_staff(p)),
        plans=active_plans(session),
        coverage=coverage_of(session, employee_id),
    )


class BenefitsActivities:
    """Reads and writes of benefits enrollment, with the notifications they queue."""

    def __init__(self, engine: Engine, notifications: NotificationActivities) -> None:
        self.engine = engine
        self.notifications = notifications

    @activity.defn(name="resolve_enrollment")
    def resolve_enrollment(self, inp: EnrollmentQuery) -> EnrollmentFacts:
        """The employee's facts, the plans and their current elections; an unknown employee
        fails for good (``UnknownEmployee``)."""
        with Session(self.engine) as session:
            return enrollment_facts(session, inp.employee_id)

    @activity.defn(name="record_enrollment")
    def record_enrollment(self, inp: EnrollmentRecords) -> RecordsWritten:
        """Writes ``inp`` in one transaction (idempotent by key), then queues its notices."""
        with Session(self.engine) as session:
            row = get_by_key(session, BenefitEnrollment, inp.key)
            if row is None:
                row = BenefitEnrollment(
                    key=inp.key,
                    workflow_id=inp.workflow_id,
                    run_id=inp.run_id,
                    parent_id=inp.parent_id,
                    employee_id=inp.employee_id,
                    event=inp.event,
                    event_on=inp.event_on,
                    year=inp.year,
                    status=inp.status,
                    opened_at=inp.at,
                )
            if row.status == OPEN or row.status == inp.status:  # an outcome is never set back
                row.status = inp.status
                row.window_closes_at = inp.window_closes_at or row.window_closes_at
                row.coverage_on = inp.coverage_on or row.coverage_on
                if inp.status != OPEN:
                    row.decided_by, row.defaulted = inp.decided_by, inp.defaulted
                    row.closed_at = row.closed_at or inp.at
                session.add(row)
            if inp.end_kinds and inp.coverage_on is not None:
                ended_on = inp.coverage_on - timedelta(days=1)
                elected = {e.plan_id for e in inp.elections}
                for old in current_elections(session, inp.employee_id):
                    if old.enrollment_key == inp.key or old.kind not in inp.end_kinds:
                        continue
                    old.status, old.ended_on = ENDED, ended_on
                    session.add(old)
                    if old.plan_id not in elected:
                        plan = session.get(BenefitPlan, old.plan_id)
                        session.add(
                            CarrierEnrollment(
                                key=f"{inp.key}:carrier-end:{old.id}",
                                employee_id=inp.employee_id,
                                plan_id=old.plan_id,
                                carrier=plan.carrier if plan else "",
                                tier=old.tier,
                                action="terminate",
                                dependants=len(old.dependants),
                                effective_on=ended_on,
                                at=inp.at,
                            )
                        )
            for e in inp.elections:
                key = f"{inp.key}:election:{e.plan_id}"
                if get_by_key(session, BenefitElection, key) is not None:
                    continue
                assert inp.coverage_on is not None
                session.add(
                    BenefitElection(
                        key=key,
                        enrollment_key=inp.key,
                        employee_id=inp.employee_id,
                        plan_id=e.plan_id,
                        kind=e.kind,
                        tier=e.tier,
                        dependants=[d.model_dump(mode="json") for d in e.dependants],
                        beneficiaries=[b.model_dump(mode="json") for b in e.beneficiaries],
                        coverage_on=inp.coverage_on,
                        cobra=inp.cobra_elect_by is not None,
                        status=CURRENT,
                        at=inp.at,
                    )
                )
                session.add(
                    CarrierEnrollment(
                        key=f"{inp.key}:carrier:{e.plan_id}",
                        employee_id=inp.employee_id,
                        plan_id=e.plan_id,
                        carrier=e.carrier,
                        tier=e.tier,
                        action="cobra_continue" if inp.cobra_elect_by is not None else "enroll",
                        dependants=len(e.dependants),
                        effective_on=inp.coverage_on,
                        at=inp.at,
                    )
                )
                if inp.cobra_elect_by is None and e.monthly_premium_cents:
                    session.add(
                        PayrollDeduction(
                            key=f"{inp.key}:deduction:{e.plan_id}",
                            employee_id=inp.employee_id,
                            plan_id=e.plan_id,
                            monthly_cents=e.monthly_premium_cents,
                            starts_on=inp.coverage_on,
                            at=inp.at,
                        )
                    )
            if inp.cobra_notice_due_on is not None and inp.cobra_elect_by is not None:
                key = f"{inp.key}:cobra-notice"
                if get_by_key(session, CobraNotice, key) is None:
                    session.add(
                        CobraNotice(
                            key=key,
                            workflow_id=inp.workflow_id,
                            employee_id=inp.employee_id,
                            separated_on=inp.event_on,
                            sent_on=inp.at.date(),
                            due_on=inp.cobra_notice_due_on,
                            elect_by=inp.cobra_elect_by,
                            within_deadline=inp.at.date() <= inp.cobra_notice_due_on,
                            at=inp.at,
                        )
                    )
            for a in inp.audits:
                if get_by_key(session, AuditEvent, a.key) is None:
                    session.add(AuditEvent(**a.model_dump()))
            session.commit()
            delegates = (
                active_delegates(session, set(inp.delegations_for), inp.at.date())
                if inp.delegations_for
                else {}
            )
        for notice in inp.notices:
            self.notifications.notify(notice)
        _log().info(
            "enrollment recorded",
            employee_id=inp.employee_id,
            status=inp.status,
            elections=[e.plan_id for e in inp.elections],
            audits=len(inp.audits),
            notices=len(inp.notices),
        )
        return RecordsWritten(delegates=delegates)

    @activity.defn(name="eligible_employees")
    def eligible_employees(self, inp: EligiblePage) -> list[str]:
        """The next page of employees open enrollment covers (active, not separated), by id."""
        with Session(self.engine) as session:
            query = select(Person.id).where(Person.active).order_by(col(Person.id)).limit(inp.limit)
            query = query.where(
                col(Person.employment_status).is_(None) | (Person.employment_status != SEPARATED)
            )
            if inp.after is not None:
                query = query.where(Person.id > inp.after)
            return list(session.exec(query).all())

    @activity.defn(name="enrollment_counts")
    def enrollment_counts(self, inp: ProgressQuery) -> EnrollmentCounts:
        """A year's open-enrollment enrollments: elected (by the employee), defaulted, open."""
        counts = EnrollmentCounts()
        with Session(self.engine) as session:
            rows = session.exec(
                select(BenefitEnrollment.status, BenefitEnrollment.defaulted, func.count())
                .where(BenefitEnrollment.event == OPEN_ENROLLMENT)
                .where(BenefitEnrollment.year == inp.year)
                .group_by(col(BenefitEnrollment.status), col(BenefitEnrollment.defaulted))
            ).all()
        for status, defaulted, n in rows:
            if status == OPEN:
                counts.open += n
            elif defaulted:
                counts.defaulted += n
            else:
                counts.elected += n
        return counts

    @activity.defn(name="open_enrollment_facts")
    def open_enrollment_facts(self, inp: ProgressQuery) -> OpenEnrollmentFacts:
        """Who may pause and resume the bulk run: HR staff."""
        with Session(self.engine) as session:
            return OpenEnrollmentFacts(hr_staff=hr_staff(session))
