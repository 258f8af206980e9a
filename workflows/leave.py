"""A leave: request, eligibility, certification, acknowledgement and approval, designation, the
absences taken against the entitlement, then return to work, extension or referral (DESIGN
section 5 "Leave"; seeds 003, 000).

1. The request (type, continuous or intermittent, dates, hours) is checked against the store:
   a requester who is neither HR nor the employee, or dates that overlap an approved leave, end
   the run as ``refused`` with nothing written.
2. Eligibility from tenure and the hours worked in the last twelve months (``rules.leave``);
   not eligible: the employee and the requester are told why.
3. The certification (every type but ``other``) is due 15 days after the request: the employee
   or HR submits it (``submit_certification``, ``hr leave certify``); reminders before the due
   date, escalation to the HR supervisor at it, and three days later the decision it defaults
   to: ``not_received``, which denies the leave.
4. A workers' compensation leave waits for the third-party administrator's decision on its
   claim (``tpa-claim``: accept or deny, with the claim number).
5. The supervisor acknowledges; HR approves (or denies, with a reason). Approval records the
   designation (refused if another approved leave now overlaps) and sends the designation notice.
6. During the leave each absence is recorded (``record_absence``, ``hr leave absence``): inside
   the leave, hours of a day, never beyond the remaining entitlement (twelve weeks of the
   schedule in a rolling twelve months, counted backward from each absence, with the absences
   of the employee's earlier leaves). An exhausted entitlement, or a case HR flags as difficult
   (``flag_difficult``), goes to the benefits representative (``referral``).
7. At the end HR records the return to work (with the fitness-for-duty certificate's date where
   required) or extends the leave (``return-<n>``).

Medical details pass through Update and activity payloads only (encrypted by the codec); the
workflow keeps none of them, and its id, search attributes, summary, details and logs carry ids,
dates and hours.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from activities.leave import LeaveActivities
    from schemas import leave as lv
    from schemas.decision_details import DecisionDetails, FitnessForDuty, LeaveExtension, TpaClaim
    from schemas.human_step import (
        Answer,
        AnswerWay,
        AuditInput,
        DecisionInput,
        NotifyInput,
        Participant,
        StepState,
    )

from workflows.employment_steps import EmploymentSteps, run_local
from workflows.human_step import (
    SYSTEM_ACTOR,
    Withdrawn,
    audit_row,
    details_of,
    refused,
    run_key,
    signed_by,
    update_arg,
)
from workflows.rules import leave as rules
from workflows.rules.human_step import DecisionRefused

CERTIFY_COMMAND = "hr leave certify"
DECIDE_COMMAND = "hr leave decide"
TPA_DAYS = 14


@workflow.defn(name="Leave")
class Leave(EmploymentSteps):
    ACTION_TYPE = lv.LEAVE_ACTION_TYPE

    @workflow.init
    def __init__(self, inp: lv.LeaveInput) -> None:
        self._inp = inp
        self._init_employment(inp.employee_id)
        self._stage = lv.REQUESTED
        self._leave: lv.LeaveFacts | None = None
        self._ends_on = inp.ends_on
        self._requested_hours = rules.requested_hours(
            inp.schedule, inp.starts_on, inp.ends_on, inp.weekly_hours, inp.hours
        )
        self._entitlement = rules.entitlement_hours(inp.weekly_hours)
        self._eligibility: rules.Eligibility | None = None
        self._prior: list[rules.Absence] = []
        self._absences: list[rules.Absence] = []
        self._certification_due_at: Any = None
        self._certified_by: str | None = None
        self._certified_at: Any = None
        self._fitness_says: bool | None = None
        self._acknowledged_by: str | None = None
        self._approved_by: str | None = None
        self._designated_on: date | None = None
        self._tpa_claim: str | None = None
        self._tpa_decision: str | None = None
        self._difficult: lv.DifficultInput | None = None
        self._referred_to: str | None = None
        self._extensions: list[lv.Extension] = []
        self._returned_on: date | None = None
        self._fitness_on: date | None = None
        self._outcome: str | None = None
        self._outcome_reason: str | None = None
        self._rounds = 0

    @workflow.run
    async def run(self, inp: lv.LeaveInput) -> lv.LeaveResult:
        try:
            if await self._opened():
                await self._through_the_steps()
        except Withdrawn:
            assert self._withdrawal is not None
            await self._finish(lv.WITHDRAWN, self._withdrawal.reason, notify=False)
        except (asyncio.CancelledError, ActivityError) as err:
            if not is_cancelled_exception(err):
                raise
            self._outcome = lv.CANCELLED
            self._set_stage(lv.CANCELLED)
            if self._leave is not None:
                await self._save(
                    leave=self._row(lv.CANCELLED),
                    audits=[audit_row("process", SYSTEM_ACTOR, "cancelled", None)],
                )
            raise
        outcome = self._outcome
        assert outcome is not None
        self._set_stage(outcome)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return lv.LeaveResult(
            workflow_id=workflow.info().workflow_id,
            employee_id=inp.employee_id,
            outcome=outcome,
            outcome_reason=self._outcome_reason,
            used_hours=self._used(),
            remaining_hours=self._remaining(),
        )

    async def _opened(self) -> bool:
        """The request checked against the store; a refusal ends the run, nothing written."""
        opened: lv.LeaveOpened = await run_local(
            LeaveActivities.resolve_leave,
            lv.LeaveQuery(workflow_id=workflow.info().workflow_id, leave=self._inp),
        )
        if opened.refused is not None or opened.facts is None:
            self._outcome, self._outcome_reason = lv.REFUSED, opened.refused or "refused"
            self._set_stage(lv.REFUSED)
            workflow.logger.info("leave refused at its request")
            return False
        self._leave = opened.facts
        self._facts = opened.facts.employee
        self._hr_staff |= set(opened.facts.employee.hr_staff)
        self._prior = [rules.Absence(a.on, a.hours) for a in opened.facts.prior_absences]
        problem = rules.request_problem(
            self._inp.schedule,
            self._inp.starts_on,
            self._inp.ends_on,
            self._inp.hours,
            self._inp.weekly_hours,
        )
        if problem:
            self._outcome, self._outcome_reason = lv.REFUSED, problem
            self._set_stage(lv.REFUSED)
            return False
        self._refresh_visibility()
        await self._save(
            leave=self._row(lv.REQUESTED),
            audits=[
                audit_row(
                    "request",
                    self._inp.requested_by,
                    "requested",
                    f"{self._inp.schedule}, {self._inp.starts_on} to {self._inp.ends_on}, "
                    f"{self._requested_hours:g} hours",
                )
            ],
        )
        return True

    async def _through_the_steps(self) -> None:
        facts = self._require_leave()
        self._eligibility = eligibility = rules.eligibility(
            facts.service_start, facts.hours_worked, self._inp.starts_on
        )
        if not eligibility.eligible:
            await self._finish(lv.INELIGIBLE, "; ".join(eligibility.reasons))
            return
        if rules.needs_certification(self._inp.leave_type) and not await self._certified():
            await self._finish(lv.DENIED, f"no certification by {self._certification_due_at:%Y-%m-%d}")
            return
        if self._inp.leave_type == rules.WORKERS_COMP and not await self._claim_accepted():
            await self._finish(lv.DENIED, f"the third-party administrator denied claim {self._tpa_claim}")
            return
        await self._acknowledged()
        approval = await self._approval()
        if approval.decision != lv.APPROVE:
            await self._finish(lv.DENIED, approval.comment)
            return
        if not await self._designated(approval):
            return
        await self._during_leave()

    # ----- before the leave ----------------------------------------------------------------------

    def _hr_participants(self) -> list[Participant]:
        facts = self._require_facts()
        return [
            Participant(person_id=p, role="hr_supervisor" if p == facts.hr_supervisor_id else "hr")
            for p in facts.hr_staff
            if p != self._employee_id
        ]

    def _supervisor(self) -> str:
        facts = self._require_facts()
        return facts.supervisor_id or facts.department_director_id or facts.hr_supervisor_id

    def _period(self) -> str:
        return f"{self._inp.starts_on} to {self._ends_on}"

    async def _certified(self) -> bool:
        """The certification by its due date; none after reminders and escalation: not received."""
        facts = self._require_facts()
        self._certification_due_at = rules.certification_due(workflow.now())
        self._set_stage(lv.CERTIFICATION)
        await self._save(leave=self._row(lv.CERTIFICATION))
        step = await self.run_step(
            self._step(
                lv.CERTIFICATION_STEP,
                f"Submit the certification for {self._employee_id}'s leave ({self._period()})",
                [
                    Participant(
                        person_id=self._employee_id,
                        role="employee",
                        escalate_to=facts.hr_supervisor_id,
                        default_decision=lv.NOT_RECEIVED,
                    ),
                    *self._hr_participants(),
                ],
                [lv.CERTIFIED],
                self._certification_due_at,
                answer_with=AnswerWay(update=lv.SUBMIT_CERTIFICATION, command=CERTIFY_COMMAND),
                mode="any",
            )
        )
        return step.answer().decision == lv.CERTIFIED

    async def _claim_accepted(self) -> bool:
        """The third-party administrator accepts or denies the workers' compensation claim."""
        facts = self._require_leave()
        self._set_stage(lv.TPA)
        await self._save(leave=self._row(lv.TPA))
        people = [Participant(person_id=p, role="third_party_administrator") for p in facts.tpa_ids]
        step = await self.run_step(
            self._step(
                lv.TPA_STEP,
                f"Decide the workers' compensation claim of {self._employee_id} ({self._period()})",
                people or self._hr_participants(),
                [lv.ACCEPT, lv.DENY],
                workflow.now() + timedelta(days=TPA_DAYS),
                answer_with=AnswerWay(command=DECIDE_COMMAND),
                details={lv.ACCEPT: "tpa_claim", lv.DENY: "tpa_claim"},
                mode="any",
            )
        )
        answer = step.answer()
        self._tpa_claim = details_of(answer, TpaClaim).claim_number
        self._tpa_decision = answer.decision
        await self._save(leave=self._row(lv.TPA))
        return answer.decision == lv.ACCEPT

    async def _acknowledged(self) -> None:
        facts = self._require_facts()
        self._set_stage(lv.ACKNOWLEDGEMENT)
        await self._save(leave=self._row(lv.ACKNOWLEDGEMENT))
        step = await self.run_step(
            self._step(
                lv.ACKNOWLEDGEMENT_STEP,
                f"Acknowledge {self._employee_id}'s leave ({self._period()})",
                [
                    Participant(
                        person_id=self._supervisor(), role="supervisor", escalate_to=facts.hr_supervisor_id
                    )
                ],
                [lv.ACKNOWLEDGED],
                workflow.now() + timedelta(days=rules.ACKNOWLEDGE_DAYS),
                answer_with=AnswerWay(command=DECIDE_COMMAND),
            )
        )
        self._acknowledged_by = step.answer().actor_id

    async def _approval(self) -> Answer:
        self._set_stage(lv.APPROVAL)
        await self._save(leave=self._row(lv.APPROVAL))
        step = await self.run_step(
            self._step(
                lv.APPROVAL_STEP,
                f"Approve or deny {self._employee_id}'s leave ({self._period()})",
                self._hr_participants(),
                [lv.APPROVE, lv.DENY],
                workflow.now() + timedelta(days=rules.APPROVAL_DAYS),
                answer_with=AnswerWay(command=DECIDE_COMMAND),
                comment_required=[lv.DENY],
                mode="any",
                requester_id=self._inp.requested_by,
            )
        )
        return step.answer()

    async def _designated(self, approval: Answer) -> bool:
        """Records the approval and sends the designation notice; refused (nothing written) when
        another approved leave of the employee now overlaps."""
        self._approved_by = approval.actor_id
        self._designated_on = workflow.now().date()
        self._set_stage(lv.ON_LEAVE)
        written: lv.LeaveWritten = await self._save(
            leave=self._row(lv.ON_LEAVE),
            approving=True,
            audits=[audit_row("designation", SYSTEM_ACTOR, "designated", self._period())],
            notices=[
                self._notice(
                    None,
                    "leave_designation",
                    [self._employee_id, self._supervisor()],
                    "designated",
                    {
                        "employee_id": self._employee_id,
                        "starts_on": self._inp.starts_on.isoformat(),
                        "ends_on": self._ends_on.isoformat(),
                        "schedule": self._inp.schedule,
                        "entitlement_hours": f"{self._entitlement:g}",
                        "remaining_hours": f"{self._remaining():g}",
                        "command": "hr leave absence",
                    },
                )
            ],
        )
        if written.refused is not None:
            self._approved_by = self._designated_on = None
            await self._finish(lv.REFUSED, written.refused)
            return False
        return True

    # ----- during the leave ----------------------------------------------------------------------

    async def _during_leave(self) -> None:
        """Absences until the end; then return or extension. Exhausted, or flagged difficult:
        referral to the benefits representative."""
        while True:
            self._set_stage(lv.ON_LEAVE)
            delay = (rules.end_of(self._ends_on) - workflow.now()).total_seconds()
            if delay > 0:
                try:
                    await workflow.wait_condition(
                        lambda: (
                            self._withdrawal is not None or self._exhausted() or self._difficult is not None
                        ),
                        timeout=delay,
                    )
                except asyncio.TimeoutError:
                    pass
            if self._withdrawal is not None:
                raise Withdrawn()
            if self._exhausted() or self._difficult is not None:
                await self._refer()
                return
            if await self._returned():
                return

    async def _returned(self) -> bool:
        """HR records the return (with the fitness-for-duty certificate where required) or an
        extension. Returns False after an extension."""
        self._rounds += 1
        self._set_stage(lv.RETURN)
        await self._save(leave=self._row(lv.RETURN))
        fitness = rules.needs_fitness_for_duty(self._inp.leave_type, self._fitness_says)
        details = {lv.EXTEND: "leave_extension"} | ({lv.RETURNED: "fitness_for_duty"} if fitness else {})
        step = await self.run_step(
            self._step(
                f"{lv.RETURN_PREFIX}{self._rounds}",
                f"Record {self._employee_id}'s return to work after the leave ending {self._ends_on}"
                + (" (fitness-for-duty certificate required)" if fitness else "")
                + ", or extend it",
                self._hr_participants(),
                [lv.RETURNED, lv.EXTEND],
                workflow.now() + timedelta(days=rules.RETURN_DAYS),
                answer_with=AnswerWay(command=DECIDE_COMMAND),
                comment_required=[lv.EXTEND],
                details=details,
                mode="any",
            )
        )
        answer = step.answer()
        if answer.decision == lv.EXTEND:
            extension = details_of(answer, LeaveExtension)
            self._extensions.append(
                lv.Extension(
                    from_ends_on=self._ends_on,
                    to_ends_on=extension.ends_on,
                    by=answer.actor_id,
                    reason=answer.comment,
                )
            )
            before, self._ends_on = self._ends_on, extension.ends_on
            await self._save(
                leave=self._row(lv.ON_LEAVE),
                audits=[audit_row("leave", answer.actor_id, "extended", f"{before} to {self._ends_on}")],
                notices=[
                    self._outcome_notice(f"leave extended to {self._ends_on}", f"extended:{self._rounds}")
                ],
            )
            return False
        self._returned_on = workflow.now().date()
        if fitness:
            self._fitness_on = details_of(answer, FitnessForDuty).certified_on
        await self._finish(lv.RETURNED, f"back at work on {self._returned_on}")
        return True

    async def _refer(self) -> None:
        """The benefits representative takes the case: entitlement exhausted, or difficult."""
        facts = self._require_leave()
        why = "the entitlement is exhausted" if self._exhausted() else "HR flagged the case as difficult"
        self._referred_to = facts.benefits_rep_id
        self._set_stage(lv.REFERRAL)
        await self._save(
            leave=self._row(lv.REFERRAL),
            audits=[audit_row(lv.REFERRAL_STEP, SYSTEM_ACTOR, "referred", f"to {self._referred_to}: {why}")],
        )
        step = await self.run_step(
            self._step(
                lv.REFERRAL_STEP,
                f"Take over {self._employee_id}'s leave case ({self._period()}): {why}; "
                f"{self._remaining():g} of {self._entitlement:g} hours left",
                [
                    Participant(
                        person_id=self._referred_to,
                        role="benefits_representative",
                        escalate_to=facts.employee.hr_supervisor_id,
                    )
                ],
                [lv.ACCEPTED],
                workflow.now() + timedelta(days=rules.REFERRAL_DAYS),
                answer_with=AnswerWay(command=DECIDE_COMMAND),
            )
        )
        await self._finish(lv.REFERRED, f"{why}; taken by {step.answer().actor_id}")

    # ----- the end -------------------------------------------------------------------------------

    async def _finish(self, outcome: str, reason: str | None, notify: bool = True) -> None:
        self._outcome, self._outcome_reason = outcome, reason
        self._set_stage(outcome)
        text = outcome + (f": {reason}" if reason and outcome != lv.DENIED else "")
        notices = [self._outcome_notice(text)] if notify else []
        await self._save(
            leave=self._row(outcome),
            audits=[audit_row("process", SYSTEM_ACTOR, outcome, reason)],
            notices=notices,
        )

    def _outcome_notice(self, outcome: str, key: str = "outcome") -> NotifyInput:
        """To the employee and the requester (and the supervisor once they acknowledged). A
        denial's reason (HR's comment) stays in the audit, not in mail."""
        people = [self._employee_id, self._inp.requested_by]
        if self._acknowledged_by:
            people.append(self._supervisor())
        return self._notice(None, "outcome", people, key, {"outcome": outcome})

    def _finished(self) -> bool:
        return self._outcome is not None

    # ----- the entitlement -----------------------------------------------------------------------

    def _balance_on(self) -> date:
        today = workflow.now().date()
        latest = max((a.on for a in self._absences), default=today)
        return max(today, latest)

    def _used(self) -> float:
        return rules.used_in_window(self._prior + self._absences, self._balance_on())

    def _remaining(self) -> float:
        return rules.remaining_on(self._prior + self._absences, self._balance_on(), self._entitlement)

    def _exhausted(self) -> bool:
        if not self._absences:
            return False
        last = max(a.on for a in self._absences)
        return rules.is_exhausted(self._prior + self._absences, last, self._entitlement)

    # ----- Updates: certification, absences, a difficult case --------------------------------------

    @workflow.update(name=lv.SUBMIT_CERTIFICATION)
    async def submit_certification(self, *args: Any) -> lv.LeaveStatus:
        """The employee or HR submits the certification; its contents go to the store only."""
        inp = update_arg(lv.CertificationInput, args)
        self._check_certification(inp)
        state, answer = self._accept(lv.SUBMIT_CERTIFICATION, self._as_decision(inp))
        self._certified_by, self._certified_at = inp.actor_id, workflow.now()
        self._fitness_says = inp.fitness_for_duty_required
        await self._save(
            certification=lv.CertificationRecord(
                key=run_key(lv.CERTIFICATION_STEP, "received"),
                submitted_by=inp.actor_id,
                provider=inp.provider,
                diagnosis=inp.diagnosis,
                incapacity_from=inp.incapacity_from,
                incapacity_to=inp.incapacity_to,
                fitness_for_duty_required=inp.fitness_for_duty_required,
                at=workflow.now(),
            ),
            audits=[
                audit_row(
                    lv.CERTIFICATION_STEP,
                    inp.actor_id,
                    lv.CERTIFIED,
                    inp.comment,
                    on_behalf_of=answer.person_id if answer.person_id != inp.actor_id else None,
                    event=f"answer:{answer.person_id}",
                )
            ],
        )
        return self.status()

    @submit_certification.validator
    def _validate_submit_certification(self, *args: Any) -> None:
        self._check_certification(update_arg(lv.CertificationInput, args))

    @staticmethod
    def _as_decision(inp: lv.CertificationInput) -> DecisionInput:
        return DecisionInput(
            actor_id=inp.actor_id, decision=lv.CERTIFIED, step_id=lv.CERTIFICATION_STEP, comment=inp.comment
        )

    def _check_certification(self, inp: lv.CertificationInput) -> StepState:
        """From the employee or HR staff only; while the certification step is open."""
        if self._facts is None:
            raise refused("the leave has not started yet")
        if inp.actor_id != self._employee_id and inp.actor_id not in self._hr_staff:
            raise refused(
                f"{inp.actor_id} is neither the employee {self._employee_id} nor HR staff: "
                "a certification comes from one of them"
            )
        state = self._steps.get(lv.CERTIFICATION_STEP)
        if state is None or state.closed:
            raise refused(f"no certification is awaited (the leave is at {self._stage})")
        if inp.incapacity_from and inp.incapacity_to and inp.incapacity_to < inp.incapacity_from:
            raise refused("the incapacity ends before it starts")
        self._checked(lv.SUBMIT_CERTIFICATION, self._as_decision(inp))
        return state

    @workflow.update(name=lv.RECORD_ABSENCE)
    async def record_absence(self, *args: Any) -> lv.LeaveStatus:
        """An absence during the leave, counted against the entitlement."""
        inp = update_arg(lv.AbsenceInput, args)
        new = self._check_absence(inp)
        first = len(self._absences)
        self._absences += new
        self._refresh_visibility()
        now = workflow.now()
        await self._save(
            absences=[
                lv.AbsenceRecord(
                    key=run_key("absence", str(first + n)),
                    on=a.on,
                    hours=a.hours,
                    recorded_by=inp.actor_id,
                    at=now,
                )
                for n, a in enumerate(new)
            ],
            audits=[
                audit_row(
                    "absence",
                    inp.actor_id,
                    "absence_recorded",
                    f"{sum(a.hours for a in new):g} hours, {new[0].on} to {new[-1].on}; "
                    f"{self._remaining():g} of {self._entitlement:g} hours left",
                    event=f"absence:{first}",
                )
            ],
        )
        return self.status()

    @record_absence.validator
    def _validate_record_absence(self, *args: Any) -> None:
        self._check_absence(update_arg(lv.AbsenceInput, args))

    def _check_absence(self, inp: lv.AbsenceInput) -> list[rules.Absence]:
        """During an approved leave; the employee, their supervisor or HR; inside the leave, hours
        of a day, within the remaining entitlement (the refusal names the balance)."""
        if self._stage not in (lv.ON_LEAVE, lv.RETURN) or self._outcome is not None:
            raise refused(f"absences are recorded during an approved leave; this one is at {self._stage}")
        if inp.actor_id not in {self._employee_id, self._supervisor(), *self._hr_staff}:
            raise refused(f"{inp.actor_id} may not record {self._employee_id}'s absences")
        signed_by(inp.actor_id)  # the credential names the actor
        problem = rules.absence_problem(inp.on, inp.through, inp.hours, self._inp.starts_on, self._ends_on)
        if problem:
            raise refused(problem)
        new = rules.absences_for(inp.on, inp.through, inp.hours, self._inp.schedule)
        for absence in new:
            taken = sum(a.hours for a in self._absences if a.on == absence.on)
            if taken + absence.hours > rules.MAX_DAILY_HOURS:
                raise refused(f"{absence.on} already has {taken:g} hours recorded; a day has 24")
        problem = rules.usage_problem(self._prior + self._absences, new, self._entitlement)
        if problem:
            raise refused(problem)
        return new

    @workflow.update(name=lv.FLAG_DIFFICULT)
    async def flag_difficult(self, *args: Any) -> lv.LeaveStatus:
        """HR flags the case as difficult: it is referred to the benefits representative."""
        inp = update_arg(lv.DifficultInput, args)
        self._check_difficult(inp)
        self._difficult = inp
        await self._save(
            audits=[audit_row("leave", inp.actor_id, "flagged_difficult", inp.reason, event="difficult")]
        )
        return self.status()

    @flag_difficult.validator
    def _validate_flag_difficult(self, *args: Any) -> None:
        self._check_difficult(update_arg(lv.DifficultInput, args))

    def _check_difficult(self, inp: lv.DifficultInput) -> None:
        self._require_hr(inp.actor_id, "flag a leave as difficult")
        if self._stage != lv.ON_LEAVE or self._outcome is not None:
            raise refused(f"a case is referred during the leave; this one is at {self._stage}")
        if self._difficult is not None:
            raise refused(f"the case is already flagged by {self._difficult.actor_id}")

    def _check_answer_extra(
        self, state: StepState, inp: DecisionInput, details: DecisionDetails | None
    ) -> None:
        """An extension moves the end later (and within two years of the start)."""
        if isinstance(details, LeaveExtension):
            problem = rules.extension_problem(self._ends_on, details.ends_on, self._inp.starts_on)
            if problem:
                raise DecisionRefused(problem)

    # ----- records and views ---------------------------------------------------------------------

    def _require_leave(self) -> lv.LeaveFacts:
        if self._leave is None:
            raise RuntimeError("the leave's facts are not resolved yet")
        return self._leave

    def _row(self, status: str) -> lv.LeaveRow:
        inp = self._inp
        return lv.LeaveRow(
            leave_id=workflow.info().workflow_id,
            leave_type=inp.leave_type,
            schedule=inp.schedule,
            starts_on=inp.starts_on,
            ends_on=self._ends_on,
            requested_hours=self._requested_hours,
            weekly_hours=inp.weekly_hours,
            entitlement_hours=self._entitlement,
            status=status,
            requested_by=inp.requested_by,
            reason=inp.reason,
            eligible=self._eligibility.eligible if self._eligibility else None,
            tpa_claim_number=self._tpa_claim,
            tpa_decision=self._tpa_decision,
            designated_on=self._designated_on,
            returned_on=self._returned_on,
            fitness_for_duty_on=self._fitness_on,
            referred_to=self._referred_to,
            at=workflow.now(),
        )

    async def _save(
        self,
        *,
        leave: lv.LeaveRow | None = None,
        approving: bool = False,
        certification: lv.CertificationRecord | None = None,
        absences: list[lv.AbsenceRecord] | None = None,
        audits: list[AuditInput] | None = None,
        notices: list[NotifyInput] | None = None,
    ) -> lv.LeaveWritten:
        info = workflow.info()
        records = lv.LeaveRecords(
            workflow_id=info.workflow_id,
            run_id=info.first_execution_run_id,
            employee_id=self._employee_id,
            leave=leave,
            approving=approving,
            certification=certification,
            absences=absences or [],
            audits=audits or [],
            notices=notices or [],
        )
        return await run_local(LeaveActivities.record_leave, records)  # type: ignore[no-any-return]

    @workflow.query
    def status(self) -> lv.LeaveStatus:
        steps = [self._snapshot(s) for s in self._steps.values()]
        e = self._eligibility
        return lv.LeaveStatus(
            workflow_id=workflow.info().workflow_id,
            employee_id=self._employee_id,
            leave_type=self._inp.leave_type,
            schedule=self._inp.schedule,
            starts_on=self._inp.starts_on,
            ends_on=self._ends_on,
            requested_by=self._inp.requested_by,
            requested_hours=self._requested_hours,
            stage=self._stage,
            eligible=e.eligible if e else None,
            eligibility_reasons=list(e.reasons) if e else [],
            service_months=e.service_months if e else None,
            hours_worked=e.hours_worked if e else None,
            certification_due_at=self._certification_due_at,
            certified_by=self._certified_by,
            certified_at=self._certified_at,
            fitness_for_duty_required=(
                rules.needs_fitness_for_duty(self._inp.leave_type, self._fitness_says)
                if self._certified_by or not rules.needs_certification(self._inp.leave_type)
                else None
            ),
            supervisor_id=self._supervisor() if self._facts else None,
            acknowledged_by=self._acknowledged_by,
            approved_by=self._approved_by,
            designated_on=self._designated_on,
            tpa_claim_number=self._tpa_claim,
            tpa_decision=self._tpa_decision,
            entitlement_hours=self._entitlement,
            used_hours=self._used(),
            remaining_hours=self._remaining(),
            balance_on=self._balance_on(),
            absences=[lv.AbsenceDay(on=a.on, hours=a.hours) for a in self._absences],
            difficult=self._difficult is not None,
            referred_to=self._referred_to,
            extensions=list(self._extensions),
            returned_on=self._returned_on,
            outcome=self._outcome,
            outcome_reason=self._outcome_reason,
            open_steps=[s for s in steps if not s.closed],
            closed_steps=[s for s in steps if s.closed],
        )

    def _details(self) -> str:
        """Ids, dates and hours only: no type, reason or diagnosis."""
        lines = [super()._details(), f"**Employee:** {self._employee_id}; leave {self._period()}"]
        if self._designated_on is not None:
            lines.append(
                f"**Entitlement:** {self._remaining():g} of {self._entitlement:g} hours left "
                f"(rolling twelve months to {self._balance_on()})"
            )
        if self._outcome is not None:
            lines.append(f"**Outcome:** {self._outcome}")
        return "\n".join(lines)
