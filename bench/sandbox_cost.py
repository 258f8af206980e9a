"""What importing workflow code inside the sandbox costs, against passing it through.

The worker passes only activities, schemas and third-party modules through the sandbox
(``worker.PASSED_THROUGH``); the workflow modules and their rules are imported afresh for each
workflow run, so the SDK's determinism checks see every line. This measures the price, side by
side in one command on one dev server: ``n`` job-description reviews are started and driven to
their first human step (review-1), once with the service's sandbox ("plain") and once with
``workflows`` passed through as well ("passed-through", what the code did before), in
alternating rounds. Reported per mode:

- ``first_task_ms``: the first workflow task's run time (started → completed, server clock):
  creating the sandbox, importing the workflow code, running to the first await;
- ``rss_mb_per_workflow``: the worker process's resident memory after all ``n`` reviews wait
  at review-1 (all cached by the worker), less before, over ``n``.

    python -m bench.sandbox_cost -n 100 --rounds 2   # each mode in a fresh process, one at a time
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from activities.seed import load_text
from bench.common import (
    Database,
    Server,
    bounded,
    database,
    dev_server,
    machine,
    parser,
    percentiles_ms,
    quiet_logging,
    run,
)
from schemas import jd_review as jd
from service.settings import Settings
from worker import build_worker, workflow_runner

MODES = {"plain": (), "passed-through": ("workflows",)}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def first_task_seconds(handle: WorkflowHandle[Any, Any]) -> float:
    """The first workflow task's run time, from the server's event times."""
    started: dict[int, float] = {}
    async for event in handle.fetch_history_events():
        at = event.event_time.ToMicroseconds() / 1e6
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            started[event.event_id] = at
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            return at - started[event.workflow_task_completed_event_attributes.started_event_id]
    raise RuntimeError(f"{handle.id}: no completed workflow task")


async def at_review(handle: WorkflowHandle[Any, Any]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = await handle.query("status", result_type=jd.ReviewStatus)
        if any(s.step_id == "review-1" for s in status.open_steps):
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{handle.id} did not reach review-1")


async def one_round(server: Server, db: Database, mode: str, n: int, concurrency: int) -> dict[str, Any]:
    client: Client = server.client
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    settings = Settings(database_url=db.url, smtp_host=None)
    draft = load_text("1821_draft_2023")
    async with build_worker(
        client, settings, db.engine, task_queue=queue, runner=workflow_runner(*MODES[mode])
    ):
        gc.collect()
        before = rss_mb()
        run_id = uuid.uuid4().hex[:6]

        async def start_one(i: int) -> WorkflowHandle[Any, Any]:
            cycle = f"sb{run_id}{i}"
            handle = await client.start_workflow(
                "JobDescriptionReview",
                jd.StartReviewInput(class_code="1821", cycle=cycle, requested_by="E1008", draft_text=draft),
                id=jd.review_workflow_id("1821", cycle),
                task_queue=queue,
            )
            await at_review(handle)
            return handle

        began = time.perf_counter()
        handles = await bounded(concurrency, [lambda i=i: start_one(i) for i in range(n)])
        elapsed = time.perf_counter() - began
        gc.collect()
        after = rss_mb()
        firsts = await bounded(8, [lambda h=h: first_task_seconds(h) for h in handles])
        await bounded(16, [lambda h=h: h.terminate("bench over") for h in handles])
    return {
        "mode": mode,
        "n": n,
        "to_first_step_seconds": round(elapsed, 2),
        "first_task_ms": percentiles_ms(firsts),
        "rss_mb_before": round(before, 1),
        "rss_mb_after": round(after, 1),
        "rss_mb_per_workflow": round((after - before) / n, 3),
    }


async def one_mode(args: argparse.Namespace) -> dict[str, Any]:
    """One mode in this (fresh) process: its own dev server, database and worker."""
    quiet_logging("WARNING")
    async with dev_server(args) as server:
        with database(args.database_url) as db:
            result = await one_round(server, db, args.mode, args.n, args.concurrency)
    return result | {"server": server.kind}


async def main() -> dict[str, Any]:
    p = parser("Cost of importing workflow code inside the sandbox", n=100, concurrency=1, what="reviews")
    p.add_argument("--rounds", type=int, default=2, help="alternating rounds of both modes (default 2)")
    p.add_argument("--mode", choices=sorted(MODES), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.mode:
        return await one_mode(args)
    rounds: list[dict[str, Any]] = []
    for r in range(args.rounds):
        for mode in list(MODES) if r % 2 == 0 else list(reversed(MODES)):
            # each mode in a process of its own, so that its memory is its own
            command = [sys.executable, "-m", "bench.sandbox_cost", "--mode", mode, "-n", str(args.n)]
            command += ["--concurrency", str(args.concurrency)]
            if args.database_url:
                command += ["--database-url", args.database_url]
            done = subprocess.run(command, check=True, capture_output=True, text=True)
            rounds.append(json.loads(done.stdout.strip().splitlines()[-1]))
    summary = {
        mode: {
            "first_task_ms_p50": [r["first_task_ms"]["p50"] for r in rounds if r["mode"] == mode],
            "rss_mb_per_workflow": [r["rss_mb_per_workflow"] for r in rounds if r["mode"] == mode],
        }
        for mode in MODES
    }
    return {"benchmark": "sandbox_cost", "machine": machine(), "summary": summary, "rounds": rounds}


if __name__ == "__main__":
    run(main)
