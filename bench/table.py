"""One table: every process against its matched bare-SDK workflow, on one dev server, interleaved.

    .venv/bin/python -m bench.table [--quick] [--persistent] [--only review] [-n 40] [--rounds 2]

The command starts one dev server (in memory, or on a SQLite file with ``--persistent``). For each
round and each process it runs two subprocesses against it, one after the other, alternating
which goes first: the **project** (a freshly seeded SQLite record, the service's worker from
``worker.build_worker``, ``-n`` cycles driven ``--concurrency`` at a time by scripted answers, the
way ``tests/*_harness.py`` drive them) and the **bare** baseline (``bench/bare_shape.py``: a
workflow with the same number of activities, local activities, Updates, timers, signals and
children as the project's first timed cycle had in its history, no business logic, no database,
on a worker with the same capacity options, driven by the same polling loop). Each side runs in
its own process so its CPU and peak RSS are its own (the driver is in the same process: both
sides have the same driver).

A cycle, per process:

- ``review``: a job-description review of 1821, every step approved, to adoption (the result);
- ``onboarding``: a direct appointment to its probation wait (its ten tasks answered);
- ``personnel``: a pay change effective today, approved by the chain, to its execution;
- ``benefits``: a new hire's enrollment, elected (MED-PPO, employee only), HR's audit approved, to its result;
- ``leave``: a medical intermittent leave, certified, acknowledged, approved, to ``on_leave``;
- ``open_enrollment``: the bulk parent (``bench/open_enrollment_bulk.py``'s run and bare parent)
  over ``-n`` synthetic employees plus the demo city's, until every child waits for its election;
  a "cycle" is one child;
- ``recruitment``: a small recruitment (seed 001's ITAT announcement, one criminal check, a position
  of its own): approved, ten applicants imported in one ``apply`` Update, closed by the workflow's
  own timer ``--close-in`` seconds after the start, the screen confirmed, supplemental and oral-board
  scores, selection, offer, acceptance, a clear check, to the hire.

Columns: cycles per second; worker CPU-s per cycle (the side's process, driver included); the
``decide`` (any answering Update) round trip p50/p95/p99 with ``--concurrency`` cycles in flight;
history events and KiB per run; the side's peak RSS; the project/bare ratio of each.
The JSON of every run goes to ``--json`` (default ``bench-table.json`` in the temp folder).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

PROCESSES = ("review", "onboarding", "personnel", "benefits", "leave", "open_enrollment", "recruitment")
CYCLE_TIMEOUT = 300.0


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(math.ceil(q * len(ordered)) - 1, 0)] * 1000, 1)


# ===== the child: one side of one process =========================================================


@dataclass
class Driven:
    update_seconds: list[float] = field(default_factory=list)
    batches: dict[str, list[int]] = field(default_factory=dict)
    query_retries: int = 0


async def drive(
    handle: Any,
    status_type: Any,
    todo: Callable[[Any, set], list[tuple[Any, str, Any]]],
    done: Callable[[Any], bool],
    driven: Driven,
    timed: bool,
    poll: float = 0.05,
    query: str = "status",
) -> Any:
    """Polls ``query``; sends every answer ``todo`` gives (one batch, together) until ``done`` or the
    result, which it returns (None when ``done`` ended it). The same loop drives the project's
    workflow and its bare baseline."""
    from temporalio.service import RPCError

    result = asyncio.ensure_future(handle.result())
    answered: set = set()
    batches: list[int] = []
    deadline = time.perf_counter() + CYCLE_TIMEOUT
    try:
        while not result.done():
            try:
                status = await handle.query(query, result_type=status_type)
            except RPCError as err:
                if result.done():
                    break
                if (
                    "not found" in str(err).lower()
                    or "timeout" in str(err).lower()
                    or "deadline" in str(err).lower()
                ):
                    driven.query_retries += 1
                    await asyncio.sleep(poll)
                    continue
                raise
            if done(status):
                break
            answers = todo(status, answered)
            if answers:
                answered.update(key for key, _, _ in answers)
                batches.append(len(answers))

                async def send(name: str, arg: Any) -> None:
                    began = time.perf_counter()
                    await handle.execute_update(name, arg)
                    if timed:
                        driven.update_seconds.append(time.perf_counter() - began)

                await asyncio.gather(*(send(name, arg) for _, name, arg in answers))
                continue
            if time.perf_counter() > deadline:
                raise SystemExit(f"{handle.id}: not done after {CYCLE_TIMEOUT:.0f} s: {status}")
            await asyncio.wait([result], timeout=poll)
        value = result.result() if result.done() else None
    finally:
        result.cancel()
    driven.batches[handle.id] = batches
    return value


class Process:
    """How the project side seeds, starts, answers and recognises the end of one process."""

    name = ""

    def __init__(self, engine: Any, base: int, today: date) -> None:
        self.engine, self.base, self.today = engine, base, today

    def setup(self, count: int) -> None:  # employees the cycles need
        pass

    async def start(self, client: Any, task_queue: str, i: int) -> Any:
        raise NotImplementedError

    status_type: Any = None

    def todo(self, handle: Any) -> Callable[[Any, set], list[tuple[Any, str, Any]]]:
        raise NotImplementedError

    def done(self, status: Any) -> bool:
        return False

    def check(self, handle: Any, result: Any) -> None:
        """Refuses a cycle that ended otherwise than the script meant (``result``: the run's, or None)."""

    async def cleanup(self, client: Any) -> None:
        """Stops what the cycles left running besides their own runs (children, say)."""

    def employee(self, i: int) -> str:
        return f"E{self.base + i}"

    def add_people(self, count: int, department: str, supervisor: str, title: str) -> None:
        from sqlmodel import Session

        from schemas.tables import Person

        with Session(self.engine) as s:
            s.add_all(
                Person(
                    id=self.employee(i),
                    name=f"Bench Employee {self.employee(i)}",
                    email=f"{self.employee(i).lower()}@city.example",
                    title=title,
                    department_code=department,
                    supervisor_id=supervisor,
                    roles=["employee"],
                    employment_status="permanent",
                )
                for i in range(count)
            )
            s.commit()


class Review(Process):
    name = "review"

    def __init__(self, *a: Any) -> None:
        super().__init__(*a)
        from activities.seed import DEMO_DRAFT_NAME, load_text
        from schemas import jd_review as jd

        self.draft = load_text(DEMO_DRAFT_NAME)
        self.status_type = jd.ReviewStatus

    async def start(self, client: Any, task_queue: str, i: int) -> Any:
        from activities.seed import DEMO_CLASS_CODE, DEMO_REQUESTER_ID
        from schemas import jd_review as jd

        cycle = f"t{self.base}-{i:04d}"
        return await client.start_workflow(
            "JobDescriptionReview",
            jd.StartReviewInput(
                class_code=DEMO_CLASS_CODE, cycle=cycle, requested_by=DEMO_REQUESTER_ID, draft_text=self.draft
            ),
            id=jd.review_workflow_id(DEMO_CLASS_CODE, cycle),
            task_queue=task_queue,
        )

    def todo(self, handle: Any) -> Callable[[Any, set], list[tuple[Any, str, Any]]]:
        from bench.review_throughput import approve_all

        def answers(status: Any, answered: set) -> list[tuple[Any, str, Any]]:
            return [
                ((s.step_id, p), "decide", approve_all(s.step_id, p))
                for s in status.open_steps
                for p in s.pending
                if (s.step_id, p) not in answered
            ]

        return answers


class OnboardingProcess(Process):
    name = "onboarding"

    def __init__(self, *a: Any) -> None:
        super().__init__(*a)
        from schemas import onboarding as ob

        self.status_type = ob.OnboardingStatus

    def setup(self, count: int) -> None:
        self.add_people(count, "IT", "E1011", "IT Technician II")

    async def start(self, client: Any, task_queue: str, i: int) -> Any:
        from schemas.employment import OnboardingInput, onboarding_workflow_id

        e = self.employee(i)
        return await client.start_workflow(
            "Onboarding",
            OnboardingInput(employee_id=e, starts_on=self.today, requested_by="E1008"),
            id=onboarding_workflow_id(e),
            task_queue=task_queue,
        )

    def todo(self, handle: Any) -> Callable[[Any, set], list[tuple[Any, str, Any]]]:
        from schemas import onboarding as ob
        from schemas.decision_details import OrientationDate, as_sent
        from schemas.human_step import DecisionInput

        def answers(status: Any, answered: set) -> list[tuple[Any, str, Any]]:
            steps = {s.step_id: s for s in status.open_steps}
            out = []
            for view in status.tasks:
                step = steps.get(view.step_id or "")
                if step is None or not step.pending or step.step_id in answered:
                    continue
                details = as_sent(OrientationDate(on=self.today)) if view.decision == ob.SCHEDULED else None
                out.append(
                    (
                        step.step_id,
                        "decide",
                        DecisionInput(
                            actor_id=step.pending[0],
                            decision=view.decision,
                            step_id=step.step_id,
                            details=details,
                        ),
                    )
                )
            return out

        return answers

    def done(self, status: Any) -> bool:
        return status.probation is not None


def first_pending(decision: Callable[[Any], tuple[str, Any] | None]) -> Callable[[Any, set], list]:
    """Answers each open step once, by its first pending person (``decision(step)`` -> update, input)."""

    def answers(status: Any, answered: set) -> list[tuple[Any, str, Any]]:
        out = []
        for step in status.open_steps:
            if step.pending and step.step_id not in answered:
                made = decision(step)
                if made is not None:
                    out.append((step.step_id, *made))
        return out

    return answers


class Personnel(Process):
    name = "personnel"

    def __init__(self, *a: Any) -> None:
        super().__init__(*a)
        from schemas import personnel_action as pa

        self.status_type = pa.PersonnelActionStatus

    def setup(self, count: int) -> None:
        self.add_people(count, "IT", "E1011", "IT Technician II")

    async def start(self, client: Any, task_queue: str, i: int) -> Any:
        from cli.action import start_action
        from schemas.employment import PersonnelActionInput
        from service.settings import Settings

        inp = PersonnelActionInput(
            action_id=f"pay-{self.base}-{i}",
            employee_id=self.employee(i),
            kind="pay_change",
            requested_by="E1006",
            effective_on=self.today,
            reason="bench pay change",
            new_pay_step=4,
        )
        return await start_action(client, Settings(task_queue=task_queue), inp)

    def todo(self, handle: Any) -> Callable[[Any, set], list[tuple[Any, str, Any]]]:
        from schemas.human_step import DecisionInput

        return first_pending(
            lambda s: ("decide", DecisionInput(actor_id=s.pending[0], decision="approve", step_id=s.step_id))
        )


class Benefits(Process):
    name = "benefits"

    def __init__(self, *a: Any) -> None:
        super().__init__(*a)
        from schemas.benefits_records import EnrollmentStatus

        self.status_type = EnrollmentStatus

    def setup(self, count: int) -> None:
        self.add_people(count, "IT", "E1011", "Clerk")

    async def start(self, client: Any, task_queue: str, i: int) -> Any:
        from schemas import benefits as bn

        inp = bn.EnrollmentInput(
            employee_id=self.employee(i), event=bn.NEW_HIRE, event_on=self.today, requested_by="E1008"
        )
        return await client.start_workflow(
            bn.BENEFITS_WORKFLOW,
            inp,
            id=bn.enrollment_workflow_id(inp.employee_id, bn.NEW_HIRE, self.today, inp.year),
            task_queue=task_queue,
        )

    def todo(self, handle: Any) -> Callable[[Any, set], list[tuple[Any, str, Any]]]:
        from schemas import benefits as bn
        from schemas.decision_details import BenefitElections, as_sent
        from schemas.human_step import DecisionInput

        details = as_sent(BenefitElections(plans=[bn.PlanChoice(plan_id="MED-PPO", tier="employee_only")]))

        def answer(s: Any) -> tuple[str, Any]:
            if s.step_id.startswith(bn.AUDIT_STEP):  # HR's audit of the election: approved
                return "decide", DecisionInput(
                    actor_id=s.pending[0], decision=bn.AUDIT_APPROVE, step_id=s.step_id
                )
            return "decide", DecisionInput(
                actor_id=s.pending[0], decision=bn.ELECT, step_id=s.step_id, details=details
            )

        return first_pending(answer)


class LeaveProcess(Process):
    name = "leave"

    def __init__(self, *a: Any) -> None:
        super().__init__(*a)
        from schemas import leave as lv

        self.status_type = lv.LeaveStatus
        self.employees: dict[str, str] = {}

    def setup(self, count: int) -> None:
        from tests.leave_harness import make_eligible

        self.add_people(count, "PW", "E1024", "Maintenance Worker")
        for i in range(count):
            make_eligible(self.engine, self.employee(i), self.today)

    async def start(self, client: Any, task_queue: str, i: int) -> Any:
        from schemas import leave as lv

        e = self.employee(i)
        starts_on = self.today + timedelta(days=7)
        handle = await client.start_workflow(
            lv.LEAVE_WORKFLOW,
            lv.LeaveInput(
                employee_id=e,
                leave_type="medical",
                schedule="intermittent",
                starts_on=starts_on,
                ends_on=starts_on + timedelta(days=30),
                hours=40,
                requested_by="E1008",
            ),
            id=lv.leave_workflow_id(e, starts_on),
            task_queue=task_queue,
        )
        self.employees[handle.id] = e
        return handle

    def todo(self, handle: Any) -> Callable[[Any, set], list[tuple[Any, str, Any]]]:
        from schemas import leave as lv
        from schemas.human_step import DecisionInput

        employee = self.employees[handle.id]

        def decision(step: Any) -> tuple[str, Any] | None:
            if step.step_id == lv.CERTIFICATION_STEP:
                return lv.SUBMIT_CERTIFICATION, lv.CertificationInput(
                    actor_id=employee, provider="Valley Clinic", diagnosis="lumbar strain"
                )
            if step.step_id == lv.ACKNOWLEDGEMENT_STEP:
                return "decide", DecisionInput(
                    actor_id=step.pending[0], decision=lv.ACKNOWLEDGED, step_id=step.step_id
                )
            if step.step_id == lv.APPROVAL_STEP:
                return "decide", DecisionInput(
                    actor_id=step.pending[0], decision=lv.APPROVE, step_id=step.step_id
                )
            return None

        return first_pending(decision)

    def done(self, status: Any) -> bool:
        from schemas import leave as lv

        return status.stage == lv.ON_LEAVE


class RecruitmentProcess(Process):
    """A small recruitment closed by its own timer (``bench/recruitment_bulk.py``'s, in little)."""

    name = "recruitment"
    applicants = 10
    """The tenth has too little education: nine qualify, so the supplemental review runs (7 or
    more) and the oral board scores the top six."""
    close_in = 20.0
    """Seconds from the start to the closing time (``--close-in``): long enough for the approval
    and the import with 20 recruitments in flight on a loaded machine (12 s was not, on a state
    file); the workflow's timer fires then."""

    def __init__(self, *a: Any) -> None:
        super().__init__(*a)
        from schemas import recruitment as rc

        self.status_type = rc.RecruitmentStatus
        self.positions: dict[str, str] = {}
        self.left_running: list[str] = []

    def position(self, i: int) -> str:
        return f"P-BENCH-{self.base + i}"

    def setup(self, count: int) -> None:
        """A vacant ITAT position per cycle: the cycles run at once, and one hire fills a position."""
        from sqlmodel import Session

        from schemas.tables import Position

        with Session(self.engine) as s:
            s.add_all(
                Position(
                    id=self.position(i),
                    class_code="ITAT",
                    department_code="IT",
                    title="Information Technology Accounting Technician",
                    supervisor_id="E1015",
                )
                for i in range(count)
            )
            s.commit()

    async def start(self, client: Any, task_queue: str, i: int) -> Any:
        from activities.seed_recruitment import (
            DEMO_HIRING_MANAGER_ID,
            DEMO_HR_REVIEWER_ID,
            DEMO_PANEL,
            DEMO_REQUESTER_ID,
            itat_announcement,
        )
        from bench.recruitment_bulk import RATERS, RATERS_PER_CANDIDATE
        from schemas import recruitment as rc

        rid = f"R{self.base + i}"
        announcement = itat_announcement(
            datetime.now(timezone.utc) + timedelta(seconds=self.close_in), background_checks=["criminal"]
        )
        announcement.position_ids = [self.position(i)]
        handle = await client.start_workflow(
            "Recruitment",
            rc.OpenRecruitmentInput(
                recruitment_id=rid,
                requested_by=DEMO_REQUESTER_ID,
                announcement=announcement,
                plan=rc.SelectionPlan(raters_per_candidate=RATERS_PER_CANDIDATE),
                hr_reviewer_id=DEMO_HR_REVIEWER_ID,
                hiring_manager_id=DEMO_HIRING_MANAGER_ID,
                raters=RATERS,
                panel=DEMO_PANEL,
            ),
            id=rc.recruitment_workflow_id(rid),
            task_queue=task_queue,
            result_type=rc.RecruitmentResult,
        )
        self.positions[handle.id] = self.position(i)
        return handle

    def todo(self, handle: Any) -> Callable[[Any, set], list[tuple[Any, str, Any]]]:
        from activities.seed_recruitment import DEMO_REQUESTER_ID
        from bench.recruitment_bulk import a_score, applications
        from schemas import recruitment as rc
        from schemas.decision_details import Selection, as_sent
        from schemas.human_step import DecisionInput

        position = self.positions[handle.id]
        scoring_low = {"supplemental": 40, "oral-board": 60}

        def answers(status: Any, answered: set) -> list[tuple[Any, str, Any]]:
            out: list[tuple[Any, str, Any]] = []
            if status.stage == rc.ACCEPTING and "apply" not in answered:
                out.append(
                    (
                        "apply",
                        "apply",
                        rc.ApplyInput(
                            actor_id=DEMO_REQUESTER_ID,
                            applications=applications(self.applicants),
                            source="bench.csv",
                        ),
                    )
                )
            for step in status.open_steps:
                sid = step.step_id
                for person in step.pending:
                    key = (sid, person)
                    if key in answered:
                        continue
                    if sid in scoring_low:
                        made: tuple[str, Any] = (
                            "score",
                            rc.ScoreInput(
                                actor_id=person,
                                step_id=sid,
                                scores=[
                                    rc.CandidateScore(
                                        applicant_id=a, score=a_score(person, a, scoring_low[sid])
                                    )
                                    for a in status.assignments[sid][person]
                                ],
                            ),
                        )
                    elif sid.startswith("announcement-"):
                        made = ("decide", DecisionInput(actor_id=person, decision="approve", step_id=sid))
                    elif sid == "mq-review":
                        made = ("decide", DecisionInput(actor_id=person, decision=rc.CONFIRM, step_id=sid))
                    elif sid.startswith("selection-"):
                        made = (
                            "decide",
                            DecisionInput(
                                actor_id=person,
                                decision=rc.SELECT,
                                step_id=sid,
                                details=as_sent(Selection(applicant_id=status.certified[0])),
                            ),
                        )
                    elif sid.startswith("offer-answer-"):
                        made = ("decide", DecisionInput(actor_id=person, decision=rc.ACCEPT, step_id=sid))
                    elif sid.startswith("offer-"):
                        made = (
                            "make_offer",
                            rc.OfferInput(
                                actor_id=person,
                                applicant_id=status.selected,
                                position_id=position,
                                start_date=self.today + timedelta(days=30),
                            ),
                        )
                    elif sid.startswith("background-"):
                        made = (
                            "record_check",
                            rc.CheckResultInput(
                                actor_id=person,
                                applicant_id=status.selected,
                                check="criminal",
                                result=rc.CLEAR,
                            ),
                        )
                    else:
                        raise SystemExit(f"{handle.id}: the script has no answer for step {sid}: {status}")
                    out.append((key, *made))
                    if not sid.startswith(("supplemental", "oral-board")):
                        break  # one answer per step
            return out

        return answers

    def check(self, handle: Any, result: Any) -> None:
        from schemas import recruitment as rc

        if result is None or result.outcome != rc.HIRED:
            raise SystemExit(
                f"{handle.id} ended {getattr(result, 'outcome', None)}, not hired: if the close came "
                f"before the import, raise --close-in (now {self.close_in:g} s)"
            )
        from schemas.employment import onboarding_workflow_id

        if result.register_workflow_id:
            self.left_running.append(result.register_workflow_id)
        if result.employee_id:
            self.left_running.append(onboarding_workflow_id(result.employee_id))

    async def cleanup(self, client: Any) -> None:
        """Ends the registers and onboardings the hires started (abandoned children), so the next
        round's hires, numbered from the same counter in a fresh record, can start theirs."""
        for workflow_id in self.left_running:
            try:
                await client.get_workflow_handle(workflow_id).terminate("bench done")
            except Exception:  # noqa: BLE001 - ended already
                pass


PROJECT = {
    p.name: p for p in (Review, OnboardingProcess, Personnel, Benefits, LeaveProcess, RecruitmentProcess)
}


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def history_size(handle: Any) -> tuple[int, int, list[Any]]:
    history = await handle.fetch_history()
    return len(history.events), sum(e.ByteSize() for e in history.events), list(history.events)


def worker_settings(options: dict[str, int]) -> dict[str, int]:
    return {f"worker_{k}": v for k, v in options.items()}


async def run_cycles(
    n: int, concurrency: int, warmup: int, one: Callable[[int, bool], Awaitable[Any]]
) -> tuple[float, dict[str, float], list[Any]]:
    from bench.common import CpuMeter, bounded

    for w in range(warmup):
        await one(-1 - w, False)
    with CpuMeter() as cpu:
        began = time.perf_counter()
        handles = await bounded(concurrency, [lambda i=i: one(i, True) for i in range(n)])
        elapsed = time.perf_counter() - began
    return elapsed, cpu.result, handles


async def child(opts: dict[str, Any]) -> dict[str, Any]:
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.worker import Worker

    from bench import bare_shape
    from bench.common import database, hr_worker, quiet_logging
    from service.identity import load_keyring
    from service.settings import Settings
    from service.signing import SigningInterceptor, issuing
    from worker import capacity, keep_bytecode

    quiet_logging("ERROR")
    keep_bytecode()  # both sides, as the service's worker does
    for k, v in worker_settings(opts.get("worker", {})).items():
        os.environ[f"HR_{k.upper()}"] = str(v)
    settings = Settings(smtp_host=None)
    client = await Client.connect(
        opts["target"],
        data_converter=pydantic_data_converter,
        interceptors=[SigningInterceptor(issuing(load_keyring(settings), "default"))],
    )
    n, concurrency, warmup, side, name = (
        opts["n"],
        opts["concurrency"],
        opts["warmup"],
        opts["side"],
        opts["process"],
    )
    today = datetime.now(timezone.utc).date()
    load0 = os.getloadavg()[0]
    out: dict[str, Any] = {"process": name, "side": side, "n": n, "concurrency": concurrency}
    driven = Driven()

    if name == "open_enrollment":
        from bench import open_enrollment_bulk as oeb

        oeb.YEAR = 2031 + opts["round"]
        args = argparse.Namespace(concurrency=opts["window"], per_run=opts["per_run"])
        if side == "project":
            with database(None) as db:
                everyone = oeb.add_employees(db, n)
                async with hr_worker(client, db) as task_queue:
                    from bench.common import CpuMeter

                    with CpuMeter() as cpu:
                        got = await oeb.run_service(client, task_queue, db, everyone, args)
        else:
            everyone = opts["children"]
            from bench.common import CpuMeter

            with CpuMeter() as cpu:
                got = await oeb.run_bare(client, everyone, args)
        biggest = max(got["runs"], key=lambda r: r[0])
        out.update(
            cycles=everyone,
            seconds=got["seconds"],
            cpu=cpu.result,
            events=biggest[0],
            bytes=biggest[1],
            parent_runs=len(got["runs"]),
            child_events=got["child_events"],
        )
    elif side == "project":
        with database(None) as db:
            process = PROJECT[name](db.engine, opts["base"], today)
            if isinstance(process, RecruitmentProcess):
                process.close_in = float(opts.get("close_in") or process.close_in)
            process.setup(n + warmup)
            async with hr_worker(client, db) as task_queue:

                async def one(i: int, timed: bool) -> Any:
                    handle = await process.start(client, task_queue, i if i >= 0 else n - 1 - i)
                    result = await drive(
                        handle, process.status_type, process.todo(handle), process.done, driven, timed
                    )
                    process.check(handle, result)
                    return handle

                elapsed, cpu, handles = await run_cycles(n, concurrency, warmup, one)
                sizes = await asyncio.gather(*(history_size(h) for h in handles))
                for h in handles:
                    try:
                        await h.terminate("bench done")
                    except Exception:  # noqa: BLE001 - completed already
                        pass
                await process.cleanup(client)
        first = handles[0]
        shape = bare_shape.shape_of(sizes[0][2], driven.batches.get(first.id, []))
        out.update(shape=asdict(shape), shape_counts=shape.counts())
    else:
        shape = bare_shape.Shape(**opts["shape"])
        shape.stages = [bare_shape.Stage(**s) for s in opts["shape"]["stages"]]
        task_queue = f"bench-bare-{uuid.uuid4().hex[:8]}"
        tag = uuid.uuid4().hex[:6]

        def bare_todo(status: int, answered: set) -> list[tuple[Any, str, Any]]:
            start = len(answered)
            return [(start + k, "answer", start + k) for k in range(status)]

        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[bare_shape.BareShape, bare_shape.BareShapeChild],
            activities=[bare_shape.bare_act],
            **capacity(settings),
        ):

            async def one(i: int, timed: bool) -> Any:
                handle = await client.start_workflow(
                    bare_shape.BareShape.run, shape, id=f"bare-{name}-{tag}-{i}", task_queue=task_queue
                )
                for _ in range(shape.signals):
                    await handle.signal(bare_shape.BareShape.poke)
                await drive(handle, int, bare_todo, lambda s: False, driven, timed, query="pending")
                return handle

            elapsed, cpu, handles = await run_cycles(n, concurrency, warmup, one)
            sizes = await asyncio.gather(*(history_size(h) for h in handles))
        out["shape_counts"] = shape.counts()
    if name != "open_enrollment":
        out.update(
            cycles=n,
            seconds=elapsed,
            cpu=cpu,
            events=statistics.mean(s[0] for s in sizes),
            bytes=statistics.mean(s[1] for s in sizes),
        )
    out.update(
        cycles_per_second=out["cycles"] / out["seconds"],
        cpu_per_cycle=out["cpu"]["python_cpu_seconds"] / out["cycles"],
        decide_ms={q: pct(driven.update_seconds, v) for q, v in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
        updates=len(driven.update_seconds),
        query_retries=driven.query_retries,
        peak_rss_mb=peak_rss_mb(),
        load=[round(load0, 2), round(os.getloadavg()[0], 2)],
    )
    return out


async def child_or_exit(opts: dict[str, Any]) -> dict[str, Any]:
    """``child``; on a failure, the traceback and exit status 1 at once: ``asyncio.run`` would
    otherwise wait for the other cycles' tasks to cancel, which can hang."""
    try:
        return await child(opts)
    except BaseException:  # noqa: BLE001 - SystemExit too: report and leave
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)


# ===== the parent: the server, the order, the table ===============================================


async def run_child(opts: dict[str, Any]) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.table",
        "--child",
        json.dumps(opts, default=str),
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{opts['process']} {opts['side']} failed (exit {proc.returncode})")
    return json.loads(stdout.decode().strip().splitlines()[-1])


def fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def ratio(a: float | None, b: float | None) -> str:
    return "–" if not a or not b else f"{a / b:.2f}"


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        "| process | side | cycles/s | CPU-s/cycle | decide p50 / p95 / p99 ms | events/run | KiB/run "
        "| peak RSS MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in PROCESSES:
        sides: dict[str, dict[str, Any]] = {}
        for side in ("project", "bare"):
            runs = [r for r in results if r["process"] == name and r["side"] == side]
            if not runs:
                continue

            def mean(get: Callable[[dict[str, Any]], float | None], runs: list = runs) -> float | None:
                vals = [v for v in map(get, runs) if v is not None]
                return statistics.mean(vals) if vals else None

            sides[side] = {
                "cps": mean(lambda r: r["cycles_per_second"]),
                "cpu": mean(lambda r: r["cpu_per_cycle"]),
                "p50": mean(lambda r: r["decide_ms"]["p50"]),
                "p95": mean(lambda r: r["decide_ms"]["p95"]),
                "p99": mean(lambda r: r["decide_ms"]["p99"]),
                "events": mean(lambda r: r["events"]),
                "kib": mean(lambda r: r["bytes"] / 1024),
                "rss": max(r["peak_rss_mb"] for r in runs),
                "rounds": len(runs),
            }
            s = sides[side]
            rows.append(
                f"| {name} | {side} | {fmt(s['cps'])} | {fmt(s['cpu'], 3)} | "
                f"{fmt(s['p50'], 0)} / {fmt(s['p95'], 0)} / {fmt(s['p99'], 0)} | {fmt(s['events'], 0)} | "
                f"{fmt(s['kib'], 1)} | {fmt(s['rss'], 0)} |"
            )
        if len(sides) == 2:
            p, b = sides["project"], sides["bare"]
            rows.append(
                f"| {name} | **ratio** | {ratio(p['cps'], b['cps'])} | {ratio(p['cpu'], b['cpu'])} | "
                f"{ratio(p['p50'], b['p50'])} / {ratio(p['p95'], b['p95'])} / {ratio(p['p99'], b['p99'])} | "
                f"{ratio(p['events'], b['events'])} | {ratio(p['kib'], b['kib'])} | "
                f"{ratio(p['rss'], b['rss'])} |"
            )
    return "\n".join(rows)


async def parent(args: argparse.Namespace) -> None:
    from bench.common import dev_server, machine, quiet_logging

    quiet_logging("WARNING")
    processes = [args.only] if args.only else list(PROCESSES)
    n = args.n or (20 if args.quick else 60)
    oe_n = args.oe_n or (100 if args.quick else 300)
    rounds = args.rounds or (1 if args.quick else 2)
    worker = dict(kv.split("=", 1) for kv in args.worker)
    worker_opts = {k: int(v) for k, v in worker.items()}
    info = machine()
    results: list[dict[str, Any]] = []
    began = time.perf_counter()
    async with dev_server(args) as server:
        target = server.client.service_client.config.target_host
        shapes: dict[str, Any] = {}
        children: dict[str, int] = {}
        for r in range(rounds):
            for name in processes:
                common = {
                    "target": target,
                    "process": name,
                    "n": oe_n if name == "open_enrollment" else n,
                    "concurrency": args.concurrency,
                    "warmup": 0 if name == "open_enrollment" else 1,
                    "base": 200000 + 100000 * r + 10000 * PROCESSES.index(name),
                    "round": r,
                    "window": 100,
                    "per_run": max(oe_n // 3, 50),
                    "worker": worker_opts,
                    "close_in": args.close_in,
                }
                order = ["project", "bare"] if r % 2 == 0 or name not in shapes else ["bare", "project"]
                for side in order:
                    opts = dict(common, side=side)
                    if side == "bare":
                        opts["shape"] = shapes.get(name)
                        opts["children"] = children.get(name, 0)
                    result = await run_child(opts)
                    if side == "project":
                        shapes.setdefault(name, result.get("shape"))
                        children.setdefault(name, result["cycles"])
                    results.append(result)
                    print(
                        f"[{time.perf_counter() - began:6.0f}s] round {r} {name:15} {side:7} "
                        f"{result['cycles_per_second']:7.2f}/s cpu/cycle {result['cpu_per_cycle']:.3f} "
                        f"decide {result['decide_ms']} events {result['events']:.0f} "
                        f"rss {result['peak_rss_mb']} load {result['load']}",
                        file=sys.stderr,
                        flush=True,
                    )
    header = (
        f"{info['date']}, {info['cpus']} cores, Python {info['python']}, temporalio {info['temporalio']}, "
        f"{server.kind} dev server, SQLite record; load {info['load_1min_at_start']} at start, "
        f"{os.getloadavg()[0]:.2f} at end; -n {n} (open enrollment {oe_n}), concurrency {args.concurrency}, "
        f"{rounds} round(s); worker {worker_opts or 'defaults'}; {time.perf_counter() - began:.0f} s"
    )
    text = header + "\n\n" + table(results)
    print(text, flush=True)
    path = Path(args.json or Path(tempfile.gettempdir()) / "bench-table.json")
    path.write_text(json.dumps({"header": header, "results": results}, indent=1, default=str))
    print(f"\n(every run's JSON: {path})", flush=True)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        result = asyncio.run(child_or_exit(json.loads(sys.argv[2])))
        print(json.dumps(result, default=str), flush=True)
        sys.stderr.flush()
        os._exit(0)
    p = argparse.ArgumentParser(description="Every process against its matched bare-SDK workflow: one table.")
    p.add_argument("--quick", action="store_true", help="-n 20, open enrollment 100, one round")
    p.add_argument("--persistent", action="store_true", help="the dev server on a SQLite file")
    p.add_argument("--db-filename", default=None, help="that file (implies --persistent)")
    p.add_argument("--only", choices=PROCESSES, default=None)
    p.add_argument("-n", type=int, default=None, help="cycles per side and round (default 60; quick 20)")
    p.add_argument("--oe-n", type=int, default=None, help="open enrollment's employees (300; quick 100)")
    p.add_argument("--concurrency", type=int, default=20)
    p.add_argument("--rounds", type=int, default=None, help="rounds, sides alternating (default 2; quick 1)")
    p.add_argument(
        "--worker",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a worker capacity option for both sides (max_cached_workflows, max_concurrent_workflow_tasks, "
        "max_concurrent_activities, activity_threads); repeatable",
    )
    p.add_argument(
        "--close-in",
        type=float,
        default=None,
        help=f"recruitment: seconds from a cycle's start to its closing time (default "
        f"{RecruitmentProcess.close_in:g})",
    )
    p.add_argument("--json", default=None, help="where to write every run's JSON")
    args = p.parse_args()
    asyncio.run(parent(args))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
