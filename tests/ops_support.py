"""The operations tests' own dev server and stack (a pytest plugin: ``pytest_plugins``).

The ops tests run on a dev server of their own (``ops_env``, started once per session, well
under a second), not the CLI tests' one: the schedule runs a real yearly sweep, whose reviews
(``jd-review-<code>-<year>``) would otherwise collide with the reviews other modules start
with the current year's cycle. ``ops_stack`` is a seeded SQLite store and a task queue with a
worker on it, and runs the ``hr`` CLI as a subprocess, as a user runs it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.db import make_engine
from service.settings import Settings
from tests.dev_server import Run, local_dev_server, run_cli

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class OpsStack:
    env: WorkflowEnvironment
    settings: Settings
    engine: Engine
    cli_env: dict[str, str]
    folder: Path

    @property
    def client(self) -> Client:
        return self.env.client

    @property
    def target(self) -> str:
        return self.client.service_client.config.target_host

    async def hr(self, *args: str, timeout: float = 90, **env: str) -> Run:
        """``python starter.py ARGS`` with the stack's variables (and ``env`` over them)."""
        return await run_cli(args, self.cli_env | env, timeout)

    async def hr_here(self, *args: str, **env: str) -> Run:
        """The same command in this process (Typer's runner, on a thread): no interpreter start-up.

        Settings are read afresh for each call (the cache is cleared around it).
        """
        from typer.testing import CliRunner

        import starter
        from service.settings import get_settings

        variables = {k: v for k, v in (self.cli_env | env).items() if k.startswith("HR_")}

        def invoke() -> Run:
            get_settings.cache_clear()
            try:
                result = CliRunner().invoke(starter.app, list(args), env=variables)
            finally:
                get_settings.cache_clear()
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                raise result.exception
            return Run(result.exit_code, result.stdout, result.stderr)

        return await asyncio.to_thread(invoke)


def base_env(**values: str) -> dict[str, str]:
    # The session's signing keys and cached sign-ins (tests/signing.py) go on: the CLI and the
    # workers sign with them. Every other HR_* variable is the test's own.
    kept = {"HR_AUTH_KEY_DIR", "HR_AUTH_TOKEN_DIR"}
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("HR_") or k in kept}
    return env | {"HR_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"} | values


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def ops_env() -> AsyncIterator[WorkflowEnvironment]:
    async with local_dev_server() as env:
        yield env


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def ops_stack(
    ops_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[OpsStack]:
    """A seeded store and a task queue with an in-process worker on the ops dev server (one for the
    session: every ops test module shares it, each test uses task queues or ids of its own)."""
    from worker import build_worker

    folder = tmp_path_factory.mktemp("ops")
    db_url = f"sqlite:///{folder / 'hr.db'}"
    task_queue = f"ops-{uuid.uuid4().hex[:8]}"
    target = ops_env.client.service_client.config.target_host
    cli_env = base_env(
        HR_TEMPORAL_ADDRESS=target,
        HR_TEMPORAL_NAMESPACE="default",
        HR_DATABASE_URL=db_url,
        HR_TASK_QUEUE=task_queue,
    )
    settings = Settings(temporal_address=target, database_url=db_url, task_queue=task_queue)
    engine = make_engine(db_url)
    stack = OpsStack(env=ops_env, settings=settings, engine=engine, cli_env=cli_env, folder=folder)
    seeded = await stack.hr("seed")
    assert seeded.code == 0, seeded.err
    async with build_worker(ops_env.client, settings, engine, task_queue=task_queue):
        yield stack
    engine.dispose()
