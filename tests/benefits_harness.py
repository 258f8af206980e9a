"""Drives benefits enrollments in tests: real activities, store (SQLite and PostgreSQL) and SMTP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, SQLModel, col, select
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from activities.seed_benefits import seed_benefits
from schemas import benefits as bn
from schemas.benefits_records import EnrollmentStatus
from schemas.decision_details import BenefitElections, as_sent
from schemas.human_step import DecisionInput, DecisionReceipt
from schemas.tables import OutboxMessage, Person
from tests.harness_common import Harness, poll_until

HR_TECHNICIAN = "E1008"
IT_MANAGER = "E1011"


def elections(plans: dict[str, str], dependants: list[tuple[str, date]] | None = None) -> dict[str, Any]:
    """The ``benefit_elections`` details of a decision: plan id -> tier, and (relation, born)."""
    return as_sent(
        BenefitElections(
            plans=[bn.PlanChoice(plan_id=p, tier=t) for p, t in plans.items()],  # type: ignore[arg-type]
            dependants=[bn.Dependant(relation=r, date_of_birth=d) for r, d in dependants or []],  # type: ignore[arg-type]
        )
    )


@dataclass
class Benefits(Harness):
    async def today(self) -> date:
        return (await self.env.get_current_time()).date()

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    def add_employee(self, employee_id: str, department: str = "IT", *, covered: bool = False) -> str:
        with Session(self.engine) as s:
            s.add(
                Person(
                    id=employee_id,
                    name=f"Employee {employee_id}",
                    email=f"{employee_id.lower()}@city.example",
                    title="Clerk",
                    department_code=department,
                    supervisor_id=IT_MANAGER,
                    roles=["employee"],
                    employment_status="permanent",
                )
            )
            s.commit()
        if covered:
            seed_benefits(self.engine, people=[employee_id])
        return employee_id

    async def start(self, employee_id: str, event: str, event_on: date, **fields: Any) -> WorkflowHandle:
        inp = bn.EnrollmentInput(
            employee_id=employee_id, event=event, event_on=event_on, requested_by=HR_TECHNICIAN, **fields
        )
        return await self.client.start_workflow(
            bn.BENEFITS_WORKFLOW,
            inp,
            id=bn.enrollment_workflow_id(employee_id, event, event_on, inp.year),
            task_queue=self.task_queue,
            result_type=bn.EnrollmentResult,
        )

    async def status(self, handle: WorkflowHandle) -> EnrollmentStatus:
        return await handle.query("status", result_type=EnrollmentStatus)

    async def wait_for(
        self, handle: WorkflowHandle, predicate: Callable[[EnrollmentStatus], bool], timeout: float = 30
    ) -> EnrollmentStatus:
        return await poll_until(lambda: self.status(handle), predicate, timeout)

    async def electing(self, handle: WorkflowHandle, timeout: float = 60) -> EnrollmentStatus:
        """The status once the elections step is open (the workflow may not have started yet, or
        be reopening it after HR's audit returned the election)."""

        async def fetch() -> EnrollmentStatus | None:
            try:
                return await self.status(handle)
            except RPCError:  # not started yet (a bulk run's child still to come)
                return None

        status = await poll_until(
            fetch, lambda s: s is not None and any(o.step_id == "elections" for o in s.open_steps), timeout
        )
        assert status is not None
        return status

    async def decide(self, handle: WorkflowHandle, actor: str, decision: str, **kw: Any) -> DecisionReceipt:
        return await handle.execute_update(
            "decide", DecisionInput(actor_id=actor, decision=decision, **kw), result_type=DecisionReceipt
        )

    async def auditing(self, handle: WorkflowHandle, timeout: float = 60) -> EnrollmentStatus:
        """The status once HR's audit of an election is open."""
        return await self.wait_for(
            handle, lambda s: any(o.step_id.startswith(bn.AUDIT_STEP) for o in s.open_steps), timeout
        )

    async def audit(
        self, handle: WorkflowHandle, decision: str = bn.AUDIT_APPROVE, actor: str = HR_TECHNICIAN, **kw: Any
    ) -> DecisionReceipt:
        """HR's audit of the election (once its step is open): approve, or return with a comment."""
        await self.auditing(handle)
        return await self.decide(handle, actor, decision, **kw)

    def rows(self, model: type[SQLModel], **where: Any) -> list[Any]:
        with Session(self.engine) as s:
            query = select(model)
            for name, value in where.items():
                query = query.where(col(getattr(model, name)) == value)
            return list(s.exec(query.order_by(col(model.id))).all())  # type: ignore[attr-defined]

    def notices(self, workflow_id: str, template: str) -> list[str]:
        """Recipients of a workflow's notices of ``template`` (from the outbox keys)."""
        with Session(self.engine) as s:
            rows = s.exec(select(OutboxMessage).where(OutboxMessage.workflow_id == workflow_id)).all()
            return [m.recipient_id for m in rows if f":{template}:" in m.key]
