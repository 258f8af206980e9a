"""Bulk: how fast the review sweep fans out into child reviews.

Seeds ``-n`` synthetic classifications (``SYN0001``…) on top of the demo city, each with a
current description last revised on 2005-01-01 (so it is due for review), a short text, and one
position whose supervisor and incumbent are seeded people (so the child's participants resolve).
Then runs ``JobDescriptionReviewSweep`` with ``batch_size`` 10 and ``per_run_limit`` 100, so it
continues as new every 100 children, and times it from its start until its last run has
returned, i.e. until every child has started. The seeded classifications that are already due
(1821, AAC30 and AST12) get a child too.

Also reported: when every child had opened its first step (the drafting step, waiting for the
requester; read from the visibility store), the history and input size of each sweep run, and
how long terminating the children took (they are terminated at the end, ``--concurrency`` at a
time). ``--warmup`` does not apply here.

    .venv/bin/python -m bench.sweep_bulk [-n 300] [--concurrency 20] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import date
from typing import Any, NoReturn

from sqlmodel import Session
from temporalio.client import Client
from temporalio.service import RPCError

from activities.db import utcnow
from activities.directory import DirectoryActivities
from activities.seed import DEMO_REQUESTER_ID, DEPARTMENT_DIRECTOR_IDS, PEOPLE, UNION_REP_IDS
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
)
from schemas import jd_review as jd
from schemas.tables import Classification, JobDescriptionVersion, Position

SYNTHETIC_REVISED_ON = date(2005, 1, 1)
BATCH_SIZE = 10
PER_RUN_LIMIT = 100
WAITING_TIMEOUT_SECONDS = 120.0


def seed_synthetic(db: Database, n: int) -> list[str]:
    """``n`` due classifications with one staffed position each; returns their codes."""
    # Supervisor/incumbent pairs from the seeded directory; the requester never reviews.
    pairs = [(p.supervisor, p.id) for p in PEOPLE if p.supervisor and p.id != DEMO_REQUESTER_ID]
    departments = sorted(DEPARTMENT_DIRECTOR_IDS)
    units: list[str | None] = [*sorted(UNION_REP_IDS), None]
    codes = [f"SYN{i:04d}" for i in range(1, n + 1)]
    now = utcnow()
    with Session(db.engine) as session:
        for i, code in enumerate(codes):
            session.add(
                Classification(
                    code=code,
                    title=f"Synthetic Classification {i + 1}",
                    department_code=departments[i % len(departments)],
                    bargaining_unit_code=units[i % len(units)],
                    source="bench/sweep_bulk.py",
                )
            )
        session.flush()
        for i, code in enumerate(codes):
            supervisor, incumbent = pairs[i % len(pairs)]
            session.add(
                JobDescriptionVersion(
                    key=f"bench:{code}:current",
                    class_code=code,
                    status="current",
                    text=f"Synthetic Classification {i + 1}\n\nPerforms duties of class {code}.\n",
                    revised_on=SYNTHETIC_REVISED_ON,
                    created_at=now,
                )
            )
            session.add(
                Position(
                    id=f"P-{code}-01",
                    class_code=code,
                    department_code=departments[i % len(departments)],
                    title=f"Synthetic Position {i + 1}",
                    supervisor_id=supervisor,
                    incumbent_id=incumbent,
                )
            )
        session.commit()
    return codes


def due_codes(db: Database, as_of: date) -> list[str]:
    """Every classification due for review on ``as_of``, a page at a time, as the sweep sees them."""
    directory = DirectoryActivities(db.engine)
    codes: list[str] = []
    while page := directory.find_stale_classifications(
        jd.StaleQuery(older_than_years=10, as_of=as_of, after=codes[-1] if codes else None, limit=500)
    ):
        codes += page
    return codes


async def count(client: Client, query: str) -> int | None:
    try:
        return (await client.count_workflows(query)).count
    except RPCError:
        return None


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    quiet_logging(args.log_level)
    info = machine()
    cycle = f"b{uuid.uuid4().hex[:6]}"
    sweep_id = jd.sweep_workflow_id(cycle)
    with database(args.database_url, sqlite_wal=args.sqlite_wal) as db:
        seed_began = time.perf_counter()
        seed_synthetic(db, args.n)
        seed_seconds = time.perf_counter() - seed_began
        as_of = date.today()
        due = due_codes(db, as_of)
        child_ids = [jd.review_workflow_id(code, cycle) for code in due]
        async with dev_server(args) as server:
            client = server.client
            async with hr_worker(client, db) as task_queue:
                with CpuMeter() as cpu:
                    began = time.perf_counter()
                    handle = await client.start_workflow(
                        "JobDescriptionReviewSweep",
                        jd.SweepInput(
                            cycle=cycle,
                            requested_by=DEMO_REQUESTER_ID,
                            as_of=as_of,
                            batch_size=BATCH_SIZE,
                            per_run_limit=PER_RUN_LIMIT,
                        ),
                        id=sweep_id,
                        task_queue=task_queue,
                        result_type=jd.SweepResult,
                    )
                    result = await handle.result()  # follows the continue-as-new chain to its end
                    sweep_seconds = time.perf_counter() - began

                # Every child waiting at its first step (the requester is pending on draft-1).
                waiting_query = (
                    f'WorkflowType = "JobDescriptionReview" AND ExecutionStatus = "Running" '
                    f'AND HrPendingApprovers = "{DEMO_REQUESTER_ID}"'
                )
                waiting_seconds: float | None = None
                waiting = None
                while time.perf_counter() - began < WAITING_TIMEOUT_SECONDS:
                    waiting = await count(client, waiting_query)
                    if waiting is None:
                        break
                    if waiting >= result.started:
                        waiting_seconds = time.perf_counter() - began
                        break
                    await asyncio.sleep(0.25)

                runs = sorted(
                    [r async for r in client.list_workflows(f'WorkflowId = "{sweep_id}"')],
                    key=lambda r: r.start_time,
                )
                run_stats = await asyncio.gather(
                    *(history_stats(client.get_workflow_handle(sweep_id, run_id=r.run_id)) for r in runs)
                )
                input_sizes = [
                    (await client.get_workflow_handle(sweep_id, run_id=r.run_id).fetch_history())
                    .events[0]
                    .workflow_execution_started_event_attributes.input.ByteSize()
                    for r in runs
                ]
                first_child = await history_stats(client.get_workflow_handle(child_ids[0]))

                terminate_seconds: list[float] = []

                async def terminate(workflow_id: str) -> None:
                    t = time.perf_counter()
                    await client.get_workflow_handle(workflow_id).terminate(reason="benchmark done")
                    terminate_seconds.append(time.perf_counter() - t)

                t0 = time.perf_counter()
                await bounded(args.concurrency, [lambda w=w: terminate(w) for w in child_ids])
                terminate_total = time.perf_counter() - t0
                # Visibility catches up a moment later; wait (briefly) until it lists none running.
                running_query = 'WorkflowType = "JobDescriptionReview" AND ExecutionStatus = "Running"'
                still_running = await count(client, running_query)
                while still_running and time.perf_counter() - t0 < 15:
                    await asyncio.sleep(0.25)
                    still_running = await count(client, running_query)
    if result.started != len(due) or result.already_started or not result.done or result.cursor != due[-1]:
        raise SystemExit(f"the sweep started {result.started} children, expected {len(due)}: {result}")
    children = result.started
    return {
        "bench": "sweep_bulk",
        "server": server.kind,
        "database": db.kind,
        "synthetic_classifications": args.n,
        "children": children,
        "batch_size": BATCH_SIZE,
        "per_run_limit": PER_RUN_LIMIT,
        "sweep_runs": len(runs),
        "seed_seconds": round(seed_seconds, 2),
        "seconds_until_all_started": round(sweep_seconds, 2),
        "children_started_per_second": round(children / sweep_seconds, 2),
        **cpu.result,
        "seconds_until_all_waiting_at_first_step": round(waiting_seconds, 2) if waiting_seconds else None,
        "waiting_at_first_step": waiting,
        "sweep_run_history_events": [s.events for s in run_stats],
        "sweep_run_history_kib": [round(s.bytes / 1024, 1) for s in run_stats],
        "sweep_run_input_bytes": input_sizes,
        "child_history_events_at_first_step": first_child.events,
        "child_activities_at_first_step": first_child.activities,
        "terminate_seconds": round(terminate_total, 2),
        "terminate_ms": percentiles_ms(terminate_seconds),
        "children_still_running": still_running,
        **info,
    }


def main() -> NoReturn:
    args = parser(
        "Bulk: the review sweep over many due classifications.",
        n=300,
        concurrency=20,
        what="synthetic classifications",
    ).parse_args()
    run(lambda: bench(args))


if __name__ == "__main__":
    main()
