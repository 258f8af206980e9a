"""Peak worker RSS with ``-n`` job-description reviews waiting at a human step, and the first
``status`` query of a run the worker's cache has evicted.

``-n`` reviews of 1821 (no draft, so each waits at its drafting step for the requester) are started,
``--concurrency`` starts in flight, on the service's worker (``worker.build_worker``, in this
process, with its sticky cache of ``HR_WORKER_MAX_CACHED_WORKFLOWS`` runs, or ``--cache``), at most
``--window`` of them on their way to the step at a time: a new one starts when visibility shows
one more waiting (``HrPendingApprovers`` = the requester). The clock stops when all are waiting.

Why a window: a review takes several workflow tasks to reach its step (the start check's
activity, then its own first commands). Started all at once, thousands of runs are under way
together, more than the cache holds, so a run is evicted between its tasks and each later task
replays it from the start in a new sandbox; a window below the cache size keeps each run cached
until it waits. ``--window 0`` starts them all at once, as before.
Then the first ``status`` query of ``--sample`` of the earliest-started runs (evicted once more
runs than the cache holds have run since: each is replayed to answer), and a second query of each
(now cached). Reported: the process's peak RSS (worker and driver; the driver holds only the
handles) and its RSS at the end, and the query round trips (p50/p95/max ms).

    .venv/bin/python -m bench.rss_waiting [-n 5000] [--concurrency 100] [--window 100] [--cache N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import time
import uuid
from pathlib import Path
from typing import Any, NoReturn

from activities.seed import DEMO_CLASS_CODE, DEMO_REQUESTER_ID
from bench.common import (
    CpuMeter,
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
from schemas import jd_review as jd


def rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    quiet_logging(args.log_level)
    if args.cache is not None:
        os.environ["HR_WORKER_MAX_CACHED_WORKFLOWS"] = str(args.cache)
    info = machine()
    tag = f"r{uuid.uuid4().hex[:6]}"
    waiting_query = (
        f'WorkflowType = "JobDescriptionReview" AND ExecutionStatus = "Running" '
        f'AND HrPendingApprovers = "{DEMO_REQUESTER_ID}"'
    )
    with database(args.database_url) as db:
        async with dev_server(args) as server:
            client = server.client
            rss_before = rss_mb()
            async with hr_worker(client, db) as task_queue:

                async def start(i: int) -> Any:
                    cycle = f"{tag}-{i:05d}"
                    return await client.start_workflow(
                        "JobDescriptionReview",
                        jd.StartReviewInput(
                            class_code=DEMO_CLASS_CODE, cycle=cycle, requested_by=DEMO_REQUESTER_ID
                        ),
                        id=jd.review_workflow_id(DEMO_CLASS_CODE, cycle),
                        task_queue=task_queue,
                    )

                window = args.window if args.window > 0 else args.n
                handles: list[Any] = []
                with CpuMeter() as cpu:
                    began = time.perf_counter()
                    started = 0.0
                    waiting = 0
                    while waiting < args.n:
                        more = min(args.n - len(handles), window - (len(handles) - waiting))
                        if more > 0:
                            begin = len(handles)
                            handles += await bounded(
                                args.concurrency, [lambda i=i: start(i) for i in range(begin, begin + more)]
                            )
                            if len(handles) == args.n:
                                started = time.perf_counter() - began
                        await asyncio.sleep(args.poll)
                        try:
                            waiting = (await client.count_workflows(waiting_query)).count
                        except Exception:  # noqa: BLE001 - visibility busy: ask again
                            continue
                        if time.perf_counter() - began > args.timeout:
                            raise SystemExit(f"only {waiting} of {args.n} waiting after {args.timeout} s")
                    all_waiting = time.perf_counter() - began
                rss_waiting = rss_mb()
                first: list[float] = []
                second: list[float] = []
                for h in handles[: args.sample]:
                    for into in (first, second):
                        t0 = time.perf_counter()
                        status = await h.query("status", result_type=jd.ReviewStatus)
                        into.append(time.perf_counter() - t0)
                        assert status.open_steps, status
                for h in handles:
                    await h.terminate("bench done")
    return {
        "bench": "rss_waiting",
        "server": server.kind,
        "n": args.n,
        "max_cached_workflows": int(os.environ.get("HR_WORKER_MAX_CACHED_WORKFLOWS", 0)) or "default",
        "window": window,
        "start_all_seconds": round(started, 1),
        "all_waiting_seconds": round(all_waiting, 1),
        "seconds_per_review": round(all_waiting / args.n, 4),
        "python_cpu_seconds_per_review": round(cpu.result["python_cpu_seconds"] / args.n, 4),
        "rss_mb_before_worker": rss_before,
        "rss_mb_all_waiting": rss_waiting,
        "peak_rss_mb": peak_rss_mb(),
        "first_status_query_of_earliest_ms": percentiles_ms(first),
        "second_status_query_ms": percentiles_ms(second),
        **cpu.result,
        **info,
    }


def main() -> NoReturn:
    p = parser(
        "Peak RSS with reviews waiting at a human step; an evicted run's first query.",
        n=5000,
        concurrency=100,
        what="reviews",
    )
    p.add_argument("--cache", type=int, default=None, help="max_cached_workflows (default: the settings')")
    p.add_argument(
        "--window",
        type=int,
        default=100,
        help="at most this many reviews started and not yet waiting (default 100, below the cache; "
        "0: all at once, as before)",
    )
    p.add_argument("--poll", type=float, default=0.5, help="seconds between visibility counts (default 0.5)")
    p.add_argument("--sample", type=int, default=20, help="evicted runs queried (default 20)")
    p.add_argument("--timeout", type=float, default=1800, help="seconds to wait for all (default 1800)")
    args = p.parse_args()
    run(lambda: bench(args))


if __name__ == "__main__":
    main()
