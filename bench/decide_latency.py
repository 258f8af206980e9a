"""Decision to next stage, one review at a time: what a person sees after answering.

Issue 13's target: with nothing else running, the time from sending the answer that closes a
step (the ``decide`` Update) until the ``status`` query shows the process at its next stage has
p50 < 60 ms and p99 < 200 ms.

``-n`` reviews of 1821 (the 2023 draft) run one after the other on the service's worker, driven
to adoption as ``bench/review_throughput.py`` drives them (everybody approves, the union is
agreeable, the Board approves with a resolution number), but one person at a time. For the
answer that closes a step, the clock starts as the Update is sent; the driver then asks
``status`` back to back (no pause) until the step is closed and either another step is open or
the result has come. Reported: that latency (p50/p95/p99/max, ms), the closing Update's own
round trip, every other Update's round trip, and the queries it took.

    .venv/bin/python -m bench.decide_latency [-n 20] [--persistent] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
import uuid
from typing import Any, NoReturn

from temporalio.client import Client, WorkflowHandle

from activities.seed import DEMO_CLASS_CODE, DEMO_DRAFT_NAME, DEMO_REQUESTER_ID, load_text
from bench.common import (
    CpuMeter,
    database,
    dev_server,
    hr_worker,
    machine,
    parser,
    percentiles_ms,
    quiet_logging,
    run,
)
from bench.review_throughput import approve_all
from schemas import jd_review as jd
from schemas.human_step import DecisionReceipt

CYCLE_TIMEOUT_SECONDS = 120.0


def with_p99(seconds: list[float]) -> dict[str, Any]:
    """``percentiles_ms`` and the p99 (nearest rank), in milliseconds."""
    ordered = sorted(seconds)
    p99 = round(ordered[max(math.ceil(0.99 * len(ordered)) - 1, 0)] * 1000, 1) if ordered else None
    return {**percentiles_ms(seconds), "p99": p99}


async def one_review(
    client: Client, task_queue: str, draft: str, cycle: str, seen: dict[str, list[float]] | None
) -> str:
    """One review to its result, one answer at a time; appends to ``seen`` when given."""
    inp = jd.StartReviewInput(
        class_code=DEMO_CLASS_CODE, cycle=cycle, requested_by=DEMO_REQUESTER_ID, draft_text=draft
    )
    handle: WorkflowHandle[Any, jd.ReviewResult] = await client.start_workflow(
        "JobDescriptionReview",
        inp,
        id=jd.review_workflow_id(DEMO_CLASS_CODE, cycle),
        task_queue=task_queue,
        result_type=jd.ReviewResult,
    )
    result = asyncio.ensure_future(handle.result())
    deadline = time.perf_counter() + CYCLE_TIMEOUT_SECONDS
    try:
        while not result.done():
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{handle.id}: no result after {CYCLE_TIMEOUT_SECONDS:.0f} s")
            status = await handle.query("status", result_type=jd.ReviewStatus)
            steps = [s for s in status.open_steps if s.pending]
            if not steps:
                await asyncio.wait([result], timeout=0.02)
                continue
            step = steps[0]
            *others, last = step.pending
            for person in others:
                began = time.perf_counter()
                await handle.execute_update(
                    "decide", approve_all(step.step_id, person), result_type=DecisionReceipt
                )
                if seen is not None:
                    seen["other_update"].append(time.perf_counter() - began)
            began = time.perf_counter()
            await handle.execute_update(
                "decide", approve_all(step.step_id, last), result_type=DecisionReceipt
            )
            answered = time.perf_counter()
            queries = 0
            while True:
                queries += 1
                after = await handle.query("status", result_type=jd.ReviewStatus)
                still = any(s.step_id == step.step_id for s in after.open_steps)
                if not still and (after.open_steps or result.done() or after.stage != status.stage):
                    break
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"{handle.id}: {step.step_id} still open")
            if seen is not None:
                seen["next_stage"].append(time.perf_counter() - began)
                seen["closing_update"].append(answered - began)
                seen["queries"].append(float(queries))
        return (await result).outcome
    finally:
        result.cancel()


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    quiet_logging(args.log_level)
    info = machine()
    tag = f"d{uuid.uuid4().hex[:6]}"
    seen: dict[str, list[float]] = {"next_stage": [], "closing_update": [], "other_update": [], "queries": []}
    draft = load_text(DEMO_DRAFT_NAME)
    with database(args.database_url, sqlite_wal=args.sqlite_wal) as db:
        async with dev_server(args) as server:
            async with hr_worker(server.client, db) as task_queue:
                for w in range(args.warmup):
                    await one_review(server.client, task_queue, draft, f"warmup{tag}-{w}", None)
                with CpuMeter() as cpu:
                    began = time.perf_counter()
                    outcomes = [
                        await one_review(server.client, task_queue, draft, f"{tag}-{i:04d}", seen)
                        for i in range(args.n)
                    ]
                    elapsed = time.perf_counter() - began
    if set(outcomes) != {jd.ADOPTED}:
        raise SystemExit(f"not every review was adopted: {outcomes}")
    return {
        "bench": "decide_latency",
        "server": server.kind,
        "database": db.kind,
        "n": args.n,
        "seconds": round(elapsed, 2),
        "steps_closed": len(seen["next_stage"]),
        "decision_to_next_stage_ms": with_p99(seen["next_stage"]),
        "closing_update_ms": with_p99(seen["closing_update"]),
        "other_update_ms": percentiles_ms(seen["other_update"]),
        "status_queries_after_the_closing_answer": {
            "mean": round(sum(seen["queries"]) / max(len(seen["queries"]), 1), 2),
            "max": int(max(seen["queries"], default=0)),
        },
        **cpu.result,
        **info,
    }


def main() -> NoReturn:
    p = parser(
        "Decision to next stage, one review at a time (issue 13: p50 < 60 ms, p99 < 200 ms).",
        n=20,
        concurrency=1,
        what="reviews, one after the other",
    )
    args = p.parse_args()
    run(lambda: bench(args))


if __name__ == "__main__":
    main()
