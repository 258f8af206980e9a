"""Bare-SDK baseline: how many trivial workflows per second this machine's server and worker complete.

Each run starts ``BareWorkflow`` (3 trivial activities and 1 signal, see ``bench/bare.py``),
sends it the ``proceed`` signal and waits for its result; at most ``--concurrency`` runs are in
flight. The worker is configured like the service's (same data converter, sandbox, and a
16-thread pool for synchronous activities), but has no database and no business logic
(``--database-url`` and ``--sqlite-wal`` are accepted and ignored).

    .venv/bin/python -m bench.baseline [-n 200] [--concurrency 20] [--persistent]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NoReturn

from temporalio.client import WorkflowHandle
from temporalio.worker import Worker

from bench.bare import BareWorkflow, bare_step
from bench.common import (
    CpuMeter,
    bounded,
    dev_server,
    history_stats,
    machine,
    parser,
    percentiles_ms,
    quiet_logging,
    run,
    timing_summary,
)


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    quiet_logging(args.log_level)
    info = machine()
    async with dev_server(args) as server:
        client = server.client
        task_queue = f"bench-bare-{uuid.uuid4().hex[:8]}"
        tag = uuid.uuid4().hex[:6]
        latencies: list[float] = []
        handles: list[WorkflowHandle[Any, int]] = []

        async def one(i: int, timed: bool = True) -> int:
            began = time.perf_counter()
            handle = await client.start_workflow(
                BareWorkflow.run,
                i,
                id=f"bare-{tag}-{i:05d}",
                task_queue=task_queue,
            )
            await handle.signal(BareWorkflow.proceed)
            result = await handle.result()
            if timed:
                latencies.append(time.perf_counter() - began)
                handles.append(handle)
            return result

        with ThreadPoolExecutor(max_workers=16) as pool:
            async with Worker(
                client,
                task_queue=task_queue,
                workflows=[BareWorkflow],
                activities=[bare_step],
                activity_executor=pool,
            ):
                for w in range(args.warmup):
                    await one(-1 - w, timed=False)
                with CpuMeter() as cpu:
                    began = time.perf_counter()
                    results = await bounded(args.concurrency, [lambda i=i: one(i) for i in range(args.n)])
                    elapsed = time.perf_counter() - began
                stats = await asyncio.gather(*(history_stats(h) for h in handles))
    assert results == [i + 3 for i in range(args.n)], "a workflow returned a wrong result"
    return {
        "bench": "baseline",
        "server": server.kind,
        "n": args.n,
        "concurrency": args.concurrency,
        "seconds": round(elapsed, 2),
        "workflows_per_second": round(args.n / elapsed, 2),
        "workflow_latency_ms": percentiles_ms(latencies),
        "history_events_per_workflow": round(statistics.mean(s.events for s in stats), 1),
        "workflow_tasks_per_workflow": round(statistics.mean(s.workflow_tasks for s in stats), 1),
        "server_side_ms": timing_summary(stats),
        **cpu.result,
        **info,
    }


def main() -> NoReturn:
    args = parser(
        "Bare-SDK baseline: 3 trivial activities and 1 signal per workflow.",
        n=200,
        concurrency=20,
        what="workflows",
    ).parse_args()
    run(lambda: bench(args))


if __name__ == "__main__":
    main()
