"""Drives personnel actions in tests: a worker with real activities, a real store and SMTP."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, SQLModel, col, select
from temporalio.client import WorkflowHandle

from cli.action import start_action
from schemas import personnel_action as pa
from schemas.employment import PersonnelActionInput
from schemas.human_step import DecisionInput, DecisionReceipt
from schemas.tables import Person
from service.settings import Settings
from tests.harness_common import Harness, audit_rows, poll_until


@dataclass
class Actions(Harness):
    async def today(self) -> date:
        return (await self.env.get_current_time()).date()

    async def start(
        self,
        employee_id: str,
        kind: str,
        *,
        requested_by: str = "E1006",
        effective_in_days: int = 14,
        action_id: str | None = None,
        **fields: Any,
    ) -> WorkflowHandle[Any, pa.PersonnelActionResult]:
        """Starts the workflow directly (as the probation does; the CLI checks first)."""
        inp = PersonnelActionInput(
            action_id=action_id or f"{kind.replace('_', '-')}-{uuid.uuid4().hex[:6]}",
            employee_id=employee_id,
            kind=kind,  # type: ignore[arg-type]
            requested_by=requested_by,
            effective_on=await self.today() + timedelta(days=effective_in_days),
            reason=fields.pop("reason", f"test {kind}"),
            **fields,
        )
        return await start_action(self.client, Settings(task_queue=self.task_queue), inp)

    async def status(self, handle: WorkflowHandle[Any, Any]) -> pa.PersonnelActionStatus:
        return await handle.query("status", result_type=pa.PersonnelActionStatus)

    async def wait_for(
        self,
        handle: WorkflowHandle[Any, Any],
        predicate: Callable[[pa.PersonnelActionStatus], bool],
        timeout: float = 30,
    ) -> pa.PersonnelActionStatus:
        return await poll_until(lambda: self.status(handle), predicate, timeout)

    async def wait_for_stage(self, handle: WorkflowHandle[Any, Any], stage: str) -> pa.PersonnelActionStatus:
        return await self.wait_for(handle, lambda s: s.stage == stage)

    async def wait_for_step(self, handle: WorkflowHandle[Any, Any], step_id: str) -> pa.PersonnelActionStatus:
        return await self.wait_for(
            handle, lambda s: any(st.step_id == step_id and st.pending for st in s.open_steps)
        )

    async def decide(
        self, handle: WorkflowHandle[Any, Any], actor: str, decision: str, **kw: Any
    ) -> DecisionReceipt:
        return await handle.execute_update(
            "decide", DecisionInput(actor_id=actor, decision=decision, **kw), result_type=DecisionReceipt
        )

    async def approve_all(self, handle: WorkflowHandle[Any, Any]) -> pa.PersonnelActionStatus:
        """Every approval of the chain, in order, by its first approver; the status once scheduled."""
        # "started" while the start's credential is checked (signed starts), then "opening"
        status = await self.wait_for(handle, lambda s: s.stage not in ("started", pa.OPENING))
        for stage in status.chain:
            await self.wait_for_step(handle, stage.step_id)
            await self.decide(handle, stage.approvers[0], "approve", step_id=stage.step_id)
        return await self.wait_for(handle, lambda s: s.stage != pa.APPROVAL)

    async def finish_work_orders(
        self, handle: WorkflowHandle[Any, Any], by: dict[str, str], notes: dict[str, str] | None = None
    ) -> None:
        """The IT service desk closes each work order (step id -> desk member), once it is open."""
        for step_id, person in by.items():
            await self.wait_for_step(handle, step_id)
            comment = (notes or {}).get(step_id)
            await self.decide(handle, person, pa.DONE, step_id=step_id, comment=comment)

    def audit(self, workflow_id: str) -> list[tuple[str, str, str]]:
        return [(r.step_id, r.actor_id, r.action) for r in audit_rows(self.engine, workflow_id)]

    def rows(self, model: type[SQLModel], **where: Any) -> list[Any]:
        with Session(self.engine) as s:
            query = select(model)
            for name, value in where.items():
                query = query.where(col(getattr(model, name)) == value)
            return list(s.exec(query).all())

    def person(self, person_id: str) -> Person:
        with Session(self.engine) as s:
            person = s.get(Person, person_id)
            assert person is not None
            return person

    def set_status(self, person_id: str, status: str | None) -> None:
        with Session(self.engine) as s:
            person = s.get(Person, person_id)
            assert person is not None
            person.employment_status = status
            s.add(person)
            s.commit()
