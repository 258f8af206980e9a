"""Database engine and schema set-up for SQLite (default) and PostgreSQL.

The schema is managed by the Alembic migrations in ``activities/migrations`` (no alembic.ini:
``migration_config`` builds the configuration). ``create_schema`` brings a database to the
latest revision; it is what the worker, the seeder and the tests call.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

import schemas.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# The revision that equals the schema ``SQLModel.metadata.create_all`` made before migrations.
BASELINE_REVISION = "0001"
# Serialises concurrent upgrades of one PostgreSQL database (worker and seeder starting together).
_PG_LOCK_KEY = 0x48525F534348454D  # "HR_SCHEM"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; a SQLite file's folder is created if missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
        )
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    # hide_parameters: an error's message shows the statement, not its values (names, addresses).
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def _escape(value: str) -> str:
    """Config options go through ConfigParser interpolation, where ``%`` is special."""
    return value.replace("%", "%%")


def migration_config(url_or_engine: str | Engine) -> Config:
    """An Alembic configuration for the migrations shipped in this package.

    Args:
        url_or_engine: A database URL (put in ``sqlalchemy.url``) or an engine (put in
            ``config.attributes["engine"]`` as well, so that the migrations use it).

    Returns:
        A Config usable with ``alembic.command``; set ``config.attributes["connection"]`` to run
        inside a connection of your own.
    """
    config = Config()
    config.set_main_option("script_location", _escape(str(MIGRATIONS_DIR)))
    if isinstance(url_or_engine, Engine):
        url = url_or_engine.url.render_as_string(hide_password=False)
        config.attributes["engine"] = url_or_engine
    else:
        url = str(url_or_engine)
    config.set_main_option("sqlalchemy.url", _escape(url))
    return config


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision id in ``activities/migrations/versions``."""
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations in {MIGRATIONS_DIR}")
    return head


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrates the database of ``engine`` to ``revision``, in one transaction.

    A database that has the tables but was never versioned (made by ``create_all`` before the
    migrations existed) is stamped at the baseline revision first, then upgraded from there.
    """
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        current = _current_revision(connection)
        if revision in ("head", head_revision()) and current == head_revision():
            return  # the common case: nothing to do, and no env.py to run
        config = migration_config(engine)
        config.attributes["connection"] = connection
        if current is None:
            tables = inspect(connection)
            if tables.has_table("person") and not tables.has_table("alembic_version"):
                command.stamp(config, BASELINE_REVISION)
        command.upgrade(config, revision)


def create_schema(engine: Engine) -> None:
    """Brings the database to the latest migration; harmless when it is already there."""
    upgrade(engine, "head")


def utcnow() -> datetime:
    """Wall-clock time for activities (never for workflows)."""
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """SQLite hands datetimes back naive; they were stored as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
