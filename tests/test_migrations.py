"""The Alembic migrations in ``activities/migrations`` against the models in ``schemas/tables.py``.

Each ``db_url`` test runs on SQLite and, when ``HR_TEST_DATABASE_URL`` is set, on PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session, SQLModel, select

from activities.db import create_schema, head_revision, make_engine, migration_config, upgrade
from schemas.tables import AuditEvent, Department, EmployeeNumber, OutboxMessage, Person

# department.director_id and person.department_code point at each other; SQLAlchemy warns that it
# cannot sort those two tables whenever the metadata is sorted (create_all, compare_metadata).
pytestmark = pytest.mark.filterwarnings("ignore:Cannot correctly sort tables:sqlalchemy.exc.SAWarning")

APP_TABLES = set(SQLModel.metadata.tables)


def _version(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _add_people(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(Department(code="HR", name="Human Resources"))
        session.flush()
        session.add(
            Person(
                id="p1",
                name="Ada Clerk",
                email="ada.clerk@city.example",
                title="Clerk",
                department_code="HR",
                roles=["hr"],
            )
        )
        session.add(
            AuditEvent(
                key="wf-1/step-1",
                workflow_id="wf-1",
                step_id="step-1",
                actor_id="p1",
                action="approve",
                comment="fine",
                at=datetime(2024, 5, 1, 12, tzinfo=timezone.utc),
            )
        )
        session.commit()


def _assert_people(engine: Engine) -> None:
    with Session(engine) as session:
        person = session.get(Person, "p1")
        assert person is not None and person.roles == ["hr"] and person.department_code == "HR"
        event = session.exec(select(AuditEvent)).one()
        assert event.key == "wf-1/step-1" and event.comment == "fine"


def test_create_schema_leaves_the_database_at_head(engine: Engine) -> None:
    head = ScriptDirectory.from_config(migration_config(engine)).get_current_head()
    assert head == head_revision() == "0010"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head]
    assert APP_TABLES <= set(inspect(engine).get_table_names())

    create_schema(engine)  # a second call is a no-op
    assert _version(engine) == head


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    # Nothing is filtered: types, nullability, indexes, unique constraints and foreign keys
    # all agree on both dialects (alembic_version is not in the metadata and is skipped by
    # compare_metadata itself).
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_a_create_all_database_is_stamped_at_head_and_keeps_its_data(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        SQLModel.metadata.create_all(engine)  # how create_schema made databases before Alembic
        _add_people(engine)
        assert "alembic_version" not in inspect(engine).get_table_names()

        create_schema(engine)

        assert _version(engine) == head_revision()
        _assert_people(engine)
        create_schema(engine)
        assert _version(engine) == head_revision()
    finally:
        engine.dispose()


def test_a_create_all_database_is_stamped_on_every_dialect(engine: Engine) -> None:
    """The same, on each configured database (on PostgreSQL create_all ALTERs the cyclic keys)."""
    command.downgrade(migration_config(engine), "base")
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    assert inspect(engine).get_table_names() == []
    SQLModel.metadata.create_all(engine)
    _add_people(engine)

    create_schema(engine)

    assert _version(engine) == head_revision()
    _assert_people(engine)


def test_downgrade_to_base_then_upgrade_to_head(engine: Engine) -> None:
    config = migration_config(engine)
    command.downgrade(config, "base")
    assert _version(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

    upgrade(engine)
    assert _version(engine) == head_revision()
    assert APP_TABLES <= set(inspect(engine).get_table_names())
    _add_people(engine)
    _assert_people(engine)


def test_a_url_config_migrates_a_fresh_sqlite_file(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'by-url.db'}"
    command.upgrade(migration_config(url), "head")
    engine = make_engine(url)
    try:
        assert _version(engine) == head_revision()
        assert APP_TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_offline_sql_for_postgresql_adds_the_cyclic_key_by_alter(capsys) -> None:
    command.upgrade(migration_config("postgresql://nobody@localhost/none"), "head", sql=True)
    sql = capsys.readouterr().out
    assert "ALTER TABLE department ADD CONSTRAINT department_director_id_fkey" in sql
    assert "TIMESTAMP WITH TIME ZONE" in sql and "roles JSON NOT NULL" in sql


def _draw_employee_number(engine: Engine, key: str) -> str:
    """What a hire does (activities.recruitment): a keyed row, its id from the database's counter."""
    with Session(engine) as session:
        row = EmployeeNumber(key=key, created_at=datetime.now(timezone.utc))
        session.add(row)
        session.commit()
        session.refresh(row)
        return f"E{row.id:04d}"


def test_employee_numbers_start_past_the_highest_e_number_in_the_directory(engine: Engine) -> None:
    command.downgrade(migration_config(engine), "0003")  # before the employee-number counter
    assert "employeenumber" not in inspect(engine).get_table_names()
    with engine.begin() as conn:  # the tables as they were at 0003 (the models are newer)
        conn.execute(text("INSERT INTO department (code, name) VALUES ('HR', 'Human Resources')"))
        for pid in ("E1500", "E1007", "EXT-9000"):  # the highest E number counts, nothing else
            conn.execute(
                text(
                    "INSERT INTO person (id, name, email, title, department_code, roles, active) "
                    "VALUES (:id, 'Ada Clerk', 'ada@city.example', 'Clerk', 'HR', '[]', true)"
                ),
                {"id": pid},
            )

    upgrade(engine)
    assert _version(engine) == head_revision()
    assert _draw_employee_number(engine, "hire-1") == "E1501"
    assert _draw_employee_number(engine, "hire-2") == "E1502"
    create_schema(engine)  # at head already: the counter is not set back
    assert _draw_employee_number(engine, "hire-3") == "E1503"


def test_a_fresh_database_hands_out_e1031_first(engine: Engine) -> None:
    assert _draw_employee_number(engine, "hire-1") == "E1031"


def test_outbox_rows_pending_before_0005_are_due_at_once(engine: Engine) -> None:
    command.downgrade(migration_config(engine), "0004")  # before delivery ran apart
    created = datetime(2026, 3, 1, 9, tzinfo=timezone.utc)
    with engine.begin() as conn:
        for key, status in (("k-pending", "pending"), ("k-sent", "sent")):
            conn.execute(
                text(
                    "INSERT INTO outboxmessage (key, recipient_id, to_address, subject, body, status, "
                    "created_at, attempts) VALUES (:key, 'p1', 'p1@city.example', 's', 'b', :status, "
                    ":created, 0)"
                ),
                {"key": key, "status": status, "created": created},
            )

    upgrade(engine)
    with Session(engine) as session:
        rows = {row.key: row for row in session.exec(select(OutboxMessage))}
    due = rows["k-pending"].next_attempt_at
    assert due is not None and due.replace(tzinfo=due.tzinfo or timezone.utc) == created
    assert rows["k-sent"].next_attempt_at is None
    assert all(r.last_attempt_at is None and r.last_error is None for r in rows.values())
