"""Peak worker RSS with ``-n`` job-description reviews waiting at a human step, and the first
``status`` query of a run the worker's cache has evicted.

``-n`` reviews of 1821 (no draft, so each waits at its drafting step for the requester) are started,
``--concurrency`` starts in flight, on the service's worker (``worker.build_worker``, in this
process, with its sticky cache of ``HR_WORKER_MAX_CACHED_WORKFLOWS`` runs, or ``--cache``). The
clock stops when visibility shows all of them waiting (``HrPendingApprovers`` = the requester).
Then the first ``status`` query of ``--sample`` of the earliest-started runs (evicted once more
runs than the cache holds have run since: each is replayed to answer), and a second query of each
(now cached). Reported: the process's peak RSS (worker and driver; the driver holds only the
handles) and its RSS at the end, and the query round trips (p50/p95/max ms).

    .venv/bin/python -m bench.rss_waiting [-n 5000] [--concurrency 100] [--cache N] [--sample 20]
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

                with CpuMeter() as cpu:
                    began = time.perf_counter()
                    handles = await bounded(args.concurrency, [lambda i=i: start(i) for i in range(args.n)])
                    started = time.perf_counter() - began
                    waiting = 0
                    while waiting < args.n:
                        await asyncio.sleep(1.0)
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
        "start_all_seconds": round(started, 1),
        "all_waiting_seconds": round(all_waiting, 1),
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
    p.add_argument("--sample", type=int, default=20, help="evicted runs queried (default 20)")
    p.add_argument("--timeout", type=float, default=1800, help="seconds to wait for all (default 1800)")
    args = p.parse_args()
    run(lambda: bench(args))


if __name__ == "__main__":
    main()
