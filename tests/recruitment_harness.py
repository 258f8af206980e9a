"""Drives recruitment workflows in tests: real activities, a real store and a real SMTP server."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Set
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, select
from temporalio.client import WorkflowHandle

from activities.seed_recruitment import (
    DEMO_HIRING_MANAGER_ID,
    DEMO_HR_REVIEWER_ID,
    DEMO_PANEL,
    DEMO_RATERS,
    DEMO_REQUESTER_ID,
    itat_announcement,
)
from schemas import recruitment as rc
from schemas.decision_details import Selection, as_sent
from schemas.human_step import DecisionInput, DecisionReceipt
from schemas.tables import AuditEvent, OutboxMessage
from tests.harness_common import Harness, audit_rows, poll_until

HR_SUPERVISOR = "E1005"


@dataclass
class Hiring(Harness):
    async def open(
        self,
        *,
        closes_in: timedelta = timedelta(days=10),
        checks: list[str] | None = None,
        raters: list[str] | None = None,
        panel: list[str] | None = None,
        plan: rc.SelectionPlan | None = None,
        positions: list[str] | None = None,
    ) -> WorkflowHandle:
        now = await self.env.get_current_time()
        rid = f"T{uuid.uuid4().hex[:8]}"
        announcement = itat_announcement(now + closes_in, background_checks=checks)
        if positions is not None:
            announcement.position_ids = positions
        inp = rc.OpenRecruitmentInput(
            recruitment_id=rid,
            requested_by=DEMO_REQUESTER_ID,
            announcement=announcement,
            plan=plan or rc.SelectionPlan(),
            hr_reviewer_id=DEMO_HR_REVIEWER_ID,
            hiring_manager_id=DEMO_HIRING_MANAGER_ID,
            raters=DEMO_RATERS if raters is None else raters,
            panel=DEMO_PANEL if panel is None else panel,
        )
        return await self.client.start_workflow(
            "Recruitment",
            inp,
            id=rc.recruitment_workflow_id(rid),
            task_queue=self.task_queue,
            result_type=rc.RecruitmentResult,
        )

    async def status(self, handle: WorkflowHandle) -> rc.RecruitmentStatus:
        return await handle.query("status", result_type=rc.RecruitmentStatus)

    async def wait_for(
        self, handle: WorkflowHandle, predicate: Callable[[rc.RecruitmentStatus], bool], timeout: float = 30
    ) -> rc.RecruitmentStatus:
        """Polls the status query in real time until ``predicate`` holds."""
        return await poll_until(lambda: self.status(handle), predicate, timeout)

    async def wait_for_step(self, handle: WorkflowHandle, step_id: str) -> rc.RecruitmentStatus:
        return await self.wait_for(
            handle, lambda s: any(st.step_id == step_id and st.pending for st in s.open_steps)
        )

    async def wait_for_stage(self, handle: WorkflowHandle, stage: str) -> rc.RecruitmentStatus:
        return await self.wait_for(handle, lambda s: s.stage == stage)

    async def decide(self, handle: WorkflowHandle, actor: str, decision: str, **kw) -> DecisionReceipt:
        return await handle.execute_update(
            "decide", DecisionInput(actor_id=actor, decision=decision, **kw), result_type=DecisionReceipt
        )

    async def approve_and_post(self, handle: WorkflowHandle) -> None:
        await self.wait_for_step(handle, "announcement-1")
        await self.decide(handle, HR_SUPERVISOR, "approve", step_id="announcement-1")
        await self.wait_for_stage(handle, rc.ACCEPTING)

    async def apply(
        self, handle: WorkflowHandle, applications: list[rc.Application], actor: str = DEMO_REQUESTER_ID
    ) -> rc.ApplyReceipt:
        return await handle.execute_update(
            "apply", rc.ApplyInput(actor_id=actor, applications=applications), result_type=rc.ApplyReceipt
        )

    async def close_applications(self, handle: WorkflowHandle) -> rc.RecruitmentStatus:
        """Skips time past the closing time; the screen opens for the HR reviewer."""
        status = await self.status(handle)
        now = await self.env.get_current_time()
        await self.env.sleep(status.closes_at - now + timedelta(minutes=1))
        return await self.wait_for(handle, lambda s: s.stage != rc.ACCEPTING)

    async def confirm_screen(self, handle: WorkflowHandle) -> None:
        await self.wait_for_step(handle, "mq-review")
        await self.decide(handle, DEMO_HR_REVIEWER_ID, rc.CONFIRM, step_id="mq-review")

    async def score(
        self, handle: WorkflowHandle, actor: str, scores: dict[str, float], step_id: str | None = None
    ) -> rc.ScoreReceipt:
        return await handle.execute_update(
            "score",
            rc.ScoreInput(
                actor_id=actor,
                step_id=step_id,
                scores=[rc.CandidateScore(applicant_id=a, score=s) for a, s in scores.items()],
            ),
            result_type=rc.ScoreReceipt,
        )

    async def score_step(
        self, handle: WorkflowHandle, step_id: str, scores: dict[str, float], skip: Set[str] = frozenset()
    ) -> None:
        """Every scorer of ``step_id`` (but ``skip``) gives each assigned candidate ``scores[candidate]``."""
        status = await self.wait_for_step(handle, step_id)
        for scorer, candidates in status.assignments[step_id].items():
            if scorer not in skip:
                await self.score(handle, scorer, {c: scores[c] for c in candidates}, step_id=step_id)

    async def select_offer_accept(
        self, handle: WorkflowHandle, applicant_id: str, round_: int = 1
    ) -> rc.RecruitmentStatus:
        """The department selects, HR offers P-ITAT-02, the candidate accepts."""
        await self.wait_for_step(handle, f"selection-{round_}")
        await self.decide(handle, DEMO_HIRING_MANAGER_ID, rc.SELECT, details=selection(applicant_id))
        await self.wait_for_step(handle, f"offer-{round_}")
        now = await self.env.get_current_time()
        await handle.execute_update(
            "make_offer",
            rc.OfferInput(
                actor_id=DEMO_HR_REVIEWER_ID,
                applicant_id=applicant_id,
                position_id="P-ITAT-02",
                start_date=now.date() + timedelta(days=30),
            ),
            result_type=rc.OfferInput,
        )
        await self.wait_for_step(handle, f"offer-answer-{round_}")
        await self.decide(handle, DEMO_HR_REVIEWER_ID, rc.ACCEPT, step_id=f"offer-answer-{round_}")
        return await self.status(handle)

    async def record_check(
        self, handle: WorkflowHandle, applicant_id: str, check: str, result: str = rc.CLEAR
    ) -> dict[str, str]:
        return await handle.execute_update(
            "record_check",
            rc.CheckResultInput(
                actor_id=DEMO_HR_REVIEWER_ID, applicant_id=applicant_id, check=check, result=result
            ),
            result_type=dict[str, str],
        )

    def audit(self, workflow_id: str) -> list[AuditEvent]:
        return audit_rows(self.engine, workflow_id)

    def outbox(self, workflow_id: str) -> list[OutboxMessage]:
        with Session(self.engine) as s:
            return list(
                s.exec(
                    select(OutboxMessage)
                    .where(OutboxMessage.workflow_id == workflow_id)
                    .order_by(col(OutboxMessage.id))
                ).all()
            )

    def notices(self, workflow_id: str, recruitment_id: str) -> dict[str, list[str]]:
        """Applicant id -> the templates of the notices they were sent (from the outbox keys)."""
        result: dict[str, list[str]] = {}
        for row in self.outbox(workflow_id):
            if row.recipient_id.startswith(f"{recruitment_id}:"):
                template = row.key.split(":applicants:")[1].split(":")[0]
                result.setdefault(row.recipient_id.split(":")[1], []).append(template)
        return result


def selection(applicant_id: str) -> dict:
    """The department's selection as a decision carries it."""
    return as_sent(Selection(applicant_id=applicant_id))


def in_days(days: int) -> date:
    return date.today() + timedelta(days=days)
