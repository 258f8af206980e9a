"""Full job-description review cycles per second, and the latency of a decision's round trip.

Each cycle reviews classification 1821 with the 2023 draft (``load_text("1821_draft_2023")``)
under a cycle id of its own (``jd-review-1821-<cycle>``) and is driven to adoption by scripted
decisions, the way ``tests/review_harness.py`` drives a review: the driver polls the ``status``
query and answers every pending person with the ``decide`` Update (everybody approves, the union
is agreeable, the Board approves with a resolution number). The people of one step answer
concurrently. At most ``--concurrency`` cycles are in flight. The worker is the service's own
(``worker.build_worker``) with its real activities against a SQLite file, or PostgreSQL with
``--database-url``; there is no SMTP server, so notifications stay in the outbox.

Reported: cycles per second (wall time from the first start to the last result), the round
trip of each ``decide`` Update (p50/p95/max, ms), the size of a cycle's history (events, bytes,
activities, workflow tasks, search-attribute upserts), the status queries the driver needed,
and the rows a cycle leaves in the record.

    .venv/bin/python -m bench.review_throughput [-n 40] [--concurrency 20] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, NoReturn

from sqlalchemy import func
from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowHandle

from activities.seed import DEMO_CLASS_CODE, DEMO_DRAFT_NAME, DEMO_REQUESTER_ID, load_text
from bench.common import (
    CpuMeter,
    Database,
    bounded,
    database,
    dev_server,
    history_stats,
    hr_worker,
    machine,
    parser,
    percentiles_ms,
    quiet_logging,
    run,
    timing_summary,
)
from schemas import jd_review as jd
from schemas.decision_details import BoardResolution, as_sent
from schemas.human_step import DecisionInput, DecisionReceipt
from schemas.tables import AuditEvent, Document, JobDescriptionVersion, OutboxMessage, Signature

RESOLUTION_NUMBER = "26-0412R"
CYCLE_TIMEOUT_SECONDS = 120.0


def approve_all(step_id: str, person: str) -> DecisionInput:
    """Everybody agrees; the Board approves with a resolution number (as tests/review_harness.py)."""
    if step_id.startswith("union-"):
        return DecisionInput(actor_id=person, decision="agreeable", step_id=step_id)
    if step_id.startswith("board-"):
        return DecisionInput(
            actor_id=person,
            decision="approve",
            step_id=step_id,
            details=as_sent(BoardResolution(resolution_number=RESOLUTION_NUMBER)),
        )
    return DecisionInput(actor_id=person, decision="approve", step_id=step_id, comment="looks right")


@dataclass
class Driver:
    client: Client
    task_queue: str
    draft: str
    poll_seconds: float
    update_seconds: list[float] = field(default_factory=list)
    cycle_seconds: list[float] = field(default_factory=list)
    queries: int = 0
    updates: int = 0
    handles: list[WorkflowHandle[Any, jd.ReviewResult]] = field(default_factory=list)

    async def cycle(self, cycle: str, timed: bool = True) -> jd.ReviewResult:
        """One review from start to adoption."""
        began = time.perf_counter()
        inp = jd.StartReviewInput(
            class_code=DEMO_CLASS_CODE, cycle=cycle, requested_by=DEMO_REQUESTER_ID, draft_text=self.draft
        )
        handle = await self.client.start_workflow(
            "JobDescriptionReview",
            inp,
            id=jd.review_workflow_id(DEMO_CLASS_CODE, cycle),
            task_queue=self.task_queue,
            result_type=jd.ReviewResult,
        )
        result_task = asyncio.ensure_future(handle.result())
        answered: set[tuple[str, str]] = set()
        deadline = began + CYCLE_TIMEOUT_SECONDS
        try:
            while not result_task.done():
                status = await handle.query("status", result_type=jd.ReviewStatus)
                if timed:
                    self.queries += 1
                todo = [
                    (step.step_id, person)
                    for step in status.open_steps
                    for person in step.pending
                    if (step.step_id, person) not in answered
                ]
                if todo:
                    answered.update(todo)
                    await asyncio.gather(*(self._decide(handle, s, p, timed) for s, p in todo))
                    continue
                if time.perf_counter() > deadline:
                    raise TimeoutError(
                        f"{handle.id}: no result after {CYCLE_TIMEOUT_SECONDS:.0f} s; "
                        f"last status {status.model_dump_json()}"
                    )
                await asyncio.wait([result_task], timeout=self.poll_seconds)
            result = result_task.result()
        finally:
            result_task.cancel()
        if timed:
            self.cycle_seconds.append(time.perf_counter() - began)
            self.handles.append(handle)
        return result

    async def _decide(self, handle: WorkflowHandle[Any, Any], step_id: str, person: str, timed: bool) -> None:
        began = time.perf_counter()
        await handle.execute_update("decide", approve_all(step_id, person), result_type=DecisionReceipt)
        if timed:
            self.update_seconds.append(time.perf_counter() - began)
            self.updates += 1


def record_rows(db: Database, prefix: str) -> dict[str, int]:
    """Rows the timed cycles left in the record (all of them, not per cycle)."""
    like = f"{prefix}%"
    with Session(db.engine) as s:

        def count(model: Any, column: Any) -> int:
            return int(s.exec(select(func.count()).select_from(model).where(col(column).like(like))).one())

        versions = s.exec(
            select(JobDescriptionVersion.id).where(col(JobDescriptionVersion.workflow_id).like(like))
        ).all()
        signatures = (
            int(
                s.exec(
                    select(func.count())
                    .select_from(Signature)
                    .where(col(Signature.version_id).in_(list(versions)))
                ).one()
            )
            if versions
            else 0
        )
        current = int(
            s.exec(
                select(func.count())
                .select_from(JobDescriptionVersion)
                .where(
                    JobDescriptionVersion.class_code == DEMO_CLASS_CODE,
                    JobDescriptionVersion.status == "current",
                )
            ).one()
        )
        return {
            "current_versions_of_class_after": current,
            "audit_events": count(AuditEvent, AuditEvent.workflow_id),
            "outbox_messages": count(OutboxMessage, OutboxMessage.workflow_id),
            "documents": count(Document, Document.workflow_id),
            "versions": len(versions),
            "signatures": signatures,
        }


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    quiet_logging(args.log_level)
    info = machine()
    tag = f"b{uuid.uuid4().hex[:6]}"
    with database(args.database_url, sqlite_wal=args.sqlite_wal) as db:
        async with dev_server(args) as server:
            async with hr_worker(server.client, db) as task_queue:
                driver = Driver(server.client, task_queue, load_text(DEMO_DRAFT_NAME), args.poll_ms / 1000)
                for w in range(args.warmup):
                    await driver.cycle(f"warmup{tag}-{w}", timed=False)
                with CpuMeter() as cpu:
                    began = time.perf_counter()
                    results = await bounded(
                        args.concurrency,
                        [lambda i=i: driver.cycle(f"{tag}-{i:04d}") for i in range(args.n)],
                    )
                    elapsed = time.perf_counter() - began
                stats = await asyncio.gather(*(history_stats(h) for h in driver.handles))
            rows = record_rows(db, jd.review_workflow_id(DEMO_CLASS_CODE, f"{tag}-"))
    outcomes: dict[str, int] = {}
    for r in results:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    if outcomes != {jd.ADOPTED: args.n}:
        raise SystemExit(f"not every cycle was adopted: {outcomes}")
    events = [s.events for s in stats]
    return {
        "bench": "review_throughput",
        "server": server.kind,
        "database": db.kind,
        "n": args.n,
        "concurrency": args.concurrency,
        "poll_ms": args.poll_ms,
        "seconds": round(elapsed, 2),
        "cycles_per_second": round(args.n / elapsed, 2),
        "cycle_latency_ms": percentiles_ms(driver.cycle_seconds),
        "decide_update_ms": percentiles_ms(driver.update_seconds),
        "updates_per_cycle": round(driver.updates / args.n, 2),
        "status_queries_per_cycle": round(driver.queries / args.n, 2),
        "history_events_per_cycle": {
            "min": min(events),
            "mean": round(statistics.mean(events), 1),
            "max": max(events),
        },
        "history_kib_per_cycle": round(statistics.mean(s.bytes for s in stats) / 1024, 1),
        "activities_per_cycle": round(statistics.mean(s.activities for s in stats), 1),
        "workflow_tasks_per_cycle": round(statistics.mean(s.workflow_tasks for s in stats), 1),
        "search_attribute_upserts_per_cycle": round(
            statistics.mean(s.search_attribute_upserts for s in stats), 1
        ),
        "history_event_types_first_cycle": stats[0].by_type,
        "server_side_ms": timing_summary(stats),
        "current_versions_after": rows.pop("current_versions_of_class_after"),
        "record_rows_per_cycle": {k: round(v / args.n, 1) for k, v in rows.items()},
        **cpu.result,
        **info,
    }


def main() -> NoReturn:
    p = parser(
        "Full job-description review cycles driven to adoption by scripted decisions.",
        n=40,
        concurrency=20,
        what="review cycles",
    )
    p.add_argument(
        "--poll-ms",
        type=int,
        default=50,
        help="pause between status queries while no step waits for an answer (default 50)",
    )
    args = p.parse_args()
    run(lambda: bench(args))


if __name__ == "__main__":
    main()
