"""The ``hr`` CLI end to end, on the dev server (the inbox reads visibility, which the
time-skipping server does not implement), with a real worker and a SQLite store.

The CLI runs as subprocesses, exactly as a user runs it; the worker runs in the test's
event loop, so the subprocesses are awaited with asyncio rather than blocking it. The server,
the worker and the ``hr`` runner are in ``tests/dev_server.py``.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowExecution
from temporalio.service import RPCError

from activities.seed import DEMO_REQUESTER_ID
from schemas import jd_review as jd
from schemas.search_attributes import (
    HR_ACTION_TYPE,
    HR_CLASS_CODE,
    HR_DEPARTMENT,
    HR_DUE_AT,
    HR_PENDING_APPROVERS,
    HR_STAGE,
    indexed_types,
)
from schemas.tables import Classification, Delegation, JobDescriptionVersion, Person, Position
from service.settings import Settings
from workflows.rules.deadlines import is_due_for_review

if TYPE_CHECKING:  # imported by pytest as a plugin (below), so that its asserts are rewritten
    from tests.dev_server import Stack

REPO = Path(__file__).resolve().parents[1]
DRAFT_FILE = REPO / "activities" / "seed_data" / "1821_draft_2023.txt"

pytest_plugins = ["tests.dev_server"]


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


def _due_for_review(engine: Engine, on: date, years: int) -> list[str]:
    """The classifications due for review, read one by one (not by the sweep's paged query)."""
    with Session(engine) as session:
        due = []
        for cls in session.exec(select(Classification)).all():
            current = session.exec(
                select(JobDescriptionVersion)
                .where(JobDescriptionVersion.class_code == cls.code)
                .where(JobDescriptionVersion.status == "current")
            ).first()
            if is_due_for_review(current.revised_on if current else None, on, years):
                due.append(cls.code)
    return sorted(due)


async def test_sweep_from_the_command_line(stack: Stack) -> None:
    cycle = f"sweep{uuid.uuid4().hex[:6]}"
    due = _due_for_review(stack.engine, date.today(), 10)
    assert due  # the seeded city has descriptions over ten years old (1821, AAC30, AST12)

    first = await stack.hr(
        "review", "sweep", "--as", DEMO_REQUESTER_ID, "--cycle", cycle, "--batch-size", "2"
    )
    assert first.code == 0, first.err
    assert jd.sweep_workflow_id(cycle) in first.out
    assert f"started {len(due)} reviews, 0 already running or done" in first.out, first.out

    # The same cycle again: every review is already there, none starts twice.
    again = await stack.hr("review", "sweep", "--as", DEMO_REQUESTER_ID, "--cycle", cycle)
    assert again.code == 0, again.err
    assert f"started 0 reviews, {len(due)} already running or done" in again.out, again.out

    for code in due:
        await stack.client.get_workflow_handle(jd.review_workflow_id(code, cycle)).terminate("test over")


async def test_admin_setup_is_idempotent(stack: Stack) -> None:
    from service.schedules import SCHEDULES

    try:
        run = await stack.hr("admin", "setup")
        assert run.code == 0, run.err
        assert "already registered" in run.out
        listed = await stack.client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="default")
        )
        for name, kind in indexed_types().items():
            assert listed.custom_attributes[name] == kind
    finally:
        # `setup` also made the yearly schedules on the session's shared dev server; another
        # module (the schedule tests) expects to create them itself.
        for definition in SCHEDULES:
            try:
                await stack.client.get_schedule_handle(definition.schedule_id).delete()
            except RPCError:
                pass


async def test_demo_runs_a_review_to_adoption(stack: Stack) -> None:
    from cli.demo import run_demo

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
