"""The record of a death claim (seed 003: "process death claims"; issue 10).

``resolve_death_claim`` reads who acts on the claim and what the employee held: the current
life-plan election (its carrier and how many beneficiaries it designates: a count, never a
name) and how many dependants their medical, dental or vision coverage covers.
``record_death_claim`` writes what one moment of the claim decided in one transaction keyed by
the run: the claim row (the date of death is stored there, nowhere else), at the opening the end
of every current election on the last day of the month of death (a ``terminate`` to each
carrier) and of the payroll deductions, at the filing the carrier's claim number, the audit
rows; then it queues the notices, and the beneficiaries' notice (one outbox row each, to the
addresses on the election row). The workflow runs them as local activities.

Logs carry ids and counts only: never the date of death, a beneficiary or an address.
"""

from __future__ import annotations

import structlog
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.benefits import CURRENT, ENDED, current_elections
from activities.directory import _one_with_role, active_delegates, hr_staff
from activities.notifications import NotificationActivities, Recipient
from activities.rendering import render_staff_notice
from activities.store import get_by_key
from schemas.benefits_tables import (
    BenefitElection,
    BenefitPlan,
    CarrierEnrollment,
    DeathClaim,
    PayrollDeduction,
)
from schemas.death_claim import ClaimWritten, DeathClaimFacts, DeathClaimQuery, DeathClaimRecords
from schemas.tables import AuditEvent, Person

COVERING_KINDS = ("medical", "dental", "vision")
BENEFICIARY_TEMPLATE = "beneficiary_notice"


def _log() -> structlog.stdlib.BoundLogger:
    log = structlog.get_logger("hr.death_claim")
    if activity.in_activity():
        info = activity.info()
        log = log.bind(workflow_id=info.workflow_id, activity=info.activity_type)
    return log


def life_election(session: Session, employee_id: str) -> BenefitElection | None:
    """The employee's current life-plan election, if any."""
    return next((e for e in current_elections(session, employee_id) if e.kind == "life"), None)


class DeathClaimActivities:
    """Reads and writes of death claims, with the notices they queue."""

    def __init__(self, engine: Engine, notifications: NotificationActivities) -> None:
        self.engine = engine
        self.notifications = notifications

    @activity.defn(name="resolve_death_claim")
    def resolve_death_claim(self, inp: DeathClaimQuery) -> DeathClaimFacts:
        """Ids, codes and counts; an unknown employee fails for good (``UnknownEmployee``)."""
        with Session(self.engine) as session:
            person = session.get(Person, inp.employee_id)
            if person is None:
                raise ApplicationError(
                    f"unknown employee {inp.employee_id}", type="UnknownEmployee", non_retryable=True
                )
            life = life_election(session, inp.employee_id)
            plan = session.get(BenefitPlan, life.plan_id) if life else None
            covering = [e for e in current_elections(session, inp.employee_id) if e.kind in COVERING_KINDS]
            return DeathClaimFacts(
                employee_id=person.id,
                department_code=person.department_code,
                hr_supervisor_id=_one_with_role(session, "hr_supervisor"),
                hr_staff=hr_staff(session),
                life_plan_id=life.plan_id if life else None,
                carrier=plan.carrier if plan else None,
                beneficiaries=len(life.beneficiaries) if life else 0,
                dependants_covered=max((len(e.dependants) for e in covering), default=0),
            )

    @activity.defn(name="record_death_claim")
    def record_death_claim(self, inp: DeathClaimRecords) -> ClaimWritten:
        """Writes ``inp`` in one transaction (idempotent by key), then queues its notices."""
        with Session(self.engine) as session:
            row = get_by_key(session, DeathClaim, inp.key)
            if row is None:
                row = DeathClaim(
                    key=inp.key,
                    workflow_id=inp.workflow_id,
                    run_id=inp.run_id,
                    employee_id=inp.employee_id,
                    died_on=inp.died_on,
                    coverage_ends_on=inp.coverage_ends_on,
                    status=inp.status,
                    opened_at=inp.at,
                )
            row.status = inp.status
            row.life_plan_id = inp.life_plan_id or row.life_plan_id
            row.carrier = inp.carrier or row.carrier
            row.beneficiaries = max(row.beneficiaries, inp.beneficiaries)
            row.dependants_cobra = max(row.dependants_cobra, inp.dependants_cobra)
            row.dependants_elect_by = inp.dependants_elect_by or row.dependants_elect_by
            if inp.claim_number is not None:
                row.claim_number, row.filed_on, row.filed_by = inp.claim_number, inp.filed_on, inp.filed_by
            if inp.status not in ("open", "filing"):
                row.closed_at = row.closed_at or inp.at
            session.add(row)
            if inp.end_coverage:
                self._end_coverage(session, inp)
            for a in inp.audits:
                if get_by_key(session, AuditEvent, a.key) is None:
                    session.add(AuditEvent(**a.model_dump()))
            session.commit()
            delegates = active_delegates(session, set(row_hr(session)), inp.at.date())
            recipients = self._beneficiaries(session, inp) if inp.notify_beneficiaries else []
        for notice in inp.notices:
            self.notifications.notify(notice)
        told = 0
        if recipients:
            params = {
                "employee_name": "",
                "carrier": inp.carrier or "",
                "claim_number": inp.claim_number or "",
                "workflow_id": inp.workflow_id,
            }
            with Session(self.engine) as session:
                person = session.get(Person, inp.employee_id)
                params["employee_name"] = person.name if person else inp.employee_id

            def render(recipient: Recipient) -> tuple[str, str]:
                return render_staff_notice(BENEFICIARY_TEMPLATE, params, recipient.name, inp.workflow_id)

            self.notifications.queue(
                f"{inp.key}:beneficiary-notice", inp.workflow_id, recipients, render, run_id=inp.run_id
            )
            told = len(recipients)
        _log().info(
            "death claim recorded",
            employee_id=inp.employee_id,
            status=inp.status,
            ended=inp.end_coverage,
            audits=len(inp.audits),
            beneficiaries_told=told,
        )
        return ClaimWritten(delegates=delegates, beneficiaries_told=told)

    def _end_coverage(self, session: Session, inp: DeathClaimRecords) -> None:
        """Every current election ends on the last day of the month of death (the carrier told),
        and every payroll deduction of the employee stops with that month."""
        for old in current_elections(session, inp.employee_id):
            old.status, old.ended_on = ENDED, inp.coverage_ends_on
            session.add(old)
            plan = session.get(BenefitPlan, old.plan_id)
            key = f"{inp.key}:carrier-end:{old.id}"
            if get_by_key(session, CarrierEnrollment, key) is None:
                session.add(
                    CarrierEnrollment(
                        key=key,
                        employee_id=inp.employee_id,
                        plan_id=old.plan_id,
                        carrier=plan.carrier if plan else "",
                        tier=old.tier,
                        action="terminate",
                        dependants=len(old.dependants),
                        effective_on=inp.coverage_ends_on,
                        at=inp.at,
                    )
                )
        deductions = session.exec(
            select(PayrollDeduction).where(PayrollDeduction.employee_id == inp.employee_id)
        ).all()
        for d in deductions:
            if d.ends_on is None or d.ends_on > inp.coverage_ends_on:
                d.ends_on = inp.coverage_ends_on
                session.add(d)

    def _beneficiaries(self, session: Session, inp: DeathClaimRecords) -> list[Recipient]:
        """The beneficiaries of the life election the claim is for (its row, current or ended
        by this claim), as recipients keyed by their position."""
        if inp.life_plan_id is None:
            return []
        election = session.exec(
            select(BenefitElection)
            .where(BenefitElection.employee_id == inp.employee_id)
            .where(BenefitElection.plan_id == inp.life_plan_id)
            .where(col(BenefitElection.status).in_([CURRENT, ENDED]))
            .order_by(col(BenefitElection.id).desc())
        ).first()
        if election is None:
            return []
        return [
            Recipient(
                id=f"{inp.employee_id}-beneficiary-{n}",
                name=b["name"],
                email=b["email"],
                key_suffix=f"beneficiary-{n}",
            )
            for n, b in enumerate(election.beneficiaries, start=1)
        ]


def row_hr(session: Session) -> list[str]:
    """HR staff (whose delegations the claim's step honours)."""
    return hr_staff(session)
