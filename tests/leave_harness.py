"""Drives leave workflows in tests: real activities, store and SMTP (``tests/test_leave_workflow.py``,
``tests/record_histories.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import WorkflowHandle

from activities.db import utcnow
from schemas import leave as lv
from schemas.decision_details import FitnessForDuty, LeaveExtension, TpaClaim, as_sent
from schemas.leave_tables import HoursWorked, LeaveAbsence, LeaveCertification, LeaveRequest
from schemas.tables import EmploymentEvent, Person
from tests.harness_common import Harness, poll_until

HR_TECHNICIAN = "E1008"
HR_APPROVER = "E1006"
HR_SUPERVISOR = "E1005"
EMPLOYEE = "E1025"
"""A maintenance worker of Public Works; supervisor E1024."""
SUPERVISOR = "E1024"
BENEFITS_REP = "E1009"
TPA_ADJUSTER = "E1099"


def tpa_claim(number: str) -> dict[str, Any]:
    return as_sent(TpaClaim(claim_number=number))


def fitness_on(day: date) -> dict[str, Any]:
    return as_sent(FitnessForDuty(certified_on=day))


def extended_to(day: date) -> dict[str, Any]:
    return as_sent(LeaveExtension(ends_on=day))


def make_eligible(
    engine: Engine, employee_id: str, today: date, years: int = 3, hours_per_period: float = 80
) -> None:
    """An appointment ``years`` ago and 26 pay periods of hours in the last twelve months."""
    with Session(engine) as s:
        s.add(
            EmploymentEvent(
                key=f"test:{employee_id}:appointed",
                workflow_id="test",
                employee_id=employee_id,
                kind="appointed",
                effective_on=today - timedelta(days=365 * years),
                recorded_by=HR_TECHNICIAN,
                at=utcnow(),
            )
        )
        for n in range(26):
            s.add(
                HoursWorked(
                    employee_id=employee_id,
                    period_ends_on=today - timedelta(days=14 * n + 1),
                    hours=hours_per_period,
                )
            )
        s.commit()


def add_earlier_leave(
    engine: Engine, employee_id: str, starts_on: date, days: int, hours_a_day: float
) -> str:
    """An earlier leave, returned from, with one absence a day (counted in the rolling window)."""
    leave_id = f"leave-{employee_id}-{starts_on:%Y%m%d}"
    ends_on = starts_on + timedelta(days=days - 1)
    with Session(engine) as s:
        s.add(
            LeaveRequest(
                id=leave_id,
                employee_id=employee_id,
                leave_type="family",
                schedule="intermittent",
                starts_on=starts_on,
                ends_on=ends_on,
                requested_hours=days * hours_a_day,
                weekly_hours=40,
                entitlement_hours=480,
                status=lv.RETURNED,
                requested_by=HR_TECHNICIAN,
                designated_on=starts_on,
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        s.flush()
        for n in range(days):
            s.add(
                LeaveAbsence(
                    key=f"test:{leave_id}:{n}",
                    leave_id=leave_id,
                    employee_id=employee_id,
                    on=starts_on + timedelta(days=n),
                    hours=hours_a_day,
                    recorded_by=HR_TECHNICIAN,
                    at=utcnow(),
                )
            )
        s.commit()
    return leave_id


@dataclass
class Leaves(Harness):
    async def today(self) -> date:
        return (await self.env.get_current_time()).date()

    # ----- the store as payroll and earlier leaves left it ----------------------------------------

    def eligible(self, employee_id: str, today: date, years: int = 3, hours_per_period: float = 80) -> None:
        make_eligible(self.engine, employee_id, today, years, hours_per_period)

    def earlier_leave(self, employee_id: str, starts_on: date, days: int, hours_a_day: float) -> str:
        return add_earlier_leave(self.engine, employee_id, starts_on, days, hours_a_day)

    def give_role(self, person_id: str, role: str) -> None:
        with Session(self.engine) as s:
            person = s.get(Person, person_id)
            assert person is not None
            person.roles = [*person.roles, role]
            s.add(person)
            s.commit()

    def add_tpa(self, person_id: str = TPA_ADJUSTER) -> str:
        """The third-party administrator's claims adjuster, in the directory with its role."""
        with Session(self.engine) as s:
            s.add(
                Person(
                    id=person_id,
                    name="Claims Adjuster",
                    email=f"{person_id.lower()}@tpa.example",
                    title="Claims Adjuster (third-party administrator)",
                    department_code="HR",
                    roles=[lv.TPA_ROLE],
                )
            )
            s.commit()
        return person_id

    # ----- starting and reading ------------------------------------------------------------------

    async def start(
        self,
        starts_on: date,
        ends_on: date,
        *,
        employee_id: str = EMPLOYEE,
        leave_type: str = "medical",
        schedule: str = "intermittent",
        hours: float | None = 40,
        requested_by: str = HR_TECHNICIAN,
        reason: str | None = None,
    ) -> WorkflowHandle:
        return await self.client.start_workflow(
            lv.LEAVE_WORKFLOW,
            lv.LeaveInput(
                employee_id=employee_id,
                leave_type=leave_type,  # type: ignore[arg-type]
                schedule=schedule,  # type: ignore[arg-type]
                starts_on=starts_on,
                ends_on=ends_on,
                hours=hours if schedule == "intermittent" else None,
                requested_by=requested_by,
                reason=reason,
            ),
            id=lv.leave_workflow_id(employee_id, starts_on),
            task_queue=self.task_queue,
            result_type=lv.LeaveResult,
            static_summary=f"Leave of {employee_id}",
        )

    async def status(self, handle: WorkflowHandle) -> lv.LeaveStatus:
        return await handle.query("status", result_type=lv.LeaveStatus)

    async def wait_for(
        self, handle: WorkflowHandle, predicate: Callable[[lv.LeaveStatus], bool], timeout: float = 30
    ) -> lv.LeaveStatus:
        return await poll_until(lambda: self.status(handle), predicate, timeout)

    async def wait_for_step(self, handle: WorkflowHandle, step_id: str) -> lv.LeaveStatus:
        return await self.wait_for(
            handle, lambda s: any(st.step_id == step_id and st.pending for st in s.open_steps)
        )

    # ----- answering -----------------------------------------------------------------------------

    async def certify(self, handle: WorkflowHandle, actor: str, **kw: Any) -> lv.LeaveStatus:
        values: dict[str, Any] = {"provider": "Valley Clinic", "diagnosis": "lumbar strain"} | kw
        return await handle.execute_update(
            lv.SUBMIT_CERTIFICATION,
            lv.CertificationInput(actor_id=actor, **values),
            result_type=lv.LeaveStatus,
        )

    async def absence(
        self, handle: WorkflowHandle, actor: str, on: date, hours: float, through: date | None = None
    ) -> lv.LeaveStatus:
        return await handle.execute_update(
            lv.RECORD_ABSENCE,
            lv.AbsenceInput(actor_id=actor, on=on, through=through, hours=hours),
            result_type=lv.LeaveStatus,
        )

    async def approve_through(self, handle: WorkflowHandle, certify: bool = True) -> lv.LeaveStatus:
        """Certification (by the employee), the supervisor's acknowledgement, HR's approval."""
        if certify:
            await self.wait_for_step(handle, lv.CERTIFICATION_STEP)
            await self.certify(handle, EMPLOYEE)
        await self.wait_for_step(handle, lv.ACKNOWLEDGEMENT_STEP)
        await self.decide(handle, SUPERVISOR, lv.ACKNOWLEDGED, step_id=lv.ACKNOWLEDGEMENT_STEP)
        await self.wait_for_step(handle, lv.APPROVAL_STEP)
        await self.decide(handle, HR_APPROVER, lv.APPROVE, step_id=lv.APPROVAL_STEP)
        return await self.wait_for(handle, lambda s: s.stage == lv.ON_LEAVE)

    # ----- the record ----------------------------------------------------------------------------

    def request_row(self, workflow_id: str) -> LeaveRequest | None:
        with Session(self.engine) as s:
            return s.get(LeaveRequest, workflow_id)

    def absence_rows(self, workflow_id: str) -> list[LeaveAbsence]:
        with Session(self.engine) as s:
            return list(
                s.exec(
                    select(LeaveAbsence)
                    .where(LeaveAbsence.leave_id == workflow_id)
                    .order_by(col(LeaveAbsence.on))
                ).all()
            )

    def certifications(self, workflow_id: str) -> list[LeaveCertification]:
        with Session(self.engine) as s:
            return list(
                s.exec(select(LeaveCertification).where(LeaveCertification.leave_id == workflow_id)).all()
            )

