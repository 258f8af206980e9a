"""What onboarding and probation share beyond the human step: the employee's facts, records
written as local activities, notices and audit rows built for a batch, and visibility.

Their records (task rows, work orders, the employment history, audit rows, the notices queued
with them) are single short transactions, run as local activities (``run_local``): one marker
event in the workflow task that asked for them, instead of three events and a workflow task of
their own. A step opened with others, or answered, costs one such write; reminders and
escalations keep the human step's own activities.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from activities.onboarding import OnboardingActivities
    from schemas.employment import EmployeeFacts
    from schemas.human_step import DuePolicy
    from schemas.onboarding import EmployeeQuery, EmploymentRecords, RecordsWritten
    from schemas.search_attributes import (
        HR_ACTION_TYPE,
        HR_CLASS_CODE,
        HR_DEPARTMENT,
        HR_DUE_AT,
        HR_EMPLOYEE_ID,
        HR_PENDING_APPROVERS,
        HR_STAGE,
    )

from workflows.human_step import ACTIVITY_OPTIONS, HumanSteps
from workflows.rules.human_step import pending


async def run_local(method: Callable[..., Any], arg: Any, **options: Any) -> Any:
    """Runs an activity method as a local activity with the service's options (one transaction of
    a few rows: an attempt lost with its worker is retried when the workflow task runs again)."""
    return await workflow.execute_local_activity_method(method, arg, **(ACTIVITY_OPTIONS | options))


class EmploymentSteps(HumanSteps):
    """Base of ``Onboarding`` and ``Probation``; call ``_init_employment`` from ``__init__``."""

    ACTION_TYPE = ""

    def _init_employment(self, employee_id: str) -> None:
        self._init_steps()  # HR staff come from the directory (the facts)
        self._employee_id = employee_id
        self._facts: EmployeeFacts | None = None

    def _require_facts(self) -> EmployeeFacts:
        if self._facts is None:
            raise RuntimeError("the employee's facts are not resolved yet")
        return self._facts

    async def _resolve(self, requested_by: str, purpose: str) -> EmployeeFacts:
        """The employee's facts; an unknown or separated employee fails the process for good."""
        facts: EmployeeFacts = await run_local(
            OnboardingActivities.resolve_employee,
            EmployeeQuery(employee_id=self._employee_id, requested_by=requested_by, purpose=purpose),  # type: ignore[arg-type]
        )
        self._facts = facts
        self._hr_staff |= set(facts.hr_staff)
        return facts

    def _due_policy(self) -> DuePolicy:
        """Reminders 7 and 2 days before; the overdue go to the HR supervisor unless said otherwise."""
        facts = self._facts
        return DuePolicy(fallback_approver_id=facts.hr_supervisor_id if facts else None)

    # ----- records ----------------------------------------------------------------------------

    def _records(self, **parts: Any) -> EmploymentRecords:
        info = workflow.info()
        return EmploymentRecords(
            workflow_id=info.workflow_id,
            run_id=info.first_execution_run_id,
            employee_id=self._employee_id,
            **parts,
        )

    async def _write(self, records: EmploymentRecords) -> RecordsWritten:
        return await run_local(OnboardingActivities.record_employment, records)  # type: ignore[no-any-return]

    # ----- visibility -------------------------------------------------------------------------

    def _attribute_updates(self) -> list[SearchAttributeUpdate[Any]]:
        """The process's fixed attributes: its type, the employee, department and class."""
        updates: list[SearchAttributeUpdate[Any]] = [
            HR_ACTION_TYPE.value_set(self.ACTION_TYPE),
            HR_EMPLOYEE_ID.value_set(self._employee_id),
        ]
        facts = self._facts
        if facts is not None:
            updates.append(HR_DEPARTMENT.value_set(facts.department_code))
            if facts.class_code:
                updates.append(HR_CLASS_CODE.value_set(facts.class_code))
        return updates

    def _refresh_visibility(self) -> None:
        """``HrStage``, ``HrPendingApprovers``, ``HrDueAt`` and the fixed attributes, in one upsert
        when any changed; the UI's details always.

        The due date is the earliest of the steps someone still has to answer, so that an answer
        and the closing of its step make one upsert, not two.
        """
        open_steps = self._open_steps()
        waiting = sorted({p for s in open_steps for p in pending(s.spec, s.answers)})
        due = min((s.spec.due_at for s in open_steps if pending(s.spec, s.answers)), default=None)
        wanted: dict[str, object] = {
            "stage": self._stage,
            "pending": waiting,
            "due": due,
            "facts": self._facts is not None,
        }
        if wanted != self._visible:
            updates = self._attribute_updates()
            updates.append(HR_STAGE.value_set(self._stage))
            updates.append(
                HR_PENDING_APPROVERS.value_set(waiting) if waiting else HR_PENDING_APPROVERS.value_unset()
            )
            updates.append(HR_DUE_AT.value_set(due) if due else HR_DUE_AT.value_unset())
            workflow.upsert_search_attributes(updates)
            self._visible = wanted
        workflow.set_current_details(self._details())
