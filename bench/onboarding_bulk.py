"""Bulk: ``-n`` onboardings started at once and driven to their probation wait, on the dev server
in real time, against a bare-SDK workflow of the same activity and wait count in the same run.

``-n`` synthetic employees (``E5001``…, in IT, no position: ten tasks each, six months' probation)
are added to a freshly seeded record. All ``-n`` ``Onboarding`` workflows are started at once
(direct appointments, starting today). Then drivers, ``--concurrency`` at a time, take each one to
its probation wait: the status query until its tasks are open, then the ten answers one after the
other as their owners would send them (the ``decide`` Update: payroll, the four IT work orders,
both orientations scheduled for today, the policy acknowledgements, then both attendances), then
the status query until the probation has started. The worker is the service's own
(``worker.build_worker``), with the real activities and no SMTP (outbox only).

The same run then does the same with ``BareOnboarding`` (``bench/bare_onboarding.py``: the same
local activities, Update waits, timer and child, trivial activities, no database) on a worker of
its own, configured like the service's.

Reported: the wall time of each (first start to the last one waiting for its probation), the
onboardings per second, each driver's time (p50/p95/max) and Update round trips, the history
events of each onboarding at its probation wait (mean, min, max, by type) and of its probation,
the bare workflow's, and the ratios of time and events.

    .venv/bin/python -m bench.onboarding_bulk [-n 500] [--concurrency 50] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timezone
from typing import Any, NoReturn

from sqlmodel import Session
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from bench.bare_onboarding import ANSWERS, BareOnboarding, BareProbation, bare_record
from bench.common import (
    CpuMeter,
    Database,
    bounded,
    database,
    dev_server,
    hr_worker,
    machine,
    parser,
    percentiles_ms,
    quiet_logging,
    run,
)
from schemas import onboarding as ob
from schemas.decision_details import OrientationDate, as_sent
from schemas.employment import OnboardingInput, onboarding_workflow_id
from schemas.human_step import DecisionInput, DecisionReceipt
from schemas.tables import Person

EVENT_BUDGET = 150
FIRST_EMPLOYEE = 5001


def add_employees(db: Database, n: int) -> list[str]:
    ids = [f"E{FIRST_EMPLOYEE + i}" for i in range(n)]
    with Session(db.engine) as s:
        for employee in ids:
            s.add(
                Person(
                    id=employee,
                    name=f"Bench Employee {employee}",
                    email=f"{employee.lower()}@city.example",
                    title="IT Technician II",
                    department_code="IT",
                    supervisor_id="E1011",
                    roles=["employee"],
                )
            )
        s.commit()
    return ids


async def events_of(handle: WorkflowHandle[Any, Any]) -> tuple[int, Counter[str]]:
    history = await handle.fetch_history()
    kinds = Counter(EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in history.events)
    return len(history.events), kinds


QUERY_RETRIES: Counter[str] = Counter()


async def poll(fetch: Any, ready: Any, seconds: float, what: str) -> Any:
    deadline = time.perf_counter() + seconds
    while True:
        try:
            value = await fetch()
        except RPCError as err:  # a query the busy worker did not answer in time: ask again
            if err.status != RPCStatusCode.DEADLINE_EXCEEDED and "Timeout" not in err.message:
                raise
            QUERY_RETRIES[what.split("'s ")[-1]] += 1
        else:
            if ready(value):
                return value
        if time.perf_counter() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


# ----- the service's onboarding ------------------------------------------------------------------


async def drive_onboarding(
    handle: WorkflowHandle[Any, Any], today: date, updates: list[float], timeout: float
) -> float:
    """Answers every task of one onboarding as its owner, then waits for its probation."""
    began = time.perf_counter()

    async def status() -> ob.OnboardingStatus:
        return await handle.query("status", result_type=ob.OnboardingStatus)

    current = await poll(status, lambda s: bool(s.open_steps), timeout, f"{handle.id}'s tasks")
    while current.probation is None:
        steps = {s.step_id: s for s in current.open_steps}
        for view in current.tasks:
            step = steps.get(view.step_id or "")
            if step is None or not step.pending:
                continue
            scheduling = view.decision == ob.SCHEDULED
            sent = time.perf_counter()
            await handle.execute_update(
                "decide",
                DecisionInput(
                    actor_id=step.pending[0],
                    decision=view.decision,
                    step_id=step.step_id,
                    details=as_sent(OrientationDate(on=today)) if scheduling else None,
                ),
                result_type=DecisionReceipt,
            )
            updates.append(time.perf_counter() - sent)
        current = await poll(
            status,
            lambda s: s.probation is not None or any(st.pending for st in s.open_steps),
            timeout,
            f"{handle.id}'s probation",
        )
    return time.perf_counter() - began


async def run_onboardings(
    client: Client, task_queue: str, employees: list[str], concurrency: int, timeout: float
) -> dict[str, Any]:
    today = datetime.now(timezone.utc).date()
    updates: list[float] = []
    began = time.perf_counter()
    handles: list[WorkflowHandle[Any, Any]] = await asyncio.gather(
        *(
            client.start_workflow(
                "Onboarding",
                OnboardingInput(employee_id=e, starts_on=today, requested_by="E1008"),
                id=onboarding_workflow_id(e),
                task_queue=task_queue,
            )
            for e in employees
        )
    )
    started = time.perf_counter() - began
    drivers = await bounded(
        concurrency, [lambda h=h: drive_onboarding(h, today, updates, timeout) for h in handles]
    )
    elapsed = time.perf_counter() - began
    return {
        "handles": handles,
        "seconds": elapsed,
        "start_seconds": started,
        "drivers": drivers,
        "updates": updates,
    }


# ----- the bare-SDK counterpart ----------------------------------------------------------------------


async def drive_bare(handle: WorkflowHandle[Any, Any], updates: list[float], timeout: float) -> float:
    began = time.perf_counter()
    for i in range(ANSWERS):
        sent = time.perf_counter()
        await handle.execute_update(BareOnboarding.answer, i)
        updates.append(time.perf_counter() - sent)
    await poll(
        lambda: handle.query(BareOnboarding.probation_started), bool, timeout, f"{handle.id}'s probation"
    )
    return time.perf_counter() - began


async def run_bare(client: Client, n: int, concurrency: int, timeout: float) -> dict[str, Any]:
    task_queue = f"bench-bare-onboarding-{uuid.uuid4().hex[:8]}"
    tag = uuid.uuid4().hex[:6]
    updates: list[float] = []
    with ThreadPoolExecutor(max_workers=16) as pool:
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[BareOnboarding, BareProbation],
            activities=[bare_record],
            activity_executor=pool,
        ):
            began = time.perf_counter()
            handles = await asyncio.gather(
                *(
                    client.start_workflow(
                        BareOnboarding.run, i, id=f"bare-onb-{tag}-{i:05d}", task_queue=task_queue
                    )
                    for i in range(n)
                )
            )
            drivers = await bounded(
                concurrency, [lambda h=h: drive_bare(h, updates, timeout) for h in handles]
            )
            elapsed = time.perf_counter() - began
            counted = await asyncio.gather(*(events_of(h) for h in handles))
            children = await asyncio.gather(
                *(events_of(client.get_workflow_handle(f"{h.id}-probation")) for h in handles[:20])
            )
            for h in handles:
                await h.terminate("benchmark done")
    return {
        "seconds": elapsed,
        "drivers": drivers,
        "updates": updates,
        "events": [c[0] for c in counted],
        "kinds": counted[0][1],
        "child_events": statistics.mean(c[0] for c in children),
    }


# ----- the benchmark ---------------------------------------------------------------------------------


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    quiet_logging(args.log_level)
    info = machine()
    timeout = 120.0 + args.n
    with database(args.database_url, sqlite_wal=args.sqlite_wal) as db:
        employees = add_employees(db, args.n + args.warmup)
        warm, timed = employees[: args.warmup], employees[args.warmup :]
        async with dev_server(args) as server:
            client = server.client
            async with hr_worker(client, db) as task_queue:
                if warm:
                    await run_onboardings(client, task_queue, warm, args.concurrency, timeout)
                with CpuMeter() as cpu:
                    service = await run_onboardings(client, task_queue, timed, args.concurrency, timeout)
                counted = await asyncio.gather(*(events_of(h) for h in service["handles"]))
                sample = service["handles"][:20]
                statuses = await asyncio.gather(
                    *(h.query("status", result_type=ob.OnboardingStatus) for h in sample)
                )
                probations = await asyncio.gather(
                    *(
                        events_of(client.get_workflow_handle(s.probation.workflow_id))
                        for s in statuses
                        if s.probation
                    )
                )
                for h in service["handles"]:
                    await h.terminate("benchmark done")  # the probations are cancelled with them
            with CpuMeter() as bare_cpu:
                bare = await run_bare(client, args.n, args.concurrency, timeout)
    events = [c[0] for c in counted]
    kinds: Counter[str] = Counter()
    for _, k in counted:
        kinds.update(k)
    per = {k: round(v / len(counted), 1) for k, v in kinds.most_common()}
    if max(events) >= EVENT_BUDGET:
        raise SystemExit(
            f"an onboarding took {max(events)} events to its probation wait (budget {EVENT_BUDGET})"
        )
    return {
        "bench": "onboarding_bulk",
        "server": server.kind,
        "database": db.kind,
        "n": args.n,
        "concurrency": args.concurrency,
        "onboarding": {
            "seconds": round(service["seconds"], 2),
            "start_all_seconds": round(service["start_seconds"], 2),
            "per_second": round(args.n / service["seconds"], 2),
            "driver_ms": percentiles_ms(service["drivers"]),
            "decide_update_ms": percentiles_ms(service["updates"]),
            "events_per_onboarding": {
                "mean": round(statistics.mean(events), 1),
                "min": min(events),
                "max": max(events),
                "budget": EVENT_BUDGET,
            },
            "events_by_type": per,
            "probation_events_at_wait": round(statistics.mean(p[0] for p in probations), 1)
            if probations
            else None,
            **cpu.result,
        },
        "bare": {
            "seconds": round(bare["seconds"], 2),
            "per_second": round(args.n / bare["seconds"], 2),
            "driver_ms": percentiles_ms(bare["drivers"]),
            "update_ms": percentiles_ms(bare["updates"]),
            "events_per_workflow": round(statistics.mean(bare["events"]), 1),
            "events_by_type": dict(bare["kinds"].most_common()),
            "child_events_at_wait": round(bare["child_events"], 1),
            **bare_cpu.result,
        },
        "status_queries_timed_out_and_asked_again": dict(QUERY_RETRIES),
        "ratio_time_onboarding_over_bare": round(service["seconds"] / bare["seconds"], 2),
        "ratio_events_onboarding_over_bare": round(
            statistics.mean(events) / statistics.mean(bare["events"]), 2
        ),
        **info,
    }


def main() -> NoReturn:
    args = parser(
        "Bulk: onboardings started at once and driven to their probation wait, against a bare-SDK workflow.",
        n=500,
        concurrency=50,
        what="onboardings",
    ).parse_args()
    run(lambda: bench(args))


if __name__ == "__main__":
    main()
