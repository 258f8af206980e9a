"""Two worker processes on one task queue; one is killed (SIGKILL) in the middle of a review and a
recruitment; the survivor finishes both, and every record is written once.

The workers are subprocesses (``python -m worker``, what ``hr worker`` runs), as on two hosts;
they share the store (a SQLite file here) and the dev server. Both workflows start while only
worker A runs, so A holds them (its sticky cache, their activities); then B starts and A dies.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from cli.recruitment_demo import run_recruitment_demo
from schemas import recruitment as rc
from schemas.tables import Applicant, AuditEvent, Hire, JobDescriptionVersion, OutboxMessage
from service.settings import Settings
from tests.review_harness import Review, approve_all
from tests.smtp_server import SmtpSink

if TYPE_CHECKING:
    from tests.ops_support import OpsStack

pytest_plugins = ["tests.ops_support"]


def start_worker(name: str, env: dict[str, str], folder: Path) -> tuple[subprocess.Popen[bytes], Path]:
    from tests.ops_support import REPO

    log = folder / f"worker-{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "worker"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return process, log


async def pollers(stack: OpsStack, task_queue: str) -> int:
    answer = await stack.client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace="default",
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return len({p.identity for p in answer.pollers})


async def wait_pollers(stack: OpsStack, task_queue: str, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while await pollers(stack, task_queue) < count:
        assert time.monotonic() < deadline, f"fewer than {count} workers poll {task_queue}"
        await asyncio.sleep(0.2)


async def test_the_survivor_finishes_a_review_and_a_recruitment(ops_stack: OpsStack, tmp_path):
    from tests.ops_support import base_env

    task_queue = f"two-workers-{uuid.uuid4().hex[:6]}"
    db_url = ops_stack.settings.database_url
    env = base_env(
        HR_TEMPORAL_ADDRESS=ops_stack.target,
        HR_DATABASE_URL=db_url,
        HR_TASK_QUEUE=task_queue,
    )
    a, a_log = start_worker("a", env, tmp_path)
    b: subprocess.Popen[bytes] | None = None
    smtp = SmtpSink()  # the review harness wants one; these workers deliver nothing (no SMTP host)
    review = Review(env=ops_stack.env, engine=ops_stack.engine, smtp=smtp, task_queue=task_queue)
    lines: list[str] = []
    try:
        await wait_pollers(ops_stack, task_queue, 1)
        handle = await review.start()
        settings = Settings(temporal_address=ops_stack.target, database_url=db_url, task_queue=task_queue)
        hiring = asyncio.create_task(
            run_recruitment_demo(
                ops_stack.client, settings, ops_stack.engine, echo=lines.append, close_in=timedelta(seconds=6)
            )
        )
        # the middle of both: the review's first step is open, the applications are in
        await review.wait_for_step(handle, "review-")
        deadline = time.monotonic() + 60
        while not any(line.startswith("  applications:") for line in lines):
            assert not hiring.done(), hiring.exception() if hiring.done() else lines
            assert time.monotonic() < deadline, lines
            await asyncio.sleep(0.1)

        b, b_log = start_worker("b", env, tmp_path)
        await wait_pollers(ops_stack, task_queue, 2)
        os.kill(a.pid, signal.SIGKILL)  # a crash: nothing tells the server
        a.wait(timeout=10)
        assert a.returncode == -signal.SIGKILL

        reviewed = await review.drive(handle, approve_all, timeout=120)
        review_result = await handle.result()
        hired = await asyncio.wait_for(hiring, 180)
    finally:
        for process in (a, b):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=15)
    assert b is not None and b.returncode in (0, -signal.SIGTERM), b_log.read_text()[-2000:]
    assert reviewed.outcome == "adopted" and review_result.outcome == "adopted"
    assert hired.outcome == rc.HIRED and hired.employee_id

    with Session(ops_stack.engine) as s:
        hires = s.exec(select(Hire).where(Hire.employee_id == hired.employee_id)).all()
        assert len(hires) == 1
        recruitment_id = hires[0].recruitment_id
        applicants = s.exec(select(Applicant).where(Applicant.recruitment_id == recruitment_id)).all()
        assert len(applicants) == len({a.applicant_id for a in applicants}) == 9
        adopted = s.exec(
            select(JobDescriptionVersion).where(
                JobDescriptionVersion.workflow_id == handle.id,
                col(JobDescriptionVersion.resolution_number).is_not(None),
            )
        ).all()
        assert len(adopted) == 1 and adopted[0].status == "current"
        for workflow_id in (handle.id, rc.recruitment_workflow_id(recruitment_id)):
            audit = s.exec(select(AuditEvent).where(AuditEvent.workflow_id == workflow_id)).all()
            assert audit
            twice = [k for k, n in Counter((r.step_id, r.actor_id, r.action) for r in audit).items() if n > 1]
            assert not twice, twice
            outbox = s.exec(select(OutboxMessage).where(OutboxMessage.workflow_id == workflow_id)).all()
            assert outbox
            twice = [k for k, n in Counter((r.recipient_id, r.subject) for r in outbox).items() if n > 1]
            assert not twice, twice
    # both workers worked on both: A before the kill, B after (the identity is pid@host)
    for workflow_id in (handle.id, rc.recruitment_workflow_id(recruitment_id)):
        history = await ops_stack.client.get_workflow_handle(workflow_id).fetch_history()
        identities = {
            e.workflow_task_started_event_attributes.identity.split("@")[0]
            for e in history.events
            if e.HasField("workflow_task_started_event_attributes")
        }
        assert {str(a.pid), str(b.pid)} <= identities, identities
    print(f"review {handle.id}: {review_result.outcome}; recruitment: {hired.outcome} {hired.employee_id}")
    print(f"worker A killed (SIGKILL) mid-way; worker B finished both; logs in {tmp_path}")
