"""An enrollment's facts name exactly the active HR staff and the one HR supervisor (SQLite and
PostgreSQL), however large the directory and whatever other roles mention "hr"."""

from __future__ import annotations

import pytest
from sqlmodel import Session
from temporalio.exceptions import ApplicationError

from activities.benefits import enrollment_facts
from activities.seed import seed_city
from schemas.tables import Person


def _add(engine, person_id: str, roles: list[str], active: bool = True) -> None:
    with Session(engine) as s:
        s.add(
            Person(
                id=person_id,
                name=f"Person {person_id}",
                email=f"{person_id.lower()}@city.example",
                title="Clerk",
                department_code="IT",
                supervisor_id="E1011",
                roles=roles,
                active=active,
            )
        )
        s.commit()


def test_the_facts_name_only_active_hr_staff_and_the_hr_supervisor(engine):
    seed_city(engine)
    with Session(engine) as s:
        before = enrollment_facts(s, "E1016")
    _add(engine, "E7001", ["employee", "chro_liaison"])  # mentions "hr", is not HR staff
    _add(engine, "E7002", ["hr_technician"])  # HR staff
    _add(engine, "E7003", ["hr_technician"], active=False)  # gone
    for n in range(50):
        _add(engine, f"E71{n:02d}", ["employee"])
    with Session(engine) as s:
        facts = enrollment_facts(s, "E1016")
    assert facts.hr_staff == sorted([*before.hr_staff, "E7002"])
    assert facts.hr_supervisor_id == before.hr_supervisor_id

    _add(engine, "E7004", ["hr_supervisor"])
    with (
        Session(engine) as s,
        pytest.raises(ApplicationError, match="exactly one active hr_supervisor, found 2"),
    ):
        enrollment_facts(s, "E1016")
