"""Bulk: open enrollment for ``-n`` employees on the dev server, until every child waits for its
election, against a bare-SDK parent of the same shape in the same run.

``-n`` synthetic employees (``E100000``…, in Public Works, each holding the seeded current
elections) are added to a freshly seeded record. ``OpenEnrollment`` starts one
``BenefitsEnrollment`` per eligible employee (``-n`` plus the demo city's) in a sliding window of
``--concurrency`` child starts in flight, continuing as new every ``--per-run`` children; the
clock stops when every enrollment's row is ``open`` in the store (its elections step is open and
it waits for the employee). The worker is the service's own (``worker.build_worker``), with the
real activities and no SMTP (outbox only).

Then ``BareOpenEnrollment`` (``bench/bare_open_enrollment.py``: the same parent shape, children
with the same two local activities and a timer, trivial activities, no database) starts the same
number of children on a worker of its own, configured like the service's; its clock stops when
every child has reached its timer.

Reported: the wall time of each and the ratio, children per second, the parent's largest history
(events and bytes over its runs) and its number of runs, the events of a child at its wait, and
the peak RSS of this process (which runs the workers and the driver) after each phase.

    .venv/bin/python -m bench.open_enrollment_bulk [-n 10000] [--concurrency 100] [--per-run 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any, NoReturn

from sqlalchemy import func
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from activities.seed_benefits import seed_benefits
from bench import bare_open_enrollment as bare
from bench.common import (
    CpuMeter,
    Database,
    database,
    dev_server,
    hr_worker,
    machine,
    parser,
    quiet_logging,
    run,
)
from schemas import benefits as bn
from schemas.benefits_tables import BenefitEnrollment
from schemas.tables import Person

YEAR = 2031


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def add_employees(db: Database, n: int) -> int:
    """``n`` employees with current elections; returns how many open enrollment covers."""
    ids = [f"E{100000 + i}" for i in range(n)]
    with Session(db.engine) as s:
        s.add_all(
            Person(
                id=i,
                name=f"Bench Employee {i}",
                email=f"{i.lower()}@city.example",
                title="Maintenance Worker",
                department_code="PW",
                supervisor_id="E1011",
                roles=["employee"],
                employment_status="permanent",
            )
            for i in ids
        )
        s.commit()
    for start in range(0, n, 2000):
        seed_benefits(db.engine, people=ids[start : start + 2000])
    with Session(db.engine) as s:
        return len(s.exec(select(Person.id).where(Person.active)).all())


async def history_of_runs(client: Client, workflow_id: str, first_run_id: str) -> list[tuple[int, int]]:
    """(events, bytes) of each run of a workflow that continued as new, oldest first."""
    runs: list[tuple[int, int]] = []
    run_id: str | None = first_run_id
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        size = sum(e.ByteSize() for e in history.events)
        runs.append((len(history.events), size))
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.HasField("workflow_execution_continued_as_new_event_attributes")
            else None
        )
    return runs


async def wait_until(count: Any, target: int, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while True:
        done = await count()
        if done >= target:
            return
        if time.perf_counter() > deadline:
            raise SystemExit(f"only {done} of {target} children waiting after {timeout:.0f} s")
        await asyncio.sleep(0.5)


async def run_service(
    client: Client, task_queue: str, db: Database, everyone: int, args: Any
) -> dict[str, Any]:
    closes_at = datetime.now(timezone.utc) + timedelta(days=30)

    async def opened() -> int:
        def count() -> int:
            with Session(db.engine) as s:
                return s.exec(
                    select(func.count())
                    .select_from(BenefitEnrollment)
                    .where(BenefitEnrollment.year == YEAR)
                    .where(BenefitEnrollment.status == bn.OPEN)
                ).one()

        return await asyncio.to_thread(count)

    began = time.perf_counter()
    handle: WorkflowHandle[Any, Any] = await client.start_workflow(
        bn.OPEN_ENROLLMENT_WORKFLOW,
        bn.OpenEnrollmentInput(
            year=YEAR,
            requested_by="E1008",
            closes_at=closes_at,
            window=args.concurrency,
            per_run_limit=args.per_run,
            wait_for_outcomes=False,
        ),
        id=bn.open_enrollment_workflow_id(YEAR),
        task_queue=task_queue,
        result_type=bn.OpenEnrollmentProgress,
    )
    progress: bn.OpenEnrollmentProgress = await handle.result()
    started_all = time.perf_counter() - began
    await wait_until(opened, everyone, 600 + everyone / 5)
    elapsed = time.perf_counter() - began
    runs = await history_of_runs(client, handle.id, handle.first_execution_run_id or "")
    child = await client.get_workflow_handle(f"benefits-E100000-open-{YEAR}").fetch_history()
    return {
        "seconds": elapsed,
        "start_all_seconds": started_all,
        "started": progress.started,
        "runs": runs,
        "child_events": len(child.events),
    }


async def run_bare(client: Client, everyone: int, args: Any) -> dict[str, Any]:
    task_queue = f"bench-bare-oe-{uuid.uuid4().hex[:8]}"
    tag = uuid.uuid4().hex[:6]
    bare.OPENED[0] = 0
    with ThreadPoolExecutor(max_workers=16) as pool:
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[bare.BareOpenEnrollment, bare.BareEnrollment],
            activities=[bare.bare_page, bare.bare_open],
            activity_executor=pool,
        ):
            began = time.perf_counter()
            handle = await client.start_workflow(
                bare.BareOpenEnrollment.run,
                bare.BareInput(tag, everyone, args.concurrency, args.per_run),
                id=f"bare-oe-{tag}",
                task_queue=task_queue,
            )
            await handle.result()

            async def opened() -> int:
                return bare.OPENED[0]

            await wait_until(opened, everyone, 600 + everyone / 5)
            elapsed = time.perf_counter() - began
            runs = await history_of_runs(client, handle.id, handle.first_execution_run_id or "")
            child = await client.get_workflow_handle(f"bare-enr-{tag}-000000").fetch_history()
    return {"seconds": elapsed, "runs": runs, "child_events": len(child.events)}


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    quiet_logging(args.log_level)
    info = machine()
    with database(args.database_url, sqlite_wal=args.sqlite_wal) as db:
        everyone = add_employees(db, args.n)
        async with dev_server(args) as server:
            client = server.client
            async with hr_worker(client, db) as task_queue:
                with CpuMeter() as cpu:
                    service = await run_service(client, task_queue, db, everyone, args)
            service_rss = peak_rss_mb()
            with CpuMeter() as bare_cpu:
                bare_run = await run_bare(client, everyone, args)
            bare_rss = peak_rss_mb()
    biggest = max(service["runs"], key=lambda r: r[0])
    bare_biggest = max(bare_run["runs"], key=lambda r: r[0])
    return {
        "bench": "open_enrollment_bulk",
        "server": server.kind,
        "database": db.kind,
        "employees": everyone,
        "window": args.concurrency,
        "per_run_limit": args.per_run,
        "open_enrollment": {
            "seconds": round(service["seconds"], 2),
            "all_started_seconds": round(service["start_all_seconds"], 2),
            "children_per_second": round(everyone / service["seconds"], 1),
            "parent_runs": len(service["runs"]),
            "parent_largest_history": {"events": biggest[0], "bytes": biggest[1]},
            "parent_events_per_run_mean": round(statistics.mean(r[0] for r in service["runs"]), 1),
            "child_events_at_wait": service["child_events"],
            "peak_rss_mb_after": service_rss,
            **cpu.result,
        },
        "bare": {
            "seconds": round(bare_run["seconds"], 2),
            "children_per_second": round(everyone / bare_run["seconds"], 1),
            "parent_runs": len(bare_run["runs"]),
            "parent_largest_history": {"events": bare_biggest[0], "bytes": bare_biggest[1]},
            "child_events_at_wait": bare_run["child_events"],
            "peak_rss_mb_after": bare_rss,
            **bare_cpu.result,
        },
        "ratio_time_open_enrollment_over_bare": round(service["seconds"] / bare_run["seconds"], 2),
        **info,
    }


def main() -> NoReturn:
    p = parser(
        "Bulk: open enrollment until every child waits for its election, against a bare-SDK parent.",
        n=10_000,
        concurrency=100,
        what="employees",
    )
    p.add_argument("--per-run", type=int, default=1000, help="children per parent run (default 1000)")
    args = p.parse_args()
    run(lambda: bench(args))


if __name__ == "__main__":
    main()
