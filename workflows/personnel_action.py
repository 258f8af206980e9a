"""A personnel action (issue 9; seed 000): resignation, termination, retirement, release, death,
promotion, transfer or pay change of one employee, from its request to its execution.

Request (checked and recorded under the employee's lock; a refusal ends the run at once and
writes nothing) → the approval chain in order (``workflows.rules.personnel.approval_chain``;
a rejection ends it) → a durable timer to the effective date, which HR may move
(``move_effective_date``) or cancel (the generic ``withdraw``) until it fires → the execution
in one activity (the employee record, the employment event, the payroll change; on separation
final pay, the IT work orders, the separation event; on a promotion into another class a new
``Probation``; a separation starts COBRA, a death the ``DeathClaim`` instead, under
``death-starts-death-claim``) → the work orders, tracked to completion with the IT service desk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError, is_cancelled_exception
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.personnel import PersonnelActivities
    from schemas import personnel_action as pa
    from schemas.benefits import BENEFITS_WORKFLOW, COBRA, EnrollmentInput, enrollment_workflow_id
    from schemas.death_claim import DEATH_CLAIM_WORKFLOW, DeathClaimInput, death_claim_workflow_id
    from schemas.employment import (
        PERSONNEL_ACTION_TYPE,
        PERSONNEL_ACTION_WORKFLOW,
        PROBATION_WORKFLOW,
        SEPARATIONS,
        PersonnelActionInput,
        ProbationInput,
        probation_workflow_id,
    )
    from schemas.human_step import APPROVE, REJECT, DuePolicy, Participant
    from schemas.search_attributes import (
        HR_ACTION_TYPE,
        HR_CLASS_CODE,
        HR_DEPARTMENT,
        HR_DUE_AT,
        HR_EMPLOYEE_ID,
    )

from workflows.human_step import (
    SYSTEM_ACTOR,
    HumanSteps,
    Withdrawn,
    audit,
    refused,
    run_activity,
    run_key,
    update_arg,
)
from workflows.rules import personnel as rules

STEP_TITLES = {
    pa.DIRECTOR: "Department director",
    pa.RECEIVING_DIRECTOR: "Receiving department director",
    pa.HR: "Human Resources",
    pa.FINANCE: "Finance",
}
COBRA_PATCH = "separation-starts-cobra-enrollment"
DEATH_CLAIM_PATCH = "death-starts-death-claim"
"""``workflow.patched`` id: a separation by death starts the death claim instead of COBRA."""
"""Runs started before this change replay without the COBRA enrollment (issue 10)."""
WORK_ORDER_TITLES = {
    pa.IT_DEPROVISIONING: "IT de-provisioning",
    pa.EQUIPMENT_RETURN: "Equipment return",
}


@workflow.defn(name=PERSONNEL_ACTION_WORKFLOW)
class PersonnelAction(HumanSteps):
    @workflow.init
    def __init__(self, inp: PersonnelActionInput) -> None:
        self._inp = inp
        self._init_steps()  # HR staff come from the directory's roles
        self._effective_on = inp.effective_on
        self._facts: pa.ActionFacts | None = None
        self._outcome: str | None = None
        self._outcome_reason: str | None = None
        self._moves: list[pa.DateMove] = []
        self._revision = 0
        self._moving = False
        self._executed_at: datetime | None = None
        self._work_orders: dict[str, int] = {}
        self._probation_id: str | None = None
        self._due_shown: datetime | None = None

    @workflow.run
    async def run(self, inp: PersonnelActionInput) -> pa.PersonnelActionResult:
        workflow.upsert_search_attributes(
            [HR_ACTION_TYPE.value_set(PERSONNEL_ACTION_TYPE), HR_EMPLOYEE_ID.value_set(inp.employee_id)]
        )
        self._set_stage(pa.OPENING)
        try:
            if await self._opened():
                try:
                    if await self._approved():
                        await self._set_status(pa.SCHEDULED)
                        await self._until_effective_date()
                        await self._execute()
                except Withdrawn:
                    withdrawal = self._withdrawal
                    assert withdrawal is not None
                    await self._end(pa.WITHDRAWN, f"withdrawn by {withdrawal.actor_id}: {withdrawal.reason}")
        except (asyncio.CancelledError, ActivityError) as err:
            if not is_cancelled_exception(err):
                raise
            # A Temporal cancel (not HR's audited withdraw): the record says so, then it ends. An
            # action that has executed stays executed on record (its work orders stay open there).
            self._outcome = pa.CANCELLED
            self._set_stage(pa.CANCELLED)
            if self._executed_at is None:
                await self._set_status(pa.CANCELLED, final=True)
            raise
        await workflow.wait_condition(workflow.all_handlers_finished)
        assert self._outcome is not None
        return pa.PersonnelActionResult(
            workflow_id=workflow.info().workflow_id,
            action_id=inp.action_id,
            employee_id=inp.employee_id,
            kind=inp.kind,
            outcome=self._outcome,
            reason=self._outcome_reason,
            effective_on=self._effective_on,
            probation_workflow_id=self._probation_id,
        )

    @workflow.query
    def status(self) -> pa.PersonnelActionStatus:
        steps = [self._snapshot(s) for s in self._steps.values()]
        return pa.PersonnelActionStatus(
            workflow_id=workflow.info().workflow_id,
            action_id=self._inp.action_id,
            employee_id=self._inp.employee_id,
            kind=self._inp.kind,
            stage=self._stage,
            requested_by=self._inp.requested_by,
            effective_on=self._effective_on,
            reason=self._inp.reason,
            chain=self._facts.chain if self._facts else [],
            moves=list(self._moves),
            open_steps=[s for s in steps if not s.closed],
            closed_steps=[s for s in steps if s.closed],
            outcome=self._outcome,
            outcome_reason=self._outcome_reason,
            executed_at=self._executed_at,
            work_orders=dict(self._work_orders),
            probation_workflow_id=self._probation_id,
        )

    def _finished(self) -> bool:
        """Once it executes, nothing can withdraw it (nor move its date)."""
        return self._outcome is not None or self._stage in (pa.EXECUTING, pa.WORK_ORDERS)

    # ----- HR moves the effective date ------------------------------------------------------------

    @workflow.update(name=pa.MOVE_EFFECTIVE_DATE)
    async def move_effective_date(self, *args: Any) -> pa.PersonnelActionStatus:
        """HR moves the effective date (with a reason) until the action executes; the conflict
        rules are checked again with the new date. The timer follows the new date."""
        inp = update_arg(pa.MoveEffectiveDateInput, args)
        self._check_move(inp)  # again: another Update may have come in since the validator ran
        facts = self._require_facts()
        self._moving = True  # the timer does not fire while the store is being changed
        try:
            problem = await run_activity(
                PersonnelActivities.move_personnel_action_date,
                pa.MoveDateRecord(
                    row_id=self._row_id(),
                    run_id=workflow.info().first_execution_run_id,
                    employee_id=facts.employee.employee_id,
                    kind=self._inp.kind,
                    effective_on=inp.effective_on,
                    actor_id=inp.actor_id,
                    reason=inp.reason,
                    at=workflow.now(),
                ),
            )
        finally:
            self._moving = False
        if problem is not None:
            raise refused(problem)
        move = pa.DateMove(
            actor_id=inp.actor_id,
            from_on=self._effective_on,
            to_on=inp.effective_on,
            reason=inp.reason,
            at=workflow.now(),
        )
        self._moves.append(move)
        self._effective_on = inp.effective_on
        self._revision += 1
        self._refresh_visibility()
        number = len(self._moves)
        await audit(
            "effective-date",
            inp.actor_id,
            "effective_date_moved",
            f"{move.from_on} to {move.to_on}: {inp.reason}",
            event=f"move:{number}",
        )
        await self._notify(
            None,
            "effective_date_moved",
            self._told(),
            f"move:{number}",
            extra=self._notice_params() | {"from_on": move.from_on.isoformat(), "reason": inp.reason},
        )
        return self.status()

    @move_effective_date.validator
    def _validate_move(self, *args: Any) -> None:
        self._check_move(update_arg(pa.MoveEffectiveDateInput, args))

    def _check_move(self, inp: pa.MoveEffectiveDateInput) -> None:
        self._require_hr(inp.actor_id, "move the effective date")
        if self._outcome is not None or self._withdrawal is not None:
            raise refused("the action has already ended")
        if self._stage not in (pa.APPROVAL, pa.SCHEDULED):
            raise refused(f"the action is {self._stage}: its effective date cannot move now")
        if self._moving:
            raise refused("another move of the effective date is under way; try again")
        if inp.effective_on == self._effective_on:
            raise refused(f"the action is already effective on {inp.effective_on}")
        problem = rules.date_refusal(inp.effective_on, workflow.now().date())
        if problem is not None:
            raise refused(problem)

    # ----- the story ------------------------------------------------------------------------------

    async def _opened(self) -> bool:
        """Checks and records the request; a refusal ends the run with its reason, nothing written."""
        info = workflow.info()
        opened = await run_activity(
            PersonnelActivities.open_personnel_action,
            pa.OpenActionInput(
                workflow_id=info.workflow_id,
                run_id=info.first_execution_run_id,
                action=self._inp,
                today=workflow.now().date(),
                at=workflow.now(),
            ),
        )
        if opened.refused is not None or opened.facts is None:
            self._outcome = pa.REFUSED
            self._outcome_reason = opened.refused or "refused"
            self._set_stage(pa.REFUSED)
            workflow.logger.info("personnel action refused at its request")
            return False
        self._facts = facts = opened.facts
        self._hr_staff |= set(facts.employee.hr_staff)
        attributes: list[SearchAttributeUpdate[Any]] = [
            HR_DEPARTMENT.value_set(facts.employee.department_code)
        ]
        class_code = facts.target_class_code or facts.employee.class_code
        if class_code is not None:
            attributes.append(HR_CLASS_CODE.value_set(class_code))
        workflow.upsert_search_attributes(attributes)
        await audit("request", self._inp.requested_by, "requested", self._inp.reason)
        return True

    async def _approved(self) -> bool:
        """Each approval of the chain in order; the first rejection ends the action."""
        facts = self._require_facts()
        self._set_stage(pa.APPROVAL)
        for stage in facts.chain:
            step = await self.run_step(
                self._step(
                    stage.step_id,
                    f"{STEP_TITLES.get(stage.role, stage.role)}: approve the {rules.label(self._inp.kind)} "
                    f"of {self._inp.employee_id}",
                    [Participant(person_id=p, role=stage.role) for p in stage.approvers],
                    [APPROVE, REJECT],
                    workflow.now() + timedelta(days=rules.APPROVAL_DAYS),
                    comment_required=[REJECT],
                    mode=stage.mode,
                    requester_id=self._inp.requested_by,
                )
            )
            rejections = [a for a in step.answers.values() if a.decision == REJECT]
            if rejections:
                first = rejections[0]
                await self._end(
                    pa.REJECTED, f"rejected at {stage.step_id} by {first.actor_id}: {first.comment}"
                )
                return False
        return True

    async def _until_effective_date(self) -> None:
        """The durable timer to the start of the effective date (UTC); a move restarts it, a
        withdrawal ends it. A date already reached (back-dated, or approvals that took longer)
        executes at once, as of the date on record."""
        self._set_stage(pa.SCHEDULED)
        while True:
            if self._withdrawal is not None:
                raise Withdrawn()
            delay = (rules.effective_at(self._effective_on) - workflow.now()).total_seconds()
            if delay > 0:
                try:
                    await workflow.wait_condition(
                        self._moved_or_withdrawn(), timeout=delay, timeout_summary="effective date"
                    )
                    continue
                except asyncio.TimeoutError:
                    pass
            if self._moving:
                await workflow.wait_condition(lambda: not self._moving)
                continue
            if self._withdrawal is not None:
                raise Withdrawn()
            return

    def _moved_or_withdrawn(self) -> Callable[[], bool]:
        """A wait condition: the date moved (since now) or HR withdrew the action."""
        revision = self._revision
        return lambda: self._revision != revision or self._withdrawal is not None

    async def _execute(self) -> None:
        facts = self._require_facts()
        self._set_stage(pa.EXECUTING)
        info = workflow.info()
        result = await run_activity(
            PersonnelActivities.execute_personnel_action,
            pa.ExecuteActionInput(
                key=run_key("execute"),
                workflow_id=info.workflow_id,
                run_id=info.first_execution_run_id,
                action=self._inp,
                effective_on=self._effective_on,
                facts=facts,
                at=workflow.now(),
            ),
        )
        if result.void is not None:
            await audit("execute", SYSTEM_ACTOR, "void", result.void)
            await self._end(pa.VOID, result.void, record=False)
            return
        self._executed_at = workflow.now()
        self._work_orders = dict(result.work_orders)
        await audit("execute", SYSTEM_ACTOR, "executed", result.summary)
        if self._inp.kind in SEPARATIONS and workflow.patched(COBRA_PATCH):
            if self._inp.kind == "death" and workflow.patched(DEATH_CLAIM_PATCH):
                await self._start_death_claim()
            else:
                await self._start_cobra()
        if facts.new_probation:
            await self._start_probation()
        recipients = {*self._told(), *facts.employee.payroll_ids, facts.employee.hr_supervisor_id}
        await self._notify(
            None, "action_executed", sorted(recipients), "executed", extra=self._notice_params()
        )
        if self._work_orders:
            self._set_stage(pa.WORK_ORDERS)
            await asyncio.gather(*(self._work_order(kind, wo) for kind, wo in self._work_orders.items()))
        self._outcome = pa.EXECUTED
        self._set_stage(pa.EXECUTED)

    async def _work_order(self, kind: str, work_order_id: int) -> None:
        """A work order of the IT service desk, tracked to completion (any desk member answers)."""
        facts = self._require_facts()
        step = await self.run_step(
            self._step(
                f"work-order-{kind.replace('_', '-')}",
                f"{WORK_ORDER_TITLES.get(kind, kind)} for {self._inp.employee_id} "
                f"(work order {work_order_id})",
                [
                    Participant(person_id=p, role="it_service_desk")
                    for p in facts.employee.it_service_desk_ids
                ],
                [pa.DONE],
                workflow.now() + timedelta(days=rules.WORK_ORDER_DAYS.get(kind, 5)),
                mode="any",
            )
        )
        answer = step.answer()
        await run_activity(
            PersonnelActivities.close_work_order,
            pa.WorkOrderDoneInput(
                work_order_id=work_order_id, done_by=answer.actor_id, done_at=answer.at, note=answer.comment
            ),
        )

    async def _start_probation(self) -> None:
        """A new probation in the new classification: started by its type name, not awaited."""
        probation_id = probation_workflow_id(self._inp.employee_id, self._effective_on)
        try:
            await workflow.start_child_workflow(
                PROBATION_WORKFLOW,
                ProbationInput(
                    employee_id=self._inp.employee_id,
                    starts_on=self._effective_on,
                    requested_by=self._inp.requested_by,
                    reason="promotion",
                    length=self._inp.probation,
                ),
                id=probation_id,
                parent_close_policy=ParentClosePolicy.ABANDON,
                static_summary=f"Probation of {self._inp.employee_id} after promotion",
            )
            action = "probation_started"
        except WorkflowAlreadyStartedError:
            action = "probation_already_started"
        self._probation_id = probation_id
        await audit("execute", SYSTEM_ACTOR, action, probation_id)

    async def _start_cobra(self) -> None:
        """A separation starts the COBRA enrollment (notice, 60-day election window), not awaited;
        its own records (``cobranotice``, ``benefitenrollment``) say so."""
        inp = self._inp
        enrollment_id = enrollment_workflow_id(inp.employee_id, COBRA, self._effective_on)
        try:
            await workflow.start_child_workflow(
                BENEFITS_WORKFLOW,
                EnrollmentInput(
                    employee_id=inp.employee_id,
                    event=COBRA,
                    event_on=self._effective_on,
                    requested_by=inp.requested_by,
                ),
                id=enrollment_id,
                parent_close_policy=ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=f"COBRA enrollment of {inp.employee_id} after {inp.kind}",
            )
        except WorkflowAlreadyStartedError:
            pass  # this separation's COBRA enrollment runs already

    async def _start_death_claim(self) -> None:
        """A separation by death starts the death claim (its effective date is the date of
        death), not awaited; the claim's own records (``deathclaim``) say how it ends."""
        inp = self._inp
        claim_id = death_claim_workflow_id(inp.employee_id)
        try:
            await workflow.start_child_workflow(
                DEATH_CLAIM_WORKFLOW,
                DeathClaimInput(
                    employee_id=inp.employee_id, died_on=self._effective_on, requested_by=inp.requested_by
                ),
                id=claim_id,
                parent_close_policy=ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=f"Death claim of {inp.employee_id}",
            )
            action = "death_claim_started"
        except WorkflowAlreadyStartedError:
            action = "death_claim_already_started"  # HR opened it with `hr benefits death-claim`
        await audit("execute", SYSTEM_ACTOR, action, claim_id)

    async def _end(self, outcome: str, reason: str, *, record: bool = True) -> None:
        """An action that ends without executing: rejected, withdrawn or void."""
        self._outcome = outcome
        self._outcome_reason = reason
        self._set_stage(outcome)
        if record:
            await self._set_status(outcome, final=True)
        await self._notify(
            None,
            "outcome",
            self._told(),
            outcome,
            extra=self._notice_params() | {"outcome": f"{outcome}: {reason}"},
        )

    # ----- records, notices, visibility -------------------------------------------------------------

    async def _set_status(self, status: str, *, final: bool = False) -> None:
        if self._facts is None:
            return  # refused: nothing on record
        await run_activity(
            PersonnelActivities.set_personnel_action_status,
            pa.ActionStatusInput(
                row_id=self._row_id(),
                run_id=workflow.info().first_execution_run_id,
                status=status,
                at=workflow.now(),
                final=final,
            ),
        )

    def _told(self) -> list[str]:
        """Who hears of the action's course: the requester and the employee."""
        return sorted({self._inp.requested_by, self._inp.employee_id})

    def _notice_params(self) -> dict[str, str]:
        return {
            "kind": rules.label(self._inp.kind),
            "employee_id": self._inp.employee_id,
            "effective_on": self._effective_on.isoformat(),
        }

    def _row_id(self) -> str:
        return pa.action_row_id(self._inp.employee_id, self._inp.action_id)

    def _require_facts(self) -> pa.ActionFacts:
        assert self._facts is not None, "the request is opened first"
        return self._facts

    def _due_policy(self) -> DuePolicy:
        """Overdue approvers and desk members are reported to the HR supervisor."""
        return DuePolicy(fallback_approver_id=self._facts.employee.hr_supervisor_id if self._facts else None)

    def _refresh_visibility(self) -> None:
        """As every process, plus ``HrDueAt`` = the effective date while the action waits for it."""
        super()._refresh_visibility()
        due = rules.effective_at(self._effective_on) if self._stage == pa.SCHEDULED else None
        if due is not None and due != self._due_shown:
            workflow.upsert_search_attributes([HR_DUE_AT.value_set(due)])
        self._due_shown = due

    def _details(self) -> str:
        lines = super()._details().splitlines()
        lines.insert(
            1,
            f"**Action:** {rules.label(self._inp.kind)} of {self._inp.employee_id}, effective "
            f"{self._effective_on.isoformat()}",
        )
        return "\n".join(lines)
