"""Drives review workflows in tests: a worker with real activities, a real store and SMTP."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session
from temporalio.client import WorkflowHandle

from activities.seed import load_text
from schemas import jd_review as jd
from schemas.decision_details import BoardResolution, RevisedText, as_sent
from schemas.human_step import DecisionInput, DecisionReceipt
from schemas.tables import AuditEvent, Person
from service.settings import Settings
from tests.harness_common import Harness, audit_rows, poll_until
from tests.smtp_server import SmtpSink


def board_resolution(number: str) -> dict:
    """The Board's approval as a decision carries it."""
    return as_sent(BoardResolution(resolution_number=number))


def revised(text: str) -> dict:
    """HR's revised text as a decision carries it."""
    return as_sent(RevisedText(text=text))


Script = Callable[[str, str], DecisionInput | None]
"""(step id, person id) -> the decision that person sends, or None to stay silent."""


@dataclass
class Review(Harness):
    async def start(
        self, class_code: str = "1821", requested_by: str = "E1008", draft: str | None = "default", **kwargs
    ) -> WorkflowHandle:
        text = load_text("1821_draft_2023") if draft == "default" else draft
        inp = jd.StartReviewInput(
            class_code=class_code,
            cycle=f"t{uuid.uuid4().hex[:8]}",
            requested_by=requested_by,
            draft_text=text,
            **kwargs,
        )
        return await self.client.start_workflow(
            "JobDescriptionReview",
            inp,
            id=jd.review_workflow_id(class_code, inp.cycle),
            task_queue=self.task_queue,
            result_type=jd.ReviewResult,
        )

    async def status(self, handle: WorkflowHandle) -> jd.ReviewStatus:
        return await handle.query("status", result_type=jd.ReviewStatus)

    async def decide(self, handle: WorkflowHandle, actor: str, decision: str, **kw) -> DecisionReceipt:
        return await handle.execute_update(
            "decide", DecisionInput(actor_id=actor, decision=decision, **kw), result_type=DecisionReceipt
        )

    async def wait_for(
        self, handle: WorkflowHandle, predicate: Callable[[jd.ReviewStatus], bool], timeout: float = 30
    ) -> jd.ReviewStatus:
        """Polls the status query in real time until ``predicate`` holds."""
        return await poll_until(lambda: self.status(handle), predicate, timeout)

    async def wait_for_step(self, handle: WorkflowHandle, prefix: str) -> jd.ReviewStatus:
        return await self.wait_for(
            handle, lambda s: any(st.step_id.startswith(prefix) and st.pending for st in s.open_steps)
        )

    async def drive(
        self, handle: WorkflowHandle, script: Script, until_stage: str | None = None, timeout: float = 60
    ) -> jd.ReviewStatus:
        """Answers every open step per ``script`` until the workflow ends (or reaches ``until_stage``)."""
        deadline = asyncio.get_running_loop().time() + timeout
        answered: set[tuple[str, str]] = set()
        while True:
            status = await self.status(handle)
            if status.outcome is not None or status.stage == until_stage:
                return status
            for step in status.open_steps:
                for person in step.pending:
                    if (step.step_id, person) in answered:
                        continue
                    decision = script(step.step_id, person)
                    answered.add((step.step_id, person))
                    if decision is not None:
                        decision.step_id = step.step_id
                        await handle.execute_update("decide", decision, result_type=DecisionReceipt)
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"drive timed out; last status: {status.model_dump_json(indent=1)}")
            await asyncio.sleep(0.05)

    def audit(self, workflow_id: str) -> list[AuditEvent]:
        return audit_rows(self.engine, workflow_id)

    async def wait_for_audit(self, workflow_id: str, count: int, timeout: float = 10) -> list[AuditEvent]:
        """The audit rows once there are at least ``count`` (the signal's activity runs after it)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(rows := self.audit(workflow_id)) < count:
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.05)
        return rows

    def email(self, person_id: str) -> str:
        with Session(self.engine) as s:
            person = s.get(Person, person_id)
            assert person is not None
            return person.email


def approve_all(step_id: str, person: str) -> DecisionInput | None:
    """Everybody agrees; the Board approves with a resolution number."""
    if step_id.startswith("union-"):
        return DecisionInput(actor_id=person, decision="agreeable")
    if step_id.startswith("board-"):
        return DecisionInput(actor_id=person, decision="approve", details=board_resolution("26-0412R"))
    return DecisionInput(actor_id=person, decision="approve", comment="looks right")


def settings_for(smtp: SmtpSink, db_url: str) -> Settings:
    return Settings(database_url=db_url, smtp_host=smtp.host, smtp_port=smtp.port)


ONE_DAY = timedelta(days=1)
