"""The store (the HR system of record) as the ``hr`` command line uses it.

Look-ups that must succeed before a command talks to Temporal (``require_person``,
``require_classification``), seeding, delegations and the schema upgrade. A store whose
tables are missing is reported as one ``CliError`` line rather than a database error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from sqlalchemy import Engine, func
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, SQLModel, select

from cli.support import CliError
from schemas.human_step import DelegationRequest
from schemas.tables import (
    Classification,
    Delegation,
    Department,
    JobDescriptionVersion,
    Person,
    Position,
)
from service.settings import Settings


def store_engine(settings: Settings) -> Engine:
    """An engine on the configured database (``settings.database_url``)."""
    from activities.db import make_engine

    return make_engine(settings.database_url)


def safe_url(url: str) -> str:
    """``url`` with its password hidden, for printing."""
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def store(engine: Engine) -> Iterator[Session]:
    """A session on the store; a store without tables is reported as such."""
    try:
        with Session(engine) as session:
            yield session
    except SQLAlchemyError as err:
        text = str(err).lower()
        if "no such table" in text or "does not exist" in text:
            raise CliError(
                f"the store at {safe_url(str(engine.url))} is not set up; run `hr seed` "
                "(or `hr db upgrade` for the schema alone) first"
            ) from None
        raise


def require_person(engine: Engine, person_id: str) -> Person:
    with store(engine) as session:
        person = session.get(Person, person_id)
    if person is None:
        raise CliError(f"unknown person {person_id}")
    if not person.active:
        raise CliError(f"person {person_id} is not active")
    return person


def require_hr_staff(engine: Engine, person_id: str, what: str) -> Person:
    """An active person with an HR role (the directory says who acts for HR)."""
    from activities.directory import is_hr_staff

    person = require_person(engine, person_id)
    if not is_hr_staff(person):
        raise CliError(f"{person_id} has no HR role and may not {what}")
    return person


def require_classification(engine: Engine, class_code: str) -> Classification:
    with store(engine) as session:
        found = session.get(Classification, class_code)
    if found is None:
        raise CliError(f"unknown classification {class_code}")
    return found


def store_counts(engine: Engine) -> dict[str, int]:
    """Rows per table, by the plural a person would use."""
    tables: list[tuple[str, type[SQLModel]]] = [
        ("departments", Department),
        ("people", Person),
        ("classifications", Classification),
        ("job descriptions", JobDescriptionVersion),
        ("positions", Position),
        ("delegations", Delegation),
    ]
    with store(engine) as session:
        return {
            name: session.exec(select(func.count()).select_from(table)).one()  # type: ignore[arg-type]
            for name, table in tables
        }


def seed_store(engine: Engine) -> tuple[int, dict[str, int]]:
    """Creates the schema and loads the city's data; returns the rows created and the counts."""
    from activities.seed import seed_city

    created = seed_city(engine).created
    return created, store_counts(engine)


def upgrade_schema(engine: Engine) -> None:
    """Brings the database to the latest migration; harmless when it is already there."""
    from activities.db import upgrade

    upgrade(engine, revision="head")


def active_delegators(engine: Engine, delegate_id: str, today: date) -> list[str]:
    """The people ``delegate_id`` answers for today."""
    with store(engine) as session:
        rows = session.exec(
            select(Delegation).where(
                Delegation.delegate_id == delegate_id,
                Delegation.starts_on <= today,
                Delegation.ends_on >= today,
            )
        ).all()
    return sorted({row.delegator_id for row in rows})


def add_delegation(engine: Engine, request: DelegationRequest) -> Delegation:
    """Records a delegation (checked by its contract: a reason, at most a year) with its id."""
    from activities.db import utcnow

    row = Delegation(**request.model_dump(), created_at=utcnow())
    with store(engine) as session:
        session.add(row)
        session.commit()
        session.refresh(row)
    return row
