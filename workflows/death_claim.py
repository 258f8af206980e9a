"""An employee's death claim: beneficiary, life-insurance claim, final benefits (seed 003: "process
death claims"; DESIGN section 5; issue 10).

Started by HR benefits staff (``hr benefits death-claim``). The story:

1. the employee's facts: HR staff, the current life-plan election (its carrier and how many
   beneficiaries it designates) and how many dependants their coverage covers;
2. one write opens the claim: the date of death on the claim row (the store, never a search
   attribute, id, summary or log), every current election ended on the last day of the month
   of death with a ``terminate`` to its carrier, every payroll deduction stopped with that
   month, and the dependants' COBRA eligibility (their number and the last day to elect);
3. with life coverage, the filing step, a human step of the HR benefits staff: ``filed`` with
   the carrier's claim number and the filing day (``hr benefits claim-filed``); reminders
   before it is due, the HR supervisor told when overdue, no default;
4. the closing write: the claim number, the beneficiaries' notice (one outbox message to each
   beneficiary designated on the life election) and the audit rows; without life coverage the
   claim closes after step 2, on record.

The rules (dates, due days, refusals) are ``workflows.rules.death_claim``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from activities.death_claim import DeathClaimActivities
    from schemas import death_claim as dc
    from schemas.decision_details import DecisionDetails, LifeClaimFiled
    from schemas.human_step import AnswerWay, DecisionInput, DuePolicy, Participant, StepState

from workflows.human_step import (
    ACTIVITY_OPTIONS,
    SYSTEM_ACTOR,
    HumanSteps,
    Withdrawn,
    audit_row,
    details_of,
    run_key,
)
from workflows.rules import death_claim as rules
from workflows.rules.human_step import DecisionRefused


async def run_local(method: Any, arg: Any) -> Any:
    return await workflow.execute_local_activity_method(method, arg, **ACTIVITY_OPTIONS)


@workflow.defn(name=dc.DEATH_CLAIM_WORKFLOW)
class DeathClaim(HumanSteps):
    @workflow.init
    def __init__(self, inp: dc.DeathClaimInput) -> None:
        self._inp = inp
        self._init_steps()
        self._stage = dc.RESOLVING
        self._facts: dc.DeathClaimFacts | None = None
        self._ends_on = rules.coverage_ends_on(inp.died_on)
        self._elect_by: Any = None
        self._claim: LifeClaimFiled | None = None
        self._told = 0
        self._outcome: str | None = None

    @workflow.run
    async def run(self, inp: dc.DeathClaimInput) -> dc.DeathClaimResult:
        self._set_stage(dc.RESOLVING)
        try:
            await self._claim_benefits(inp)
        except Withdrawn:
            withdrawal = self._withdrawal
            assert withdrawal is not None
            await self._close(
                dc.WITHDRAWN, [audit_row("claim", withdrawal.actor_id, dc.WITHDRAWN, withdrawal.reason)]
            )
        except (asyncio.CancelledError, ActivityError) as err:
            if not is_cancelled_exception(err):
                raise
            self._set_stage("cancelled")
            raise
        await workflow.wait_condition(workflow.all_handlers_finished)
        assert self._outcome is not None
        facts = self._facts
        return dc.DeathClaimResult(
            workflow_id=workflow.info().workflow_id,
            employee_id=inp.employee_id,
            outcome=self._outcome,
            claim_number=self._claim.claim_number if self._claim else None,
            beneficiaries_told=self._told,
            dependants_cobra=facts.dependants_covered if facts else 0,
        )

    async def _claim_benefits(self, inp: dc.DeathClaimInput) -> None:
        facts: dc.DeathClaimFacts = await run_local(
            DeathClaimActivities.resolve_death_claim,
            dc.DeathClaimQuery(employee_id=inp.employee_id, requested_by=inp.requested_by),
        )
        self._facts = facts
        self._hr_staff |= set(facts.hr_staff)
        now = workflow.now()
        if facts.dependants_covered:
            self._elect_by = rules.dependants_elect_by(inp.died_on, now.date())
        cobra = (
            f"{facts.dependants_covered} covered dependant(s) may continue coverage under COBRA for "
            f"{rules.DEPENDANT_COBRA_MONTHS} months"
            if facts.dependants_covered
            else "no covered dependants"
        )
        await self._write(
            dc.OPEN,
            end_coverage=True,
            audits=[
                audit_row("claim", inp.requested_by, "opened", "death claim opened"),
                audit_row(
                    "claim",
                    SYSTEM_ACTOR,
                    "coverage_ended",
                    "coverage and payroll deductions end with the month of death",
                ),
                audit_row("claim", SYSTEM_ACTOR, "dependants_cobra", cobra),
            ],
        )
        if facts.life_plan_id is None:
            await self._close(
                dc.NO_LIFE_COVERAGE,
                [audit_row("claim", SYSTEM_ACTOR, "closed", "no life coverage: no claim to file")],
            )
            return
        spec = self._step(
            dc.FILE_STEP,
            f"File the life-insurance claim of {inp.employee_id} with {facts.carrier}",
            [
                Participant(person_id=p, role="hr_benefits", escalate_to=facts.hr_supervisor_id)
                for p in facts.hr_staff
            ],
            [dc.FILED],
            rules.claim_due(now),
            answer_with=AnswerWay(command=dc.FILE_COMMAND),
            details={dc.FILED: dc.FILED_KIND},
            mode="any",
            policy=DuePolicy(fallback_approver_id=facts.hr_supervisor_id, max_overdue_reminders=2),
        )
        self._set_stage(dc.FILING)
        state = await self.run_step(spec)
        answer = next(iter(state.answers.values()))
        self._claim = details_of(answer, LifeClaimFiled)
        await self._close(
            dc.CLOSED,
            [
                audit_row(
                    "claim",
                    SYSTEM_ACTOR,
                    "beneficiary_notice",
                    f"{facts.beneficiaries} beneficiary(ies) told"
                    if facts.beneficiaries
                    else "no beneficiary designated: the carrier pays the estate",
                ),
                audit_row("claim", SYSTEM_ACTOR, "closed", f"claim {self._claim.claim_number} filed"),
            ],
            claim=True,
        )

    # ----- the filing step ---------------------------------------------------------------------

    def _check_answer_extra(
        self, state: StepState, inp: DecisionInput, details: DecisionDetails | None
    ) -> None:
        if isinstance(details, LifeClaimFiled):
            problem = rules.filed_problem(details.filed_on, self._inp.died_on, workflow.now().date())
            if problem:
                raise DecisionRefused(problem)

    def _finished(self) -> bool:
        return self._outcome is not None

    # ----- records -------------------------------------------------------------------------------

    async def _close(self, outcome: str, audits: list[Any], *, claim: bool = False) -> None:
        self._outcome = outcome
        self._set_stage(outcome)
        facts = self._facts
        filed = self._claim if claim else None
        written: dc.ClaimWritten = await self._write(
            outcome,
            audits=audits,
            claim_number=filed.claim_number if filed else None,
            filed_on=filed.filed_on if filed else None,
            filed_by=next(iter(self._steps[dc.FILE_STEP].answers.values())).actor_id if filed else None,
            notify_beneficiaries=bool(filed and facts and facts.beneficiaries),
        )
        self._told = written.beneficiaries_told

    async def _write(self, status: str, **fields: Any) -> dc.ClaimWritten:
        info = workflow.info()
        facts = self._facts
        return await run_local(  # type: ignore[no-any-return]
            DeathClaimActivities.record_death_claim,
            dc.DeathClaimRecords(
                key=run_key("claim"),
                workflow_id=info.workflow_id,
                run_id=info.first_execution_run_id,
                employee_id=self._inp.employee_id,
                died_on=self._inp.died_on,
                coverage_ends_on=self._ends_on,
                status=status,
                at=workflow.now(),
                life_plan_id=facts.life_plan_id if facts else None,
                carrier=facts.carrier if facts else None,
                beneficiaries=facts.beneficiaries if facts else 0,
                dependants_cobra=facts.dependants_covered if facts else 0,
                dependants_elect_by=self._elect_by,
                **fields,
            ),
        )

    # ----- status and visibility ---------------------------------------------------------------

    @workflow.query
    def status(self) -> dc.DeathClaimStatus:
        steps = [self._snapshot(s) for s in self._steps.values()]
        facts = self._facts
        return dc.DeathClaimStatus(
            workflow_id=workflow.info().workflow_id,
            employee_id=self._inp.employee_id,
            stage=self._stage,
            coverage_ends_on=self._ends_on,
            life_plan_id=facts.life_plan_id if facts else None,
            carrier=facts.carrier if facts else None,
            beneficiaries=facts.beneficiaries if facts else 0,
            claim_number=self._claim.claim_number if self._claim else None,
            filed_on=self._claim.filed_on if self._claim else None,
            dependants_cobra=facts.dependants_covered if facts else 0,
            dependants_elect_by=self._elect_by,
            outcome=self._outcome,
            open_steps=[s for s in steps if not s.closed],
            closed_steps=[s for s in steps if s.closed],
        )

    def _refresh_visibility(self) -> None:
        """``HrActionType``, ``HrEmployeeId``, ``HrDepartment``, ``HrStage``,
        ``HrPendingApprovers``, ``HrDueAt``; the UI's details (ids, codes and counts only)."""
        facts = self._facts
        self._write_employee_visibility(
            dc.DEATH_CLAIM_ACTION_TYPE,
            self._inp.employee_id,
            facts.department_code if facts is not None else None,
        )

    def _details(self) -> str:
        facts = self._facts
        lines = [f"**Stage:** {self._stage}", f"**Employee:** {self._inp.employee_id}"]
        if facts is not None:
            lines.append(
                f"**Life plan:** {facts.life_plan_id or 'none'} · {facts.beneficiaries} beneficiary(ies) · "
                f"{facts.dependants_covered} dependant(s) eligible for COBRA"
            )
        if self._claim is not None:
            lines.append(f"**Claim:** {self._claim.claim_number}")
        if self._outcome:
            lines.append(f"**Outcome:** {self._outcome}")
        return "\n".join(lines)
