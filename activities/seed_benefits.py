"""The demo city's benefit plans and its employees' current elections (seeds 000, 003).

Seed 000 names the benefits the city offers: health (medical), dental, life insurance and PERS
retirement, with COBRA continuation after a separation; vision is the usual companion of the
health plans. The carriers, tiers and premiums below are the demo's own (the seeds name none).
Two medical plans: a PPO for everyone and an HMO for the Public Works department only (the
Teamsters' plan), so that "a plan the employee may not join" has an example. Every seeded
employee holds the PPO and the dental plan (employee only), the basic life and PERS plans, so
that open enrollment has something to carry over and a separation something to continue.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import Engine
from sqlmodel import Session, select

from schemas.benefits_tables import BenefitElection, BenefitPlan
from schemas.tables import Person

ALL_TIERS = ["employee_only", "employee_spouse", "employee_children", "family"]


def _premiums(base: int) -> dict[str, int]:
    return {
        "employee_only": base,
        "employee_spouse": base * 2,
        "employee_children": base * 2 - base // 4,
        "family": base * 3,
    }


PLANS: list[BenefitPlan] = [
    BenefitPlan(
        id="MED-PPO",
        kind="medical",
        name="City PPO",
        carrier="Regence BlueShield",
        tiers=ALL_TIERS,
        monthly_premium_cents=_premiums(4500),
        cobra=True,
    ),
    BenefitPlan(
        id="MED-HMO-PW",
        kind="medical",
        name="Teamsters HMO",
        carrier="Kaiser Permanente",
        tiers=ALL_TIERS,
        monthly_premium_cents=_premiums(3000),
        departments=["PW"],
        cobra=True,
    ),
    BenefitPlan(
        id="DEN-DELTA",
        kind="dental",
        name="Delta Dental PPO",
        carrier="Delta Dental of Washington",
        tiers=ALL_TIERS,
        monthly_premium_cents=_premiums(800),
        cobra=True,
    ),
    BenefitPlan(
        id="VIS-VSP",
        kind="vision",
        name="VSP Choice",
        carrier="VSP",
        tiers=ALL_TIERS,
        monthly_premium_cents=_premiums(300),
        cobra=True,
    ),
    BenefitPlan(
        id="LIFE-BASIC",
        kind="life",
        name="Basic life (1x salary)",
        carrier="Standard Insurance",
        tiers=["employee_only"],
        monthly_premium_cents={"employee_only": 0},
    ),
    BenefitPlan(
        id="PERS-2",
        kind="retirement",
        name="PERS Plan 2",
        carrier="Washington State DRS",
        tiers=["employee_only"],
        monthly_premium_cents={"employee_only": 0},
        new_hire_window_days=90,
    ),
]
CURRENT = ("MED-PPO", "DEN-DELTA", "LIFE-BASIC", "PERS-2")
SINCE = date(2026, 1, 1)


def seed_benefits(engine: Engine, people: list[str] | None = None) -> int:
    """The plans, and the current elections of ``people`` (default: every active person who has
    none yet). Idempotent; returns the number of rows created."""
    created = 0
    at = datetime.now(timezone.utc)
    with Session(engine) as session:
        for plan in PLANS:
            if session.get(BenefitPlan, plan.id) is None:
                session.add(BenefitPlan.model_validate(plan.model_dump()))
                created += 1
        session.flush()
        kinds = {p.id: p.kind for p in PLANS}
        ids = (
            people if people is not None else list(session.exec(select(Person.id).where(Person.active)).all())
        )
        existing = set(
            session.exec(select(BenefitElection.key).where(BenefitElection.key.startswith("seed:"))).all()
        )  # type: ignore[union-attr]
        for person_id in ids:
            for plan_id in CURRENT:
                key = f"seed:{person_id}:{plan_id}"
                if key in existing:
                    continue
                session.add(
                    BenefitElection(
                        key=key,
                        enrollment_key=f"seed:{person_id}",
                        employee_id=person_id,
                        plan_id=plan_id,
                        kind=kinds[plan_id],
                        tier="employee_only",
                        dependants=[],
                        coverage_on=SINCE,
                        status="current",
                        at=at,
                    )
                )
                created += 1
        session.commit()
    return created
