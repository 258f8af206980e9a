"""A small, realistic city for demos and tests: departments, people, unions, classifications.

``seed_city`` is idempotent: every row is looked up by its primary key (or, for description
versions, by ``key``) and only created when missing, so running it twice changes nothing.

The five classifications carry the real texts of public job descriptions (``seed_data/``);
the people are fictional.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import Engine
from sqlmodel import Session, select

from activities.db import create_schema, utcnow
from schemas.tables import (
    BargainingUnit,
    Classification,
    Department,
    JobDescriptionVersion,
    Person,
    Position,
)

SEED_DATA = Path(__file__).parent / "seed_data"

# ----- key people ------------------------------------------------------------------------------

CITY_ADMINISTRATOR_ID = "E1001"
BOARD_SECRETARY_ID = "E1003"
EMPLOYEE_SERVICES_DIRECTOR_ID = "E1004"
HR_SUPERVISOR_ID = "E1005"
HR_TECHNICIAN_IDS: list[str] = ["E1006", "E1007", "E1008"]
IT_MANAGER_ID = "E1011"
DEMO_REQUESTER_ID = "E1008"
"""An HR technician who is not an incumbent of 1821 (the HR office's AST12 position)."""
DEMO_CLASS_CODE = "1821"
DEMO_DRAFT_NAME = "1821_draft_2023"
"""``load_text(DEMO_DRAFT_NAME)`` is the 2023 revised description, the demo's proposed draft."""

DEPARTMENT_DIRECTOR_IDS: dict[str, str] = {
    "ADM": "E1001",
    "HR": "E1004",
    "IT": "E1010",
    "FIN": "E1018",
    "PW": "E1023",
}
UNION_REP_IDS: dict[str, str] = {"CONF": "E1009", "AFSCME": "E1027", "TEAM": "E1026"}

# ----- organisation ----------------------------------------------------------------------------

DEPARTMENTS: list[tuple[str, str]] = [
    ("ADM", "City Administration"),
    ("HR", "Human Resources"),
    ("IT", "Information Technology"),
    ("FIN", "Finance"),
    ("PW", "Public Works"),
]

BARGAINING_UNITS: list[tuple[str, str]] = [
    ("CONF", "Confidential Employees Association"),
    ("AFSCME", "AFSCME Local 66"),
    ("TEAM", "Teamsters Local 117"),
]


class _P(NamedTuple):
    id: str
    name: str
    title: str
    dept: str
    supervisor: str | None
    roles: tuple[str, ...] = ("employee",)


# Supervisors are listed before the people they supervise.
PEOPLE: list[_P] = [
    _P(
        "E1001",
        "Margaret Okafor",
        "City Administrator",
        "ADM",
        None,
        ("city_administrator", "department_director"),
    ),
    _P("E1002", "Thomas Lindqvist", "City Clerk", "ADM", "E1001"),
    _P(
        "E1003",
        "Rosa Delgado",
        "Deputy City Clerk / Civil Service Board Secretary",
        "ADM",
        "E1002",
        ("board_secretary",),
    ),
    _P(
        "E1004",
        "Denise Harrington",
        "Employee Services Director",
        "HR",
        "E1001",
        ("department_director", "employee_services_director"),
    ),
    _P("E1005", "Linnea Brandt", "Human Resources Supervisor", "HR", "E1004", ("hr_supervisor",)),
    _P("E1006", "Marcus Bell", "Human Resources Technician", "HR", "E1005", ("hr_technician",)),
    _P("E1007", "Priya Raman", "Human Resources Technician", "HR", "E1005", ("hr_technician",)),
    _P("E1008", "Jordan Meeks", "Administrative Services Technician II", "HR", "E1005", ("hr_technician",)),
    _P("E1009", "Grace Nakamura", "Benefits Specialist", "HR", "E1005", ("employee", "union_rep")),
    _P("E1010", "Victor Hale", "Information Technology Director", "IT", "E1001", ("department_director",)),
    _P("E1011", "Samira Haddad", "IT Operations Manager", "IT", "E1010"),
    _P("E1012", "Kevin Brennan", "IT Technician II", "IT", "E1011", ("employee", "it_service_desk")),
    _P("E1013", "Alicia Moreno", "IT Technician II", "IT", "E1011", ("employee", "it_service_desk")),
    _P("E1014", "Daniel Osei", "IT Technician II", "IT", "E1011", ("employee", "it_service_desk")),
    _P("E1015", "Hannah Kowalski", "IT Accounting/Administrative Coordinator", "IT", "E1010"),
    _P("E1016", "Ethan Park", "Information Technology Accounting Technician", "IT", "E1015"),
    _P("E1017", "Olivia Grant", "Systems Analyst", "IT", "E1011"),
    _P("E1018", "Robert Castillo", "Finance Director", "FIN", "E1001", ("department_director", "finance")),
    _P("E1019", "Naomi Fischer", "Accounting Manager", "FIN", "E1018"),
    _P("E1020", "Luis Ortega", "Administrative Services Technician I", "FIN", "E1019"),
    _P("E1021", "Emily Sutherland", "Accountant", "FIN", "E1019"),
    _P("E1022", "Chris Yamamoto", "Payroll Specialist", "FIN", "E1019", ("employee", "payroll")),
    _P("E1023", "Gary Holm", "Public Works Director", "PW", "E1001", ("department_director",)),
    _P("E1024", "Teresa Vance", "Street Maintenance Supervisor", "PW", "E1023"),
    _P("E1025", "Ahmed Rahimi", "Maintenance Worker", "PW", "E1024"),
    _P("E1026", "Brian Kessler", "Equipment Operator", "PW", "E1024", ("employee", "union_rep")),
    _P(
        "E1027",
        "Lucy Tran",
        "Public Works Administrative Assistant",
        "PW",
        "E1023",
        ("employee", "union_rep"),
    ),
    _P("E1028", "Sean Murphy", "Maintenance Worker", "PW", "E1024"),
    _P("E1029", "Irene Papadopoulos", "Management Analyst", "ADM", "E1001"),
    _P("E1030", "Walter Greene", "Records Clerk", "ADM", "E1002"),
]

# ----- classifications and their current descriptions ------------------------------------------


class _C(NamedTuple):
    code: str
    title: str
    dept: str
    unit: str
    source: str
    revised_on: date
    board_date: date | None = None
    resolution_number: str | None = None


CLASSIFICATIONS: list[_C] = [
    _C(
        "1821",
        "Human Resources Technician",
        "HR",
        "CONF",
        "Duluth, MN Civil Service memo 2023-09-27 (class no. 1821; current text CC 20101206, "
        "resolution 10-0608R)",
        date(2010, 12, 6),
        date(2010, 10, 5),
        "10-0608R",
    ),
    _C(
        "AAC30",
        "Accounting/Administrative Coordinator",
        "IT",
        "TEAM",
        "Kent, WA position description, position inventory no. 11772, revised 6/19/03",
        date(2003, 6, 19),
    ),
    _C(
        "CI1659",
        "IT Technician II",
        "IT",
        "AFSCME",
        "City Office of Human Resources class specification CI1659, revised 7/30/2023",
        date(2023, 7, 30),
    ),
    _C(
        "AST12",
        "Administrative Services Technician I/II",
        "FIN",
        "AFSCME",
        "California city class specification (undated; recorded as revised 2008-03-01)",
        date(2008, 3, 1),
    ),
    _C(
        "ITAT",
        "Information Technology Accounting Technician",
        "IT",
        "AFSCME",
        "Bellingham, WA job announcement, closing 8/19/22 (recorded as revised 2022-08-01)",
        date(2022, 8, 1),
    ),
]

SEED_REVISED_ON: dict[str, date] = {c.code: c.revised_on for c in CLASSIFICATIONS}


class _Pos(NamedTuple):
    id: str
    code: str
    dept: str
    title: str
    supervisor: str
    incumbent: str | None
    driver_license: bool = False
    cjis: bool = False


POSITIONS: list[_Pos] = [
    _Pos("P-1821-01", "1821", "HR", "Human Resources Technician", HR_SUPERVISOR_ID, "E1006"),
    _Pos("P-1821-02", "1821", "HR", "Human Resources Technician", HR_SUPERVISOR_ID, "E1007"),
    # Seed 004, "by position": desktop support drives to the city's sites; voice and data works
    # on the police department's systems (CJIS clearance within the probation).
    _Pos("P-CI1659-01", "CI1659", "IT", "IT Technician II (Desktop Support)", IT_MANAGER_ID, "E1012", True),
    _Pos("P-CI1659-02", "CI1659", "IT", "IT Technician II (Help Desk)", IT_MANAGER_ID, "E1013"),
    _Pos(
        "P-CI1659-03",
        "CI1659",
        "IT",
        "IT Technician II (Voice and Data)",
        IT_MANAGER_ID,
        "E1014",
        False,
        True,
    ),
    _Pos("P-CI1659-04", "CI1659", "IT", "IT Technician II (Field Services)", IT_MANAGER_ID, None, True, True),
    _Pos(
        "P-AAC30-01",
        "AAC30",
        "IT",
        "Information Technology Accounting/Administrative Coordinator",
        "E1010",
        "E1015",
    ),
    _Pos(
        "P-AST12-01",
        "AST12",
        "HR",
        "Administrative Services Technician II (Human Resources)",
        HR_SUPERVISOR_ID,
        "E1008",
    ),
    _Pos("P-AST12-02", "AST12", "FIN", "Administrative Services Technician I (Finance)", "E1019", "E1020"),
    _Pos("P-ITAT-01", "ITAT", "IT", "Information Technology Accounting Technician", "E1015", "E1016"),
    _Pos("P-ITAT-02", "ITAT", "IT", "Information Technology Accounting Technician", "E1015", None),
]

INCUMBENT_IDS: dict[str, list[str]] = {
    c.code: [p.incumbent for p in POSITIONS if p.code == c.code and p.incumbent] for c in CLASSIFICATIONS
}


@dataclass
class SeedSummary:
    """How many rows of each kind ``seed_city`` created (zero everywhere on a second run)."""

    departments: int = 0
    bargaining_units: int = 0
    people: int = 0
    classifications: int = 0
    versions: int = 0
    positions: int = 0
    links: int = 0
    """Department directors and union representatives filled in."""

    @property
    def created(self) -> int:
        """All rows created or completed by this run."""
        return sum(getattr(self, f.name) for f in fields(self))


def load_text(name: str) -> str:
    """The text of a seed document, e.g. ``load_text("1821")`` or ``load_text("1821.txt")``.

    Args:
        name: A file name in ``activities/seed_data/``, with or without ``.txt``.

    Returns:
        The document's text (UTF-8).

    Raises:
        FileNotFoundError: There is no such seed document.
    """
    filename = name if name.endswith(".txt") else f"{name}.txt"
    if Path(filename).name != filename:
        raise FileNotFoundError(filename)
    return (SEED_DATA / filename).read_text(encoding="utf-8")


def email_for(name: str) -> str:
    """``first.last@city.example`` for a person's name."""
    parts = name.lower().split()
    return f"{parts[0]}.{parts[-1]}@city.example"


def seed_city(engine: Engine) -> SeedSummary:
    """Creates the schema and loads the demo city; rows that already exist are left alone.

    Args:
        engine: The database to seed.

    Returns:
        The number of rows created, by kind.
    """
    create_schema(engine)
    summary = SeedSummary()
    with Session(engine) as session:
        # Departments and units first without their people (people point at departments).
        for code, name in DEPARTMENTS:
            if session.get(Department, code) is None:
                session.add(Department(code=code, name=name))
                summary.departments += 1
        for code, name in BARGAINING_UNITS:
            if session.get(BargainingUnit, code) is None:
                session.add(BargainingUnit(code=code, name=name))
                summary.bargaining_units += 1
        session.flush()
        for p in PEOPLE:
            if session.get(Person, p.id) is None:
                session.add(
                    Person(
                        id=p.id,
                        name=p.name,
                        email=email_for(p.name),
                        title=p.title,
                        department_code=p.dept,
                        supervisor_id=p.supervisor,
                        roles=list(p.roles),
                    )
                )
                session.flush()  # a supervisor's row exists before the rows pointing at it
                summary.people += 1
        for code, director_id in DEPARTMENT_DIRECTOR_IDS.items():
            department = session.get(Department, code)
            if department is not None and department.director_id is None:
                department.director_id = director_id
                session.add(department)
                summary.links += 1
        for code, rep_id in UNION_REP_IDS.items():
            unit = session.get(BargainingUnit, code)
            if unit is not None and unit.representative_id is None:
                unit.representative_id = rep_id
                session.add(unit)
                summary.links += 1
        session.flush()
        now = utcnow()
        for c in CLASSIFICATIONS:
            if session.get(Classification, c.code) is None:
                session.add(
                    Classification(
                        code=c.code,
                        title=c.title,
                        department_code=c.dept,
                        bargaining_unit_code=c.unit,
                        source=c.source,
                    )
                )
                session.flush()
                summary.classifications += 1
            key = f"seed:{c.code}:current"
            found = session.exec(
                select(JobDescriptionVersion).where(JobDescriptionVersion.key == key)
            ).first()
            if found is None:
                session.add(
                    JobDescriptionVersion(
                        key=key,
                        class_code=c.code,
                        status="current",
                        text=load_text(c.code),
                        revised_on=c.revised_on,
                        board_date=c.board_date,
                        resolution_number=c.resolution_number,
                        created_at=now,
                    )
                )
                summary.versions += 1
        for pos in POSITIONS:
            if session.get(Position, pos.id) is None:
                session.add(
                    Position(
                        id=pos.id,
                        class_code=pos.code,
                        department_code=pos.dept,
                        title=pos.title,
                        supervisor_id=pos.supervisor,
                        incumbent_id=pos.incumbent,
                        requires_driver_license=pos.driver_license,
                        requires_cjis=pos.cjis,
                    )
                )
                summary.positions += 1
        session.commit()
    from activities.seed_benefits import seed_benefits  # the plans and the seeded people's elections

    seed_benefits(engine, people=[p.id for p in PEOPLE])
    return summary
