"""Drives onboarding and probation workflows in tests: real activities, store and SMTP."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, select
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from activities.db import utcnow
from activities.onboarding import place_in_position
from schemas import onboarding as ob
from schemas.decision_details import OrientationDate, ProbationExtension, as_sent
from schemas.employment import OnboardingInput, ProbationInput, onboarding_workflow_id, probation_workflow_id
from schemas.human_step import DecisionReceipt
from schemas.tables import EmploymentEvent, OnboardingTask, Person
from tests.harness_common import Harness, poll_until
from tests.recruitment_harness import Hiring

HR_TECHNICIAN = "E1008"
HR_SUPERVISOR = "E1005"
IT_MANAGER = "E1011"


def orientation_on(day: date) -> dict[str, Any]:
    return as_sent(OrientationDate(on=day))


def extension(days: int) -> dict[str, Any]:
    return as_sent(ProbationExtension(days=days))


@dataclass
class Onboard(Harness):
    @property
    def hiring(self) -> Hiring:
        """The same worker, store and SMTP, to run a recruitment to its hire."""
        return Hiring(env=self.env, engine=self.engine, smtp=self.smtp, task_queue=self.task_queue)

    async def today(self) -> date:
        return (await self.env.get_current_time()).date()

    def add_employee(
        self, employee_id: str, position_id: str | None = None, supervisor: str = IT_MANAGER
    ) -> str:
        """A person in the directory, as a hire or HR would have entered them (optionally placed
        in a vacant position)."""
        with Session(self.engine) as s:
            s.add(
                Person(
                    id=employee_id,
                    name=f"New Employee {employee_id}",
                    email=f"{employee_id.lower()}@city.example",
                    title="IT Technician II",
                    department_code="IT",
                    supervisor_id=supervisor,
                    roles=["employee"],
                )
            )
            s.commit()
        if position_id is not None:
            place_in_position(self.engine, employee_id, position_id)
        return employee_id

    async def start(
        self,
        employee_id: str,
        starts_on: date,
        requested_by: str = HR_TECHNICIAN,
        probation: timedelta | None = None,
    ) -> WorkflowHandle:
        return await self.client.start_workflow(
            "Onboarding",
            OnboardingInput(
                employee_id=employee_id, starts_on=starts_on, requested_by=requested_by, probation=probation
            ),
            id=onboarding_workflow_id(employee_id),
            task_queue=self.task_queue,
            result_type=ob.OnboardingResult,
        )

    async def start_probation(
        self,
        employee_id: str,
        starts_on: date,
        requested_by: str = HR_TECHNICIAN,
        length: timedelta | None = None,
    ) -> WorkflowHandle:
        return await self.client.start_workflow(
            "Probation",
            ProbationInput(
                employee_id=employee_id, starts_on=starts_on, requested_by=requested_by, length=length
            ),
            id=probation_workflow_id(employee_id, starts_on) + f"-{uuid.uuid4().hex[:4]}",
            task_queue=self.task_queue,
            result_type=ob.ProbationResult,
        )

    # ----- reading -------------------------------------------------------------------------------

    async def status(self, handle: WorkflowHandle) -> ob.OnboardingStatus:
        return await handle.query("status", result_type=ob.OnboardingStatus)

    async def probation(self, handle: WorkflowHandle) -> ob.ProbationStatus:
        return await handle.query("status", result_type=ob.ProbationStatus)

    async def wait_for(
        self, handle: WorkflowHandle, predicate: Callable[[ob.OnboardingStatus], bool], timeout: float = 30
    ) -> ob.OnboardingStatus:
        return await poll_until(lambda: self.status(handle), predicate, timeout)

    async def wait_for_probation(
        self, handle: WorkflowHandle, predicate: Callable[[ob.ProbationStatus], bool], timeout: float = 30
    ) -> ob.ProbationStatus:
        async def fetch() -> ob.ProbationStatus | None:
            try:
                return await self.probation(handle)
            except RPCError as err:  # the onboarding names its child as it starts it
                if err.status == RPCStatusCode.NOT_FOUND:
                    return None
                raise

        found = await poll_until(fetch, lambda s: s is not None and predicate(s), timeout)
        assert found is not None
        return found

    async def wait_for_task(self, handle: WorkflowHandle, task: str) -> ob.TaskView:
        status = await self.wait_for(
            handle, lambda s: any(t.task == task and t.state in (ob.OPEN, ob.REOPENED) for t in s.tasks)
        )
        return next(t for t in status.tasks if t.task == task)

    async def wait_for_step(self, handle: WorkflowHandle, step_id: str) -> ob.ProbationStatus:
        return await self.wait_for_probation(
            handle, lambda s: any(st.step_id == step_id and st.pending for st in s.open_steps)
        )

    # ----- answering ---------------------------------------------------------------------------

    async def done(
        self, handle: WorkflowHandle, task: str, actor: str | None = None, **kw: Any
    ) -> DecisionReceipt:
        """Completes ``task`` as its first owner (or ``actor``) with the task's word."""
        view = await self.wait_for_task(handle, task)
        return await self.decide(
            handle, actor or view.owner_ids[0], view.decision, step_id=view.step_id, **kw
        )

    async def complete_first_tasks(self, handle: WorkflowHandle, orientation: date, benefits: date) -> None:
        """Every task that opens first, each by its first owner; the orientations on the dates given."""
        await self.done(handle, ob.PAYROLL, comment="Entered at step 1")
        for task in (ob.IT_ACCOUNT, ob.IT_DESKTOP, ob.IT_VOICE_DATA, ob.IT_PHONE):
            await self.done(handle, task)
        await self.done(handle, ob.ORIENTATION, details=orientation_on(orientation))
        await self.done(handle, ob.BENEFITS, details=orientation_on(benefits))
        await self.done(handle, ob.POLICIES)
        status = await self.status(handle)
        if any(t.task == ob.DRIVER_LICENSE for t in status.tasks):
            await self.done(handle, ob.DRIVER_LICENSE, comment="WA licence valid to 2030")

    # ----- the record ----------------------------------------------------------------------------

    def task_rows(self, workflow_id: str) -> dict[str, OnboardingTask]:
        with Session(self.engine) as s:
            rows = s.exec(select(OnboardingTask).where(OnboardingTask.workflow_id == workflow_id)).all()
            return {r.task: r for r in rows}

    def history(self, employee_id: str) -> list[EmploymentEvent]:
        with Session(self.engine) as s:
            return list(
                s.exec(
                    select(EmploymentEvent)
                    .where(EmploymentEvent.employee_id == employee_id)
                    .order_by(col(EmploymentEvent.id))
                ).all()
            )

    def employment_status(self, employee_id: str) -> str | None:
        with Session(self.engine) as s:
            person = s.get(Person, employee_id)
            assert person is not None
            return person.employment_status


def stamp() -> str:
    return utcnow().isoformat()
