"""Recovery after ``kill -9``: how long an activity lost with its worker takes to run again.

The worker runs in a subprocess, as in production (``python -m worker``, what ``hr worker``
runs, with ``HR_*`` variables pointing at this benchmark's dev server and database). The driver
makes sure activities are in flight when the worker dies: it holds the record's database locked
(SQLite ``BEGIN EXCLUSIVE``; ``LOCK TABLE … ACCESS EXCLUSIVE`` on PostgreSQL), starts ``-n``
reviews (their first activity, ``resolve_review_participants``, a single read) and sends one
recruitment an ``apply`` Update of ``--applicants`` applications (``record_applications``, a
bulk write that heartbeats every 100 rows), waits until the server shows every one of those
activities started, and then kills the worker with SIGKILL. It releases the lock and starts a
new worker subprocess at once. Nothing tells the server that the attempts died: each is retried
only when its timeout (start-to-close, or the heartbeat timeout where there is one) expires.

Reported per activity, from the workflows' histories (server timestamps; the kill's time is
taken on the same machine): the options it was scheduled with, the attempt that completed, when
that attempt started and when it completed, counted from the kill (p50 and max over the lost
activities), and the ``apply`` Update's round trip from the kill.

``--options`` runs the service's options (``new``), the options before they were fitted to each
activity (``old``: 60 s start-to-close for every activity, 10 minutes and a 1-minute heartbeat
timeout for the notices), or both. The old options come from ``bench/recovery_worker.py``
(``BENCH_ACTIVITY_OPTIONS=old``, read there only), a wrapper that runs the service's worker
with an interceptor rescheduling every activity with them.

    .venv/bin/python -m bench.recovery [-n 4] [--applicants 2000] [--options both|new|old]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client, WorkflowHandle

from activities.seed import DEMO_CLASS_CODE, DEMO_DRAFT_NAME, DEMO_REQUESTER_ID, load_text
from bench.common import Database, database, dev_server, machine, parser, quiet_logging, run
from bench.recovery_worker import OPTIONS_VARIABLE
from bench.recruitment_bulk import Driver, applications
from schemas import jd_review as jd
from schemas import recruitment as rc

REPO = Path(__file__).resolve().parent.parent
REVIEW_ACTIVITY = "resolve_review_participants"
IMPORT_ACTIVITY = "record_applications"
STARTED_TIMEOUT = 20.0
"""Seconds to wait for every activity to be started (the worker's SQLite busy timeout is 30)."""
STARTED = PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
RECOVERY_TIMEOUT = 240.0
"""Seconds to wait for the lost activities to complete (the old options need a minute)."""


# ----- the worker subprocess ------------------------------------------------------------------


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log: Path
    started: float

    def kill9(self) -> float:
        """SIGKILL, as a crash would; returns the time of the kill."""
        at = time.time()
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        return at

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def start_worker(variant: str, target: str, db: Database, task_queue: str, folder: Path) -> WorkerProcess:
    """``python -m worker`` (new options) or ``python -m bench.recovery_worker`` (old ones)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("HR_")}
    env.update(
        HR_TEMPORAL_ADDRESS=target,
        HR_TEMPORAL_NAMESPACE="default",
        HR_DATABASE_URL=db.url,
        HR_TASK_QUEUE=task_queue,
        HR_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    module = "worker"
    if variant == "old":
        env[OPTIONS_VARIABLE] = "old"
        module = "bench.recovery_worker"
    log = folder / f"worker-{variant}-{uuid.uuid4().hex[:6]}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", module], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return WorkerProcess(process=process, log=log, started=time.time())


# ----- activities in flight: the database held ------------------------------------------------


@contextmanager
def database_held(db: Database) -> Iterator[None]:
    """Every read and write of the record waits while this is open (activities hang, started)."""
    url = make_url(db.url)
    if url.get_backend_name() == "sqlite":
        assert url.database
        conn = sqlite3.connect(url.database, isolation_level=None, timeout=30)
        try:
            conn.execute("BEGIN EXCLUSIVE")  # the rollback journal: readers wait too
            yield
            conn.execute("ROLLBACK")
        finally:
            conn.close()
        return
    tables = ", ".join(f'"{name}"' for name in SQLModel.metadata.tables)
    with db.engine.connect() as conn:
        transaction = conn.begin()
        conn.execute(text(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
        finally:
            transaction.rollback()


async def wait_started(handles: list[tuple[WorkflowHandle[Any, Any], str]]) -> None:
    """Until each workflow shows its activity of that name started (by the worker about to die)."""
    deadline = time.monotonic() + STARTED_TIMEOUT
    waiting = list(handles)
    while waiting:
        still = []
        for handle, name in waiting:
            described = await handle.describe()
            started = [
                a
                for a in described.raw_description.pending_activities
                if a.activity_type.name == name and a.state == STARTED
            ]
            if not started:
                still.append((handle, name))
        waiting = still
        if waiting and time.monotonic() > deadline:
            ids = [h.id for h, _ in waiting]
            raise SystemExit(f"activities not started within {STARTED_TIMEOUT:.0f} s: {ids}")
        if waiting:
            await asyncio.sleep(0.05)


# ----- what the histories say -----------------------------------------------------------------


def _seconds(duration: Any) -> float | None:
    value = duration.ToTimedelta().total_seconds()
    return value if value > 0 else None


async def lost_activity(handle: WorkflowHandle[Any, Any], name: str, killed_at: float) -> dict[str, Any]:
    """The first activity ``name`` of the workflow, once completed: its options and timings."""
    deadline = time.monotonic() + RECOVERY_TIMEOUT
    while True:
        history = await handle.fetch_history()
        scheduled: Any = None
        started: Any = None
        for event in history.events:
            kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
            if kind == "ACTIVITY_TASK_SCHEDULED" and scheduled is None:
                attrs = event.activity_task_scheduled_event_attributes
                if attrs.activity_type.name == name:
                    scheduled = (event.event_id, attrs)
            elif kind == "ACTIVITY_TASK_STARTED" and scheduled is not None:
                if event.activity_task_started_event_attributes.scheduled_event_id == scheduled[0]:
                    started = event
            elif kind == "ACTIVITY_TASK_COMPLETED" and scheduled is not None and started is not None:
                if event.activity_task_completed_event_attributes.scheduled_event_id == scheduled[0]:
                    attrs = scheduled[1]
                    began = started.event_time.ToMicroseconds() / 1e6
                    done = event.event_time.ToMicroseconds() / 1e6
                    return {
                        "start_to_close_s": _seconds(attrs.start_to_close_timeout),
                        "heartbeat_timeout_s": _seconds(attrs.heartbeat_timeout),
                        "attempt": started.activity_task_started_event_attributes.attempt,
                        "retry_started_after_kill_s": round(began - killed_at, 2),
                        "completed_after_kill_s": round(done - killed_at, 2),
                        "run_s": round(done - began, 3),
                    }
        if time.monotonic() > deadline:
            raise SystemExit(f"{handle.id}: {name} did not complete within {RECOVERY_TIMEOUT:.0f} s")
        await asyncio.sleep(0.25)


def summary(found: list[dict[str, Any]]) -> dict[str, Any]:
    """One activity type's lost attempts: the options, the attempts, p50 and max of the timings."""

    def p50_max(key: str) -> dict[str, float]:
        values = sorted(f[key] for f in found)
        return {"p50": values[(len(values) - 1) // 2], "max": values[-1]}

    return {
        "count": len(found),
        "start_to_close_s": found[0]["start_to_close_s"],
        "heartbeat_timeout_s": found[0]["heartbeat_timeout_s"],
        "attempts": sorted({f["attempt"] for f in found}),
        "retry_started_after_kill_s": p50_max("retry_started_after_kill_s"),
        "completed_after_kill_s": p50_max("completed_after_kill_s"),
        "retry_run_s": p50_max("run_s"),
    }


# ----- one kill, for one set of options -------------------------------------------------------


async def start_review(client: Client, task_queue: str, tag: str) -> WorkflowHandle[Any, Any]:
    cycle = f"rec-{tag}"
    return await client.start_workflow(
        "JobDescriptionReview",
        jd.StartReviewInput(
            class_code=DEMO_CLASS_CODE,
            cycle=cycle,
            requested_by=DEMO_REQUESTER_ID,
            draft_text=load_text(DEMO_DRAFT_NAME),
        ),
        id=jd.review_workflow_id(DEMO_CLASS_CODE, cycle),
        task_queue=task_queue,
        result_type=jd.ReviewResult,
    )


async def warm_up(client: Client, task_queue: str) -> None:
    """One review to its first step: the worker is up, polling and warm."""
    handle = await start_review(client, task_queue, f"warm-{uuid.uuid4().hex[:6]}")
    deadline = time.monotonic() + 60
    while True:
        status = await handle.query("status", result_type=jd.ReviewStatus)
        if any(s.pending for s in status.open_steps):
            break
        if time.monotonic() > deadline:
            raise SystemExit("the worker did not bring a review to its first step within 60 s")
        await asyncio.sleep(0.1)
    await handle.terminate(reason="recovery benchmark warm-up")


async def one_kill(
    client: Client, target: str, db: Database, variant: str, args: argparse.Namespace, folder: Path
) -> dict[str, Any]:
    task_queue = f"recovery-{variant}-{uuid.uuid4().hex[:6]}"
    first = start_worker(variant, target, db, task_queue, folder)
    second: WorkerProcess | None = None
    handles: list[WorkflowHandle[Any, Any]] = []
    try:
        await warm_up(client, task_queue)
        driver = Driver(client, task_queue, poll_seconds=0.1, timeout=60)
        recruitment = await driver.open(
            f"K{uuid.uuid4().hex[:8]}", datetime.now(timezone.utc) + timedelta(days=1)
        )
        handles.append(recruitment)
        await driver.approve(recruitment)
        apps = applications(args.applicants)

        with database_held(db):
            reviews = [await start_review(client, task_queue, uuid.uuid4().hex[:8]) for _ in range(args.n)]
            handles.extend(reviews)
            apply = asyncio.create_task(
                recruitment.execute_update(
                    "apply",
                    rc.ApplyInput(actor_id=DEMO_REQUESTER_ID, applications=apps, source="recovery.csv"),
                    result_type=rc.ApplyReceipt,
                )
            )
            await wait_started([(r, REVIEW_ACTIVITY) for r in reviews] + [(recruitment, IMPORT_ACTIVITY)])
            killed_at = first.kill9()
        second = start_worker(variant, target, db, task_queue, folder)

        receipt = await asyncio.wait_for(apply, RECOVERY_TIMEOUT)
        apply_done = time.time() - killed_at
        if len(receipt.applicant_ids) != args.applicants:
            raise SystemExit(f"the import gave {len(receipt.applicant_ids)} ids for {args.applicants}")
        lost_reviews = [await lost_activity(r, REVIEW_ACTIVITY, killed_at) for r in reviews]
        lost_import = await lost_activity(recruitment, IMPORT_ACTIVITY, killed_at)
        return {
            "new_worker_spawned_after_kill_s": round(second.started - killed_at, 2),
            REVIEW_ACTIVITY: summary(lost_reviews),
            IMPORT_ACTIVITY: summary([lost_import]),
            "apply_update_done_after_kill_s": round(apply_done, 2),
        }
    except BaseException:
        for worker in (first, second):
            if worker is not None:
                print(f"--- {worker.log.name}\n{worker.tail()}", file=sys.stderr)
        raise
    finally:
        for handle in handles:
            try:
                await handle.terminate(reason="recovery benchmark over")
            except Exception:  # noqa: BLE001 (already closed)
                pass
        for worker in (first, second):
            if worker is not None:
                worker.stop()


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    quiet_logging(args.log_level)
    info = machine()
    variants = ["new", "old"] if args.options == "both" else [args.options]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="hr-bench-recovery-") as folder:
        with database(args.database_url) as db:
            async with dev_server(args) as server:
                target = server.client.service_client.config.target_host
                for variant in variants:
                    results[variant] = await one_kill(server.client, target, db, variant, args, Path(folder))
                kind = server.kind
            record = db.kind
    return {
        "benchmark": "recovery",
        "server": kind,
        "record": record,
        "reviews": args.n,
        "applicants": args.applicants,
        "options": results,
        **info,
    }


def main() -> NoReturn:
    p = parser(
        "Recovery after kill -9 of a worker subprocess with activities in flight.",
        n=4,
        concurrency=1,
        what="reviews whose first activity is lost",
    )
    p.add_argument(
        "--applicants",
        type=int,
        default=2000,
        help="applications in the apply Update whose record_applications is lost (default 2000)",
    )
    p.add_argument(
        "--options",
        choices=["both", "new", "old"],
        default="both",
        help="the service's activity options, the old ones (60 s for everything), or both (default)",
    )
    args = p.parse_args()
    run(lambda: bench(args))


if __name__ == "__main__":
    main()
