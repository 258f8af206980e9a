"""Directory look-ups: who takes part in a review, which descriptions are due for one."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, or_
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from schemas.human_step import DelegationQuery
from schemas.jd_review import ResolveInput, ReviewParticipants, StaleQuery
from schemas.tables import (
    BargainingUnit,
    Classification,
    Delegation,
    Department,
    JobDescriptionVersion,
    Person,
    Position,
)
from workflows.rules.deadlines import is_due_for_review, years_before

HR_STAFF_ROLES: tuple[str, ...] = ("hr_supervisor", "hr_technician")
"""The directory's roles that act for HR: start processes, give HR's commands."""


def is_hr_staff(person: Person) -> bool:
    return person.active and any(role in person.roles for role in HR_STAFF_ROLES)


def hr_staff(session: Session) -> list[str]:
    """Everyone active with an HR role, by id."""
    return sorted(p.id for p in session.exec(select(Person).where(Person.active)).all() if is_hr_staff(p))


def _one_with_role(session: Session, role: str) -> str:
    people = [p for p in session.exec(select(Person).where(Person.active)).all() if role in p.roles]
    if len(people) != 1:
        raise ApplicationError(
            f"the directory needs exactly one active {role}, found {len(people)}",
            type="DirectoryError",
            non_retryable=True,
        )
    return people[0].id


def current_version(session: Session, class_code: str) -> JobDescriptionVersion | None:
    return session.exec(
        select(JobDescriptionVersion)
        .where(JobDescriptionVersion.class_code == class_code)
        .where(JobDescriptionVersion.status == "current")
    ).first()


def active_delegates(session: Session, delegators: set[str], on: date) -> dict[str, list[str]]:
    """delegate id -> the people they may answer for, on ``on``."""
    rows = session.exec(
        select(Delegation).where(Delegation.starts_on <= on).where(Delegation.ends_on >= on)
    ).all()
    result: dict[str, list[str]] = {}
    for row in rows:
        if row.delegator_id in delegators:
            result.setdefault(row.delegate_id, []).append(row.delegator_id)
    return {k: sorted(v) for k, v in sorted(result.items())}


class DirectoryActivities:
    """Read-only look-ups in the people directory and the classification plan."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name="active_delegations")
    def active_delegations(self, inp: DelegationQuery) -> dict[str, list[str]]:
        """Delegate id -> the people among ``inp.person_ids`` they may answer for on ``inp.on``."""
        with Session(self.engine) as session:
            return active_delegates(session, set(inp.person_ids), inp.on)

    @activity.defn(name="current_hr_staff")
    def current_hr_staff(self, purpose: str) -> list[str]:
        """Everyone active with an HR role today (``purpose`` names the asker, for the log)."""
        with Session(self.engine) as session:
            return hr_staff(session)

    @activity.defn(name="resolve_review_participants")
    def resolve_review_participants(self, inp: ResolveInput) -> ReviewParticipants:
        """Supervisors, incumbents, union, directors, HR and the Board for one classification."""
        with Session(self.engine) as session:
            cls = session.get(Classification, inp.class_code)
            if cls is None:
                raise ApplicationError(
                    f"unknown classification {inp.class_code}",
                    type="UnknownClassification",
                    non_retryable=True,
                )
            requester = session.get(Person, inp.requested_by)
            if requester is None:
                raise ApplicationError(
                    f"unknown person {inp.requested_by}", type="UnknownPerson", non_retryable=True
                )
            if not is_hr_staff(requester):
                raise ApplicationError(
                    f"{inp.requested_by} has no HR role and may not request a review",
                    type="NotHrStaff",
                    non_retryable=True,
                )
            dept = session.get(Department, cls.department_code)
            if dept is None or dept.director_id is None:
                raise ApplicationError(
                    f"department {cls.department_code} has no director", non_retryable=True
                )
            positions = session.exec(
                select(Position).where(Position.class_code == cls.code).order_by(Position.id)
            ).all()
            incumbents = [p.incumbent_id for p in positions if p.incumbent_id]
            supervisors = sorted({p.supervisor_id for p in positions if p.supervisor_id})
            incumbent_supervisors = {
                p.incumbent_id: p.supervisor_id for p in positions if p.incumbent_id and p.supervisor_id
            }
            unit = session.get(BargainingUnit, cls.bargaining_unit_code) if cls.bargaining_unit_code else None
            version = current_version(session, cls.code)
            return ReviewParticipants(
                class_code=cls.code,
                title=cls.title,
                department_code=cls.department_code,
                current_version_id=version.id if version else None,
                current_revised_on=version.revised_on if version else None,
                supervisor_ids=supervisors,
                incumbent_ids=incumbents,
                incumbent_supervisors=incumbent_supervisors,
                bargaining_unit=unit.code if unit else None,
                union_rep_id=unit.representative_id if unit else None,
                department_director_id=dept.director_id,
                employee_services_director_id=_one_with_role(session, "employee_services_director"),
                hr_supervisor_id=_one_with_role(session, "hr_supervisor"),
                board_secretary_id=_one_with_role(session, "board_secretary"),
                hr_staff=hr_staff(session),
            )

    @activity.defn(name="find_stale_classifications")
    def find_stale_classifications(self, inp: StaleQuery) -> list[str]:
        """One page: at most ``inp.limit`` codes, in code order, after ``inp.after``, of the
        classifications whose current description is due for review on ``inp.as_of``.

        One query per page, whatever the number of classifications: each classification joined
        to its current version (at most one; the database enforces it), filtered in SQL by the
        rule of ``is_due_for_review`` (never revised, or revised before the cutoff day).
        """
        cutoff = years_before(inp.as_of, inp.older_than_years)
        revised_on = col(JobDescriptionVersion.revised_on)
        query = (
            select(col(Classification.code), revised_on)
            .outerjoin(
                JobDescriptionVersion,
                (col(JobDescriptionVersion.class_code) == col(Classification.code))
                & (col(JobDescriptionVersion.status) == "current"),
            )
            .where(or_(revised_on.is_(None), revised_on < cutoff))
            .order_by(col(Classification.code))
            .limit(inp.limit)
        )
        if inp.after is not None:
            query = query.where(col(Classification.code) > inp.after)
        with Session(self.engine) as session:
            rows = session.exec(query).all()
        # The SQL filter is the rule itself; checked here so that the two cannot drift apart.
        for code, revised in rows:
            if not is_due_for_review(revised, inp.as_of, inp.older_than_years):
                raise ApplicationError(
                    f"{code} (revised {revised}) is not due for review; the query disagrees with the rule",
                    type="StaleQueryMismatch",
                    non_retryable=True,
                )
        return [code for code, _ in rows]
