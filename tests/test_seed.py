"""The demo city: idempotent seeding, the people the processes need, the real texts."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from activities.seed import (
    BOARD_SECRETARY_ID,
    CITY_ADMINISTRATOR_ID,
    DEMO_DRAFT_NAME,
    DEMO_REQUESTER_ID,
    DEPARTMENT_DIRECTOR_IDS,
    EMPLOYEE_SERVICES_DIRECTOR_ID,
    HR_SUPERVISOR_ID,
    HR_TECHNICIAN_IDS,
    INCUMBENT_IDS,
    SEED_REVISED_ON,
    UNION_REP_IDS,
    load_text,
    seed_city,
)
from schemas.tables import (
    BargainingUnit,
    Classification,
    Department,
    EmployeeNumber,
    JobDescriptionVersion,
    Person,
    Position,
)

TABLES = [Department, BargainingUnit, Person, Classification, JobDescriptionVersion, Position]


def _counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {t.__name__: session.exec(select(func.count()).select_from(t)).one() for t in TABLES}


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed_city(engine)
    return engine


def _people(engine: Engine) -> dict[str, Person]:
    with Session(engine) as session:
        return {p.id: p for p in session.exec(select(Person)).all()}


def _with_role(people: dict[str, Person], role: str) -> list[str]:
    return sorted(pid for pid, p in people.items() if role in p.roles)


def test_seeding_twice_creates_nothing_the_second_time(engine: Engine) -> None:
    first = seed_city(engine)
    after_first = _counts(engine)
    second = seed_city(engine)
    assert first.created > 0 and second.created == 0
    assert _counts(engine) == after_first
    assert after_first == {
        "Department": 5,
        "BargainingUnit": 3,
        "Person": 30,
        "Classification": 5,
        "JobDescriptionVersion": 5,
        "Position": 11,
    }


def test_required_roles_are_present_exactly_as_specified(seeded: Engine) -> None:
    people = _people(seeded)
    assert _with_role(people, "hr_supervisor") == [HR_SUPERVISOR_ID]
    assert _with_role(people, "employee_services_director") == [EMPLOYEE_SERVICES_DIRECTOR_ID]
    assert _with_role(people, "board_secretary") == [BOARD_SECRETARY_ID]
    assert _with_role(people, "city_administrator") == [CITY_ADMINISTRATOR_ID]
    assert _with_role(people, "hr_technician") == sorted(HR_TECHNICIAN_IDS)
    assert len(HR_TECHNICIAN_IDS) >= 2
    for tech in HR_TECHNICIAN_IDS:
        assert people[tech].supervisor_id == HR_SUPERVISOR_ID
        assert people[tech].department_code == "HR"
    assert _with_role(people, "union_rep") == sorted(UNION_REP_IDS.values())


def test_departments_and_units_point_at_their_people(seeded: Engine) -> None:
    people = _people(seeded)
    with Session(seeded) as session:
        departments = {d.code: d for d in session.exec(select(Department)).all()}
        units = {u.code: u for u in session.exec(select(BargainingUnit)).all()}
    assert {"HR", "IT", "FIN"} <= set(departments)
    assert {code: d.director_id for code, d in departments.items()} == DEPARTMENT_DIRECTOR_IDS
    assert departments["HR"].director_id == EMPLOYEE_SERVICES_DIRECTOR_ID
    assert _with_role(people, "department_director") == sorted(DEPARTMENT_DIRECTOR_IDS.values())
    for code, director in DEPARTMENT_DIRECTOR_IDS.items():
        assert people[director].department_code == code
        if director != CITY_ADMINISTRATOR_ID:
            assert people[director].supervisor_id == CITY_ADMINISTRATOR_ID
    assert {code: u.representative_id for code, u in units.items()} == UNION_REP_IDS


def test_people_form_one_tree_under_the_city_administrator(seeded: Engine) -> None:
    people = _people(seeded)
    assert people[CITY_ADMINISTRATOR_ID].supervisor_id is None
    emails = [p.email for p in people.values()]
    assert len(set(emails)) == len(emails)
    for person in people.values():
        first, last = person.name.lower().split()[0], person.name.lower().split()[-1]
        assert person.email == f"{first}.{last}@city.example"
        seen, current = set(), person.id
        while people[current].supervisor_id is not None:
            assert current not in seen, f"supervisor cycle at {current}"
            seen.add(current)
            current = people[current].supervisor_id
        assert current == CITY_ADMINISTRATOR_ID


def test_the_seed_stays_below_the_employee_number_counter(seeded: Engine) -> None:
    """Hires take E numbers from the database's counter, which migration 0004 starts past E1030
    (or the directory's highest). Seeding comes after the migration and adds no one past it, so
    the seeder never has to move the counter: the first hire after ``hr seed`` is E1031."""
    seed_city(seeded)  # a second run adds nobody either
    people = _people(seeded)
    highest = max(int(pid[1:]) for pid in people if pid.startswith("E") and pid[1:].isdigit())
    assert highest == 1030
    with Session(seeded) as session:
        probe = EmployeeNumber(key="probe", created_at=datetime.now(timezone.utc))
        session.add(probe)
        session.flush()
        assert probe.id == highest + 1
        session.rollback()


def test_positions_and_incumbents(seeded: Engine) -> None:
    people = _people(seeded)
    with Session(seeded) as session:
        positions = session.exec(select(Position).order_by(Position.id)).all()
    by_class: dict[str, list[Position]] = {}
    for position in positions:
        by_class.setdefault(position.class_code, []).append(position)
        assert position.incumbent_id != position.supervisor_id
        if position.incumbent_id:
            assert people[position.incumbent_id].supervisor_id == position.supervisor_id
    assert {code: len(ps) for code, ps in by_class.items()} == {
        "1821": 2,
        "CI1659": 4,  # one vacant (field services: a driver's licence and CJIS)
        "AAC30": 1,
        "AST12": 2,
        "ITAT": 2,
    }
    hr_techs = [p.incumbent_id for p in by_class["1821"]]
    assert sorted(hr_techs) == sorted(INCUMBENT_IDS["1821"]) and len(set(hr_techs)) == 2
    for incumbent in hr_techs:
        assert "hr_technician" in people[incumbent].roles
    assert {p.supervisor_id for p in by_class["1821"]} == {HR_SUPERVISOR_ID}
    forbidden = {
        EMPLOYEE_SERVICES_DIRECTOR_ID,
        BOARD_SECRETARY_ID,
        HR_SUPERVISOR_ID,
        *DEPARTMENT_DIRECTOR_IDS.values(),
    }
    assert not forbidden & set(hr_techs)
    assert all(people[p.incumbent_id].department_code == "IT" for p in by_class["CI1659"] if p.incumbent_id)
    assert sorted(p.department_code for p in by_class["AST12"]) == ["FIN", "HR"]
    assert [p.incumbent_id is None for p in by_class["ITAT"]].count(True) == 1
    assert DEMO_REQUESTER_ID in HR_TECHNICIAN_IDS and DEMO_REQUESTER_ID not in hr_techs
    assert DEMO_REQUESTER_ID in INCUMBENT_IDS["AST12"]


def test_classifications_have_departments_units_and_a_current_version(seeded: Engine) -> None:
    with Session(seeded) as session:
        classes = {c.code: c for c in session.exec(select(Classification)).all()}
        versions = session.exec(select(JobDescriptionVersion)).all()
    assert {c: (k.department_code, k.bargaining_unit_code) for c, k in classes.items()} == {
        "1821": ("HR", "CONF"),
        "AAC30": ("IT", "TEAM"),
        "CI1659": ("IT", "AFSCME"),
        "AST12": ("FIN", "AFSCME"),
        "ITAT": ("IT", "AFSCME"),
    }
    assert classes["1821"].title == "Human Resources Technician"
    assert all(k.source for k in classes.values())
    assert {v.class_code: v.status for v in versions} == {code: "current" for code in classes}
    assert {v.class_code: v.key for v in versions} == {c: f"seed:{c}:current" for c in classes}
    assert (
        {v.class_code: v.revised_on for v in versions}
        == SEED_REVISED_ON
        == {
            "1821": date(2010, 12, 6),
            "AAC30": date(2003, 6, 19),
            "CI1659": date(2023, 7, 30),
            "AST12": date(2008, 3, 1),
            "ITAT": date(2022, 8, 1),
        }
    )
    duluth = next(v for v in versions if v.class_code == "1821")
    assert (duluth.board_date, duluth.resolution_number) == (date(2010, 10, 5), "10-0608R")
    for version in versions:
        assert version.text == load_text(version.class_code)
        assert version.created_at is not None


@pytest.mark.parametrize(
    ("name", "phrases"),
    [
        (
            "1821",
            [
                "FUNCTIONAL AREAS:",
                "Participate in labor relations activities.",
                "CSB: 20101005",
                "Resolution: 10-0608R",
            ],
        ),
        (
            "AAC30",
            [
                "CITY OF KENT POSITION DESCRIPTION",
                "Information Technology Accounting/Administrative Coordinator",
                "Employee Services Director",
                "Revised: 6/19/03",
            ],
        ),
        (
            "CI1659",
            [
                "IT Technician II - CI1659",
                "Criminal Justice Information Services (CJIS)",
                "Revised Date: 7/30/2023",
            ],
        ),
        ("AST12", ["ADMINISTRATIVE SERVICES TECHNICIAN I/II", "third-party administrator"]),
        (
            "ITAT",
            [
                "Information Technology Accounting Technician",
                "Supplemental Question Review will be 40% of overall score",
            ],
        ),
        (
            DEMO_DRAFT_NAME,
            [
                "Provide support to Generalist Team, HRIS, and Benefits as needed.",
                "24. Other duties may be assigned.",
            ],
        ),
    ],
)
def test_seed_texts_are_the_published_documents(name: str, phrases: list[str]) -> None:
    text = load_text(name)
    for phrase in phrases:
        assert phrase in text
    assert "~~" not in text and "<u>" not in text and "\r" not in text


def test_the_1821_current_text_is_the_2010_one_and_the_draft_the_2023_one() -> None:
    current, draft = load_text("1821"), load_text(f"{DEMO_DRAFT_NAME}.txt")
    assert current.startswith("HUMAN RESOURCES TECHNICIAN\n")
    assert "Recommendation" not in current and "Civil Service Board approve" not in current
    assert draft.startswith("Human Resources Technician\n")
    assert "FUNCTIONAL AREAS" not in draft
    assert draft.rstrip().endswith("Resolution:")


def test_load_text_refuses_paths_outside_seed_data() -> None:
    with pytest.raises(FileNotFoundError):
        load_text("../seed")
