"""The scripted demo of a whole recruitment: seed 001's ITAT posting, announcement to hire.

``run_recruitment_demo`` opens the recruitment with applications closing about 20 seconds ahead
and plays every part through the same Updates the ``hr recruitment`` commands send: the HR
supervisor approves the announcement; HR imports nine made-up applicants (one below the
required education, one short of clerical experience whose screen is then overridden with a
reason); the applications close; the HR reviewer confirms the screen; two raters score the
supplemental answers (eight qualified: seven or more); three panel members score the top six at
the oral board; the hiring manager selects from the three certified names; HR offers, the
candidate accepts, the criminal-history check is clear: hired. The scores are those of
``tests/test_recruitment_workflow.py`` (a tie at the oral-board cut, a tie on the final score).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine
from temporalio.client import Client, WorkflowHandle

from activities.seed_recruitment import (
    DEMO_HIRING_MANAGER_ID,
    DEMO_HR_REVIEWER_ID,
    DEMO_PANEL,
    DEMO_RATERS,
    DEMO_REQUESTER_ID,
    demo_application,
    itat_announcement,
)
from cli.demo import workflow_url
from cli.recruitment import applicant_names, register_status
from cli.recruitment_open import position_problems, recruitment_summary, start_recruitment
from cli.recruitment_render import render_register
from cli.temporal import update
from schemas import recruitment as rc
from schemas.decision_details import Selection, as_sent
from schemas.human_step import APPROVE, DecisionInput, DecisionReceipt, StepSnapshot
from service.settings import Settings

CLOSE_IN = timedelta(seconds=20)
STALL_SECONDS = 120.0
"""The demo gives up when what it waits for has not happened after this long."""

SUPPLEMENTAL: dict[str, tuple[float, float]] = {  # the two raters' scores; mean in the comment
    "A001": (80, 90),  # 85
    "A002": (70, 70),  # 70
    "A003": (90, 80),  # 85
    "A004": (60, 60),  # 60 ┐ four at 60 for the last three oral-board places:
    "A005": (55, 65),  # 60 │ the earlier applications go (A004, A005, A007);
    "A006": (40, 50),  # 45 │ A009 applied last and stays out
    "A007": (60, 60),  # 60 │
    "A009": (65, 55),  # 60 ┘
}
ORAL: dict[str, tuple[float, float, float]] = {  # the three panel members' scores
    "A001": (80, 70, 90),  # 80 → 0.4·85 + 0.6·80 = 82
    "A002": (80, 80, 80),  # 80 → 76, ties A003 and ranks above it on the oral score
    "A003": (70, 70, 70),  # 70 → 76
    "A004": (90, 90, 90),  # 90 → 78
    "A005": (60, 60, 60),  # 60 → 60, exactly the pass point
    "A007": (50, 50, 50),  # 50 → 54, does not pass
}
SELECTED = "A004"
OVERRIDE = ("A009", "Volunteer treasurer work verified: two years of clerical duties in all")


def demo_applications() -> list[rc.Application]:
    """Nine made-up applicants; A008 lacks the vocational training, A009 has 1.5 years' clerical."""
    return [
        *(demo_application(n) for n in range(1, 8)),
        demo_application(8, education="high_school"),
        demo_application(9, clerical=1.5),
    ]


class _Script:
    """Waits on the status query and sends each part's answer, one line per step."""

    def __init__(
        self, handle: WorkflowHandle[Any, rc.RecruitmentResult], echo: Callable[[str], None], stall: float
    ) -> None:
        self.handle = handle
        self.echo = echo
        self.stall = stall
        self.stage: str | None = None

    async def status(self) -> rc.RecruitmentStatus:
        current = await self.handle.query("status", result_type=rc.RecruitmentStatus)
        if current.stage != self.stage:
            self.echo(f"stage {current.stage}")
            self.stage = current.stage
        return current

    async def wait(
        self, what: str, ready: Callable[[rc.RecruitmentStatus], bool], extra: float = 0.0
    ) -> rc.RecruitmentStatus:
        deadline = time.monotonic() + self.stall + extra
        while True:
            current = await self.status()
            if ready(current):
                return current
            if current.outcome is not None or time.monotonic() > deadline:
                raise TimeoutError(
                    f"the demo recruitment {self.handle.id} did not reach {what} (stage {current.stage}); "
                    "is a worker polling the task queue?"
                )
            await asyncio.sleep(0.25)

    async def step(self, step_id: str) -> tuple[rc.RecruitmentStatus, StepSnapshot]:
        current = await self.wait(
            f"step {step_id}", lambda s: any(st.step_id == step_id and st.pending for st in s.open_steps)
        )
        return current, next(st for st in current.open_steps if st.step_id == step_id)

    async def decide(self, step: StepSnapshot, decision: str, **fields: Any) -> DecisionReceipt:
        answer = DecisionInput(actor_id=step.pending[0], decision=decision, step_id=step.step_id, **fields)
        receipt = await update(self.handle, "decide", answer, DecisionReceipt)
        extra = f" {fields['details']['applicant_id']}" if fields.get("details") else ""
        closed = " (step closed)" if receipt.step_closed else ""
        self.echo(f"  {receipt.step_id}: {receipt.actor_id} {receipt.decision}{extra}{closed}")
        return receipt

    async def score_all(self, step_id: str, table: dict[str, Any]) -> None:
        current, _ = await self.step(step_id)
        scorers = current.assignments[step_id]
        for i, (scorer, candidates) in enumerate(scorers.items()):
            scores = [rc.CandidateScore(applicant_id=c, score=table[c][i]) for c in candidates]
            receipt = await update(
                self.handle,
                "score",
                rc.ScoreInput(actor_id=scorer, scores=scores, step_id=step_id),
                rc.ScoreReceipt,
            )
            listed = ", ".join(f"{s.applicant_id} {s.score:g}" for s in scores)
            self.echo(f"  {receipt.step_id}: {scorer} scored {listed}")


async def run_recruitment_demo(
    client: Client,
    settings: Settings,
    engine: Engine,
    *,
    echo: Callable[[str], None] = print,
    close_in: timedelta = CLOSE_IN,
    stall_seconds: float = STALL_SECONDS,
    start_in: timedelta = timedelta(days=30),
    probation: timedelta | None = None,
) -> rc.RecruitmentResult:
    """Runs seed 001's recruitment to a hire and returns its result.

    The store is seeded first (idempotent); a worker must be polling ``settings.task_queue``.
    The recruitment id is ``R-DEMO-<timestamp>`` so that every run is a recruitment of its own;
    when an earlier run already filled P-ITAT-02, the announcement names no position. The hire
    starts ``start_in`` from today, with a probation of ``probation`` (None: the class's months).
    """
    from activities.seed import seed_city

    await asyncio.to_thread(seed_city, engine)
    recruitment_id = f"R-DEMO-{datetime.now():%Y%m%d%H%M%S}"
    announcement = itat_announcement(datetime.now(timezone.utc) + close_in)
    taken = position_problems(engine, announcement.class_code, announcement.position_ids)
    if taken:
        echo(f"note: {'; '.join(taken.values())}; this run's announcement names no position")
        vacant = [p for p in announcement.position_ids if p not in taken]
        announcement = announcement.model_copy(update={"position_ids": vacant})
    inp = rc.OpenRecruitmentInput(
        recruitment_id=recruitment_id,
        requested_by=DEMO_REQUESTER_ID,
        announcement=announcement,
        hr_reviewer_id=DEMO_HR_REVIEWER_ID,
        hiring_manager_id=DEMO_HIRING_MANAGER_ID,
        raters=list(DEMO_RATERS),
        panel=list(DEMO_PANEL),
        probation=probation,
    )
    handle = await start_recruitment(client, settings, inp)
    echo(f"started {handle.id}: {recruitment_summary(recruitment_id, announcement)}")
    echo(f"  {workflow_url(settings, handle.id)}")
    script = _Script(handle, echo, stall_seconds)

    _, step = await script.step("announcement-1")
    await script.decide(step, APPROVE, comment="Approved for posting.")
    await script.wait("accepting applications", lambda s: s.stage == rc.ACCEPTING)
    receipt = await update(
        handle,
        "apply",
        rc.ApplyInput(
            actor_id=DEMO_REQUESTER_ID, applications=demo_applications(), source="demo-applicants.csv"
        ),
        rc.ApplyReceipt,
    )
    ids = receipt.applicant_ids
    echo(
        f"  applications: {DEMO_REQUESTER_ID} imported {len(ids)} from demo-applicants.csv "
        f"({ids[0]}-{ids[-1]})"
    )
    wait = max(0.0, (announcement.closes_at - datetime.now(timezone.utc)).total_seconds())
    echo(f"  applications close at {announcement.closes_at:%H:%M:%S} UTC; waiting {wait:.0f} s")

    current = await script.wait("the close", lambda s: s.stage != rc.ACCEPTING, extra=wait)
    current, step = await script.step("mq-review")
    for cand in current.candidates:
        if not cand.qualified:
            echo(f"  screen: {cand.applicant_id} not qualified ({'; '.join(cand.screen_reasons)})")
    aid, reason = OVERRIDE
    view = await update(
        handle,
        "override_screen",
        rc.ScreenOverrideInput(actor_id=step.pending[0], applicant_id=aid, qualified=True, reason=reason),
        rc.CandidateView,
    )
    echo(f"  mq-review: {step.pending[0]} overrides {view.applicant_id}: qualified ({reason})")
    await script.decide(step, rc.CONFIRM, comment="Screen checked.")

    await script.score_all("supplemental", SUPPLEMENTAL)
    current, _ = await script.step("oral-board")
    invited = next(iter(current.assignments["oral-board"].values()))
    echo(f"  oral board: {', '.join(invited)} (the top six of the supplemental review)")
    await script.score_all("oral-board", ORAL)

    current, step = await script.step("selection-1")
    ranked = sorted((c for c in current.candidates if c.rank), key=lambda c: c.rank or 0)
    failed = [c for c in current.candidates if c.disposition == "did_not_pass"]
    echo(
        "  register: "
        + ", ".join(f"{c.rank}. {c.applicant_id} {c.final:g}" for c in ranked)
        + "".join(f"; {c.applicant_id} {c.final:g} did not pass" for c in failed)
    )
    echo(f"  certified to the department: {', '.join(current.certified)}")
    await script.decide(step, rc.SELECT, details=as_sent(Selection(applicant_id=SELECTED)))

    _, step = await script.step("offer-1")
    start = datetime.now(timezone.utc).date() + start_in
    position = announcement.position_ids[0] if announcement.position_ids else None
    offer = await update(
        handle,
        "make_offer",
        rc.OfferInput(
            actor_id=step.pending[0], applicant_id=SELECTED, position_id=position, start_date=start
        ),
        rc.OfferInput,
    )
    echo(
        f"  offer-1: {offer.actor_id} offered {offer.applicant_id} position {offer.position_id or '(none)'}, "
        f"start {offer.start_date}, pay step {offer.pay_step}"
    )
    _, step = await script.step("offer-answer-1")
    await script.decide(step, rc.ACCEPT, comment="Accepted by phone.")
    _, step = await script.step("background-1")
    for check in announcement.background_checks:
        await update(
            handle,
            "record_check",
            rc.CheckResultInput(
                actor_id=step.pending[0], applicant_id=SELECTED, check=check, result=rc.CLEAR
            ),
            dict[str, str],
        )
        echo(f"  background-1: {step.pending[0]} recorded {check} {rc.CLEAR}")

    result = await asyncio.wait_for(handle.result(), stall_seconds)
    await script.status()
    echo(
        f"finished {handle.id}: {result.outcome}"
        + (f" {result.applicant_id} as employee {result.employee_id}" if result.employee_id else "")
    )
    if result.register_workflow_id:
        register = client.get_workflow_handle(result.register_workflow_id)
        deadline = time.monotonic() + 15
        while True:  # the hire reaches the register as a signal; show the table once it has
            execution, reg = await register_status(register)
            hired = any(e.applicant_id == result.applicant_id and e.status == "hired" for e in reg.entries)
            if hired or not reg.open or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.25)
        echo(
            render_register(reg, await asyncio.to_thread(applicant_names, engine, recruitment_id), execution)
        )
    echo(f"open it in the Web UI: {workflow_url(settings, handle.id)}")
    return result
