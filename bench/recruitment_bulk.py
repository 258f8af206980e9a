"""Bulk: one large recruitment, from the announcement to the hire, on the dev server in real time.

The recruitment is seed 001's ITAT announcement (``itat_announcement``) with one criminal
check. The HR supervisor E1005 approves ``announcement-1`` (the ``decide`` Update). Then ``-n``
made-up applicants (``demo_application``; every tenth one has too little education, so the
screen turns them down) are imported with ``apply`` Updates of ``--batch`` applications each,
``--concurrency`` Updates in flight (default 1, one after the other as an import would send them).
The closing time is set when the workflow starts: ``--close-in`` seconds later, or an estimate
from the warm-up import (``--warmup``) with room to spare. The workflow's own timer closes the
applications. The driver then confirms the ``mq-review`` step as E1006. The three raters E1011,
E1017 and E1015 (``raters_per_candidate`` 2) each send all their scores in one ``score``
Update. The top six go to the oral board, where the panel E1010, E1015 and E1016 scores them.
The hiring manager E1015 selects the first certified name, HR makes the offer, the candidate
accepts, one criminal check comes back clear, and the candidate is hired. The worker is the
service's own (``worker.build_worker``), with the real activities and no SMTP (outbox only).

The warm-up is a small recruitment with one batch of applications. It is terminated once its
imports are done (it never reaches its close), so it warms the sandbox and the import path only.

Reported: the wall time of each phase (open and approve, import, the wait for the close,
close→screen done, supplemental scoring, oral board, selection→hire), the round trip of every
``apply`` and ``score`` Update (p50/p95/max ms, and each one in order), the workflow's history
(events, bytes, by type), its largest payloads (bytes, event, and what they carry) and the
payload bytes by kind, the slowest activities (server side, named with their notice
template), how close this comes to Temporal's default limits (2 MB per payload,
50 MB and 51,200 events per history), the status query (round trip, JSON size), the rows left
in the record (outbox, applicants, scores), and CPU seconds per phase.

    .venv/bin/python -m bench.recruitment_bulk [-n 300] [--batch 100] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any, NoReturn

from google.protobuf.message import Message
from sqlalchemy import func
from sqlmodel import Session, col, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from activities.seed_recruitment import (
    DEMO_HIRING_MANAGER_ID,
    DEMO_HR_REVIEWER_ID,
    DEMO_PANEL,
    DEMO_REQUESTER_ID,
    demo_application,
    itat_announcement,
)
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
from schemas import recruitment as rc
from schemas.decision_details import Selection, as_sent
from schemas.human_step import DecisionInput, DecisionReceipt
from schemas.tables import Applicant, OutboxMessage, Score

HR_SUPERVISOR = "E1005"
RATERS = ["E1011", "E1017", "E1015"]
PANEL = DEMO_PANEL  # E1010, E1015, E1016
RATERS_PER_CANDIDATE = 2
NOT_QUALIFIED_EVERY = 10
"""Every tenth applicant has only a high-school education (the ITAT needs vocational training)."""

# Temporal's default limits (server dynamic config): a payload is refused above 2 MB
# (``limit.blobSize.error``, a warning at 512 KB); a history is terminated above 50 MB
# (``limit.historySize.error``, a warning at 10 MB) or 51,200 events (``limit.historyCount.error``).
PAYLOAD_LIMIT = 2 * 1024 * 1024
HISTORY_BYTES_LIMIT = 50 * 1024 * 1024
HISTORY_EVENTS_LIMIT = 51_200

PAYLOAD_TYPE = "temporal.api.common.v1.Payload"
PER_BATCH = {"update apply input", "update apply result", "activity record_applications input"}
"""Payloads that grow with ``--batch``; every other large one grows with the number of applicants."""


# ----- the recruitment's inputs ----------------------------------------------------------------


def applications(n: int) -> list[rc.Application]:
    return [
        demo_application(i, education="high_school") if i % NOT_QUALIFIED_EVERY == 0 else demo_application(i)
        for i in range(1, n + 1)
    ]


def batches(items: list[rc.Application], size: int) -> list[list[rc.Application]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def a_score(scorer: str, applicant_id: str, low: int = 40) -> float:
    """A made-up score in ``low``-99, the same on every run."""
    return float(low + zlib.crc32(f"{scorer}:{applicant_id}".encode()) % (100 - low))


def open_input(recruitment_id: str, closes_at: datetime) -> rc.OpenRecruitmentInput:
    return rc.OpenRecruitmentInput(
        recruitment_id=recruitment_id,
        requested_by=DEMO_REQUESTER_ID,
        announcement=itat_announcement(closes_at, background_checks=["criminal"]),
        plan=rc.SelectionPlan(raters_per_candidate=RATERS_PER_CANDIDATE),
        hr_reviewer_id=DEMO_HR_REVIEWER_ID,
        hiring_manager_id=DEMO_HIRING_MANAGER_ID,
        raters=RATERS,
        panel=PANEL,
    )


# ----- the driver ------------------------------------------------------------------------------


@dataclass
class Driver:
    client: Client
    task_queue: str
    poll_seconds: float
    timeout: float
    query_seconds: list[float] = field(default_factory=list)
    status_bytes: list[int] = field(default_factory=list)

    async def open(
        self, recruitment_id: str, closes_at: datetime
    ) -> WorkflowHandle[Any, rc.RecruitmentResult]:
        return await self.client.start_workflow(
            "Recruitment",
            open_input(recruitment_id, closes_at),
            id=rc.recruitment_workflow_id(recruitment_id),
            task_queue=self.task_queue,
            result_type=rc.RecruitmentResult,
        )

    async def status(self, handle: WorkflowHandle[Any, Any]) -> rc.RecruitmentStatus:
        began = time.perf_counter()
        status = await handle.query("status", result_type=rc.RecruitmentStatus)
        self.query_seconds.append(time.perf_counter() - began)
        return status

    async def wait_for(
        self, handle: WorkflowHandle[Any, Any], what: str, predicate: Callable[[rc.RecruitmentStatus], bool]
    ) -> rc.RecruitmentStatus:
        """Polls the status query until ``predicate`` holds; notes the size of the status it returns."""
        deadline = time.perf_counter() + self.timeout
        while True:
            status = await self.status(handle)
            if predicate(status):
                self.status_bytes.append(len(status.model_dump_json()))
                return status
            if status.outcome is not None or time.perf_counter() > deadline:
                raise SystemExit(
                    f"{handle.id}: still waiting for {what} (stage {status.stage}, outcome "
                    f"{status.outcome}, open steps {[s.step_id for s in status.open_steps]})"
                )
            await asyncio.sleep(self.poll_seconds)

    async def wait_for_step(self, handle: WorkflowHandle[Any, Any], step_id: str) -> rc.RecruitmentStatus:
        return await self.wait_for(
            handle, step_id, lambda s: any(st.step_id == step_id and st.pending for st in s.open_steps)
        )

    async def decide(self, handle: WorkflowHandle[Any, Any], actor: str, decision: str, **kw: Any) -> None:
        await handle.execute_update(
            "decide", DecisionInput(actor_id=actor, decision=decision, **kw), result_type=DecisionReceipt
        )

    async def approve(self, handle: WorkflowHandle[Any, Any]) -> None:
        await self.wait_for_step(handle, "announcement-1")
        await self.decide(handle, HR_SUPERVISOR, "approve", step_id="announcement-1")
        await self.wait_for(handle, "accepting applications", lambda s: s.stage == rc.ACCEPTING)

    async def import_all(
        self, handle: WorkflowHandle[Any, Any], apps: list[rc.Application], size: int, concurrency: int
    ) -> tuple[list[float], list[str]]:
        """``apply`` Updates of ``size`` applications; each Update's round trip, and the ids given."""
        seconds: list[float] = [0.0] * math.ceil(len(apps) / size)

        async def one(i: int, batch: list[rc.Application]) -> list[str]:
            began = time.perf_counter()
            receipt = await handle.execute_update(
                "apply",
                rc.ApplyInput(
                    actor_id=DEMO_REQUESTER_ID, applications=batch, source=f"bench-{i + 1:03d}.csv"
                ),
                result_type=rc.ApplyReceipt,
            )
            seconds[i] = time.perf_counter() - began
            return receipt.applicant_ids

        ids = await bounded(concurrency, [partial(one, i, b) for i, b in enumerate(batches(apps, size))])
        return seconds, [a for chunk in ids for a in chunk]

    async def score_step(
        self, handle: WorkflowHandle[Any, Any], step_id: str, assignments: dict[str, list[str]], low: int
    ) -> list[float]:
        """Every scorer sends all their scores in one ``score`` Update, the scorers at once."""

        async def one(scorer: str, candidates: list[str]) -> float:
            began = time.perf_counter()
            receipt = await handle.execute_update(
                "score",
                rc.ScoreInput(
                    actor_id=scorer,
                    step_id=step_id,
                    scores=[
                        rc.CandidateScore(applicant_id=a, score=a_score(scorer, a, low)) for a in candidates
                    ],
                ),
                result_type=rc.ScoreReceipt,
            )
            if receipt.remaining:
                raise SystemExit(f"{scorer} still has {len(receipt.remaining)} to score at {step_id}")
            return time.perf_counter() - began

        return list(await asyncio.gather(*(one(s, c) for s, c in assignments.items())))


# ----- the history's payloads ------------------------------------------------------------------


def payloads_in(message: Message, path: str = "") -> Iterator[tuple[str, Message]]:
    """Every ``Payload`` inside a protobuf message, with its field path."""
    for descriptor, value in message.ListFields():
        kind = descriptor.message_type
        if kind is None:
            continue
        if kind.GetOptions().map_entry:
            if kind.fields_by_name["value"].message_type is None:
                continue
            items = [(f"{descriptor.name}[{key}]", value[key]) for key in value]
        elif descriptor.is_repeated:
            items = [(f"{descriptor.name}[{i}]", v) for i, v in enumerate(value)]
        else:
            items = [(descriptor.name, value)]
        for name, sub in items:
            where = f"{path}.{name}" if path else name
            if sub.DESCRIPTOR.full_name == PAYLOAD_TYPE:
                yield where, sub
            else:
                yield from payloads_in(sub, where)


def _template(payload: Message) -> str | None:
    """The notice template an activity input names (``notify_applicants``, ``notify``), if any."""
    if len(payload.data) > 1_000_000:  # type: ignore[attr-defined]
        return None  # no notice is this large; do not parse a whole candidate list
    try:
        data = json.loads(payload.data)  # type: ignore[attr-defined]
    except ValueError:
        return None
    return data.get("template") if isinstance(data, dict) else None


async def history_details(
    handle: WorkflowHandle[Any, Any], top: int = 6, top_kinds: int = 12
) -> dict[str, Any]:
    """The largest payloads of a history, the payload bytes by what carried them, and the
    slowest activities (server timestamps, started→completed), named with their notice template."""
    history = await handle.fetch_history()
    activity_names: dict[int, str] = {}
    started_at: dict[int, float] = {}
    slow: list[dict[str, Any]] = []
    update_names: dict[str, str] = {}
    found: list[dict[str, Any]] = []
    by_kind: dict[str, dict[str, int]] = {}
    largest_event = (0, 0, "")
    for event in history.events:
        kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
        label = kind
        at = event.event_time.ToMicroseconds() / 1e6
        if kind == "ACTIVITY_TASK_SCHEDULED":
            attrs = event.activity_task_scheduled_event_attributes
            name = attrs.activity_type.name
            template = _template(attrs.input.payloads[0]) if attrs.input.payloads else None
            activity_names[event.event_id] = f"{name} ({template})" if template else name
            label = f"activity {name} input"
        elif kind == "ACTIVITY_TASK_STARTED":
            started_at[event.activity_task_started_event_attributes.scheduled_event_id] = at
        elif kind == "ACTIVITY_TASK_COMPLETED":
            scheduled = event.activity_task_completed_event_attributes.scheduled_event_id
            name = activity_names.get(scheduled, "?")
            label = f"activity {name.split(' (')[0]} result"
            if scheduled in started_at:
                ms = round((at - started_at[scheduled]) * 1000)
                slow.append({"ms": ms, "activity": name, "scheduled_event_id": scheduled})
        elif kind == "WORKFLOW_EXECUTION_UPDATE_ACCEPTED":
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
            update_names[request.meta.update_id] = request.input.name
            label = f"update {request.input.name} input"
        elif kind == "WORKFLOW_EXECUTION_UPDATE_COMPLETED":
            update_id = event.workflow_execution_update_completed_event_attributes.meta.update_id
            label = f"update {update_names.get(update_id, '?')} result"
        size = event.ByteSize()
        if size > largest_event[0]:
            largest_event = (size, event.event_id, label)
        for where, payload in payloads_in(event):
            nbytes = payload.ByteSize()
            template = _template(payload) if kind == "ACTIVITY_TASK_SCHEDULED" else None
            what = f"{label} ({template})" if template else label
            found.append({"bytes": nbytes, "event_id": event.event_id, "what": what, "field": where})
            entry = by_kind.setdefault(label, {"payloads": 0, "bytes": 0, "largest": 0})
            entry["payloads"] += 1
            entry["bytes"] += nbytes
            entry["largest"] = max(entry["largest"], nbytes)
    found.sort(key=lambda p: -p["bytes"])
    slow.sort(key=lambda a: -a["ms"])
    per_recruitment = next((p for p in found if p["what"].split(" (")[0] not in PER_BATCH), None)
    kinds = sorted(by_kind.items(), key=lambda kv: -kv[1]["bytes"])
    return {
        "largest_payloads": found[:top],
        "largest_payload_not_per_batch": per_recruitment,
        "largest_event": {"bytes": largest_event[0], "event_id": largest_event[1], "what": largest_event[2]},
        "payload_bytes_total": sum(p["bytes"] for p in found),
        "payload_bytes_by_kind": dict(kinds[:top_kinds]),
        "payload_bytes_other_kinds": sum(v["bytes"] for _, v in kinds[top_kinds:]),
        "slowest_activities": slow[:top],
    }


# ----- the record ------------------------------------------------------------------------------


def record_rows(db: Database, workflow_id: str, recruitment_id: str) -> dict[str, int]:
    with Session(db.engine) as s:

        def count(model: Any, *where: Any) -> int:
            return int(s.exec(select(func.count()).select_from(model).where(*where)).one())

        outbox = count(OutboxMessage, OutboxMessage.workflow_id == workflow_id)
        to_applicants = count(
            OutboxMessage,
            OutboxMessage.workflow_id == workflow_id,
            col(OutboxMessage.recipient_id).startswith(f"{recruitment_id}:"),
        )
        return {
            "outbox_messages": outbox,
            "outbox_to_applicants": to_applicants,
            "outbox_to_staff": outbox - to_applicants,
            "applicants": count(Applicant, Applicant.recruitment_id == recruitment_id),
            "scores": count(Score, Score.recruitment_id == recruitment_id),
        }


# ----- the benchmark ---------------------------------------------------------------------------


class Phases:
    """Wall and CPU seconds of consecutive phases."""

    def __init__(self) -> None:
        self.result: dict[str, dict[str, float]] = {}
        self._name: str | None = None
        self._meter: CpuMeter | None = None
        self._began = 0.0

    def start(self, name: str, at: float | None = None) -> None:
        self.stop()
        self._name, self._began = name, at if at is not None else time.perf_counter()
        self._meter = CpuMeter().__enter__()

    def stop(self) -> None:
        if self._name is None or self._meter is None:
            return
        self._meter.__exit__(None, None, None)
        wall = time.perf_counter() - self._began
        self.result[self._name] = {
            "seconds": round(wall, 2),
            "python_cpu_seconds": self._meter.result["python_cpu_seconds"],
            "server_cpu_seconds": self._meter.result["server_cpu_seconds"],
        }
        self._name = None


async def warm_up(driver: Driver, size: int) -> float:
    """A small recruitment's import (one batch); returns its seconds per applicant."""
    handle = await driver.open(f"W{uuid.uuid4().hex[:8]}", datetime.now(timezone.utc) + timedelta(days=1))
    await driver.approve(handle)
    seconds, _ = await driver.import_all(handle, applications(size), size, 1)
    await handle.terminate(reason="benchmark warm-up done")
    return seconds[0] / size


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    quiet_logging(args.log_level)
    info = machine()
    rid = f"B{uuid.uuid4().hex[:8]}"
    apps = applications(args.n)
    n_batches = math.ceil(args.n / args.batch)
    timeout = 120.0 + args.n * 0.5
    with database(args.database_url, sqlite_wal=args.sqlite_wal) as db:
        async with dev_server(args) as server:
            async with hr_worker(server.client, db) as task_queue:
                driver = Driver(server.client, task_queue, args.poll_ms / 1000, timeout)
                per_applicant = 0.05
                for _ in range(args.warmup):
                    per_applicant = await warm_up(driver, min(args.batch, 50))
                if args.close_in is not None:
                    close_in = float(args.close_in)
                else:  # the estimate three times over, and the approval, with a few seconds to spare
                    close_in = 6.0 + 3.0 * per_applicant * args.n / max(min(args.concurrency, n_batches), 1)
                driver.query_seconds.clear()
                driver.status_bytes.clear()

                phases = Phases()
                began = time.perf_counter()
                phases.start("open_and_approve", began)
                closes_at = datetime.now(timezone.utc) + timedelta(seconds=close_in)
                close_perf = began + close_in
                handle = await driver.open(rid, closes_at)
                await driver.approve(handle)

                phases.start("import")
                apply_seconds, ids = await driver.import_all(handle, apps, args.batch, args.concurrency)
                if len(ids) != args.n or len(set(ids)) != args.n:
                    raise SystemExit(
                        f"the import gave {len(set(ids))} distinct ids for {args.n} applications"
                    )
                import_done = time.perf_counter()
                idle = close_perf - import_done
                if idle < 0:
                    raise SystemExit(
                        f"the import outlasted the close by {-idle:.1f} s; use a larger --close-in"
                    )

                phases.start("wait_for_close")
                await asyncio.sleep(idle)

                phases.start("close_to_screen_open", close_perf)
                await driver.wait_for_step(handle, "mq-review")
                phases.start("screen_confirm_to_supplemental_open")
                confirm_began = time.perf_counter()
                await driver.decide(handle, DEMO_HR_REVIEWER_ID, rc.CONFIRM, step_id="mq-review")
                confirm_seconds = time.perf_counter() - confirm_began
                status = await driver.wait_for_step(handle, "supplemental")
                qualified = status.counts.qualified
                supplemental = status.assignments["supplemental"]

                phases.start("supplemental_scoring")
                supplemental_seconds = await driver.score_step(handle, "supplemental", supplemental, low=40)
                status = await driver.wait_for_step(handle, "oral-board")
                oral = status.assignments["oral-board"]

                phases.start("oral_board")
                oral_seconds = await driver.score_step(handle, "oral-board", oral, low=60)
                status = await driver.wait_for_step(handle, "selection-1")
                certified = status.certified
                status_bytes_at_selection = len(status.model_dump_json())

                phases.start("selection_to_hire")
                selected = certified[0]
                await driver.decide(
                    handle,
                    DEMO_HIRING_MANAGER_ID,
                    rc.SELECT,
                    step_id="selection-1",
                    details=as_sent(Selection(applicant_id=selected)),
                )
                await driver.wait_for_step(handle, "offer-1")
                await handle.execute_update(
                    "make_offer",
                    rc.OfferInput(
                        actor_id=DEMO_HR_REVIEWER_ID,
                        applicant_id=selected,
                        position_id="P-ITAT-02",
                        start_date=datetime.now(timezone.utc).date() + timedelta(days=30),
                    ),
                    result_type=rc.OfferInput,
                )
                await driver.wait_for_step(handle, "offer-answer-1")
                await driver.decide(handle, DEMO_HR_REVIEWER_ID, rc.ACCEPT, step_id="offer-answer-1")
                await driver.wait_for_step(handle, "background-1")
                await handle.execute_update(
                    "record_check",
                    rc.CheckResultInput(
                        actor_id=DEMO_HR_REVIEWER_ID, applicant_id=selected, check="criminal", result=rc.CLEAR
                    ),
                    result_type=dict[str, str],
                )
                result = await asyncio.wait_for(handle.result(), timeout)
                phases.stop()
                total = time.perf_counter() - began

                stats = await history_stats(handle)
                payloads = await history_details(handle)
                register = None
                if result.register_workflow_id:
                    register_handle = server.client.get_workflow_handle(result.register_workflow_id)
                    await asyncio.wait_for(register_handle.result(), 30)
                    register_stats = await history_stats(register_handle)
                    register = {"events": register_stats.events, "bytes": register_stats.bytes}
            rows = record_rows(db, handle.id, rid)
    if result.outcome != rc.HIRED or result.applicant_id != selected:
        raise SystemExit(
            f"the recruitment ended {result.outcome} with {result.applicant_id}, not {selected} hired"
        )
    largest = payloads["largest_payloads"][0]
    grows = payloads["largest_payload_not_per_batch"]
    per_applicant_bytes = stats.bytes / args.n
    return {
        "bench": "recruitment_bulk",
        "server": server.kind,
        "database": db.kind,
        "n": args.n,
        "batch": args.batch,
        "apply_updates": n_batches,
        "concurrency": args.concurrency,
        "qualified": qualified,
        "raters": {s: len(c) for s, c in supplemental.items()},
        "panel": {s: len(c) for s, c in oral.items()},
        "certified": certified,
        "hired": [result.applicant_id, result.employee_id],
        "close_in_seconds": round(close_in, 1),
        "seconds_total": round(total, 2),
        "phases": phases.result,
        "apply_update_ms": percentiles_ms(apply_seconds),
        "apply_update_ms_each": [round(s * 1000) for s in apply_seconds],
        "apply_update_ms_per_applicant": round(sum(apply_seconds) * 1000 / args.n, 2),
        "score_update_ms": {
            "supplemental": percentiles_ms(supplemental_seconds),
            "oral_board": percentiles_ms(oral_seconds),
        },
        "screen_confirm_update_ms": round(confirm_seconds * 1000, 1),
        "history": {
            "events": stats.events,
            "bytes": stats.bytes,
            "bytes_per_applicant": round(per_applicant_bytes),
            "activities": stats.activities,
            "workflow_tasks": stats.workflow_tasks,
            "search_attribute_upserts": stats.search_attribute_upserts,
            "by_type": stats.by_type,
        },
        **payloads,
        "of_temporal_limits": {
            "largest_payload_of_2MB": round(largest["bytes"] / PAYLOAD_LIMIT, 4),
            "history_bytes_of_50MB": round(stats.bytes / HISTORY_BYTES_LIMIT, 4),
            "history_events_of_51200": round(stats.events / HISTORY_EVENTS_LIMIT, 4),
            "applicants_at_2MB_payload_if_linear": int(PAYLOAD_LIMIT / (grows["bytes"] / args.n)),
            "applicants_at_50MB_history_if_linear": int(HISTORY_BYTES_LIMIT / per_applicant_bytes),
        },
        "server_side_ms": timing_summary([stats]),
        "register_history": register,
        "status_query_ms": percentiles_ms(driver.query_seconds),
        "status_queries": len(driver.query_seconds),
        "status_json_bytes_max": max([*driver.status_bytes, status_bytes_at_selection]),
        "record_rows": rows,
        **info,
    }


def main() -> NoReturn:
    p = parser(
        "Bulk: one large recruitment from the announcement to the hire, in real time.",
        n=300,
        concurrency=1,
        what="applicants",
    )
    p.add_argument("--batch", type=int, default=100, help="applications per apply Update (default 100)")
    p.add_argument(
        "--close-in",
        type=float,
        default=None,
        help="seconds from the start to the closing time (default: estimated from the warm-up)",
    )
    p.add_argument(
        "--poll-ms",
        type=int,
        default=100,
        help="pause between status queries while waiting for the workflow (default 100)",
    )
    args = p.parse_args()
    run(lambda: bench(args))


if __name__ == "__main__":
    main()
