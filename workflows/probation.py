"""A probation: a durable timer from the start date, then the supervisor's decision with HR's
concurrence (DESIGN section 5; seed 004).

The length is the classification's months (six by default; ``rules.onboarding``). Before the end
the supervisor is reminded 30 and 14 days ahead (notices). Where the position requires CJIS
clearance, HR records it (``record_cjis``, ``hr probation cjis``) at any time; missing 30 days
before the end, it is escalated to the HR supervisor. At the end the supervisor decides
(``decision-<n>``): pass, extend once (by a stated number of days, with a reason) or release (with
a reason); HR concurs or returns it (``concurrence-<n>``). A pass makes the employee permanent,
once the CJIS clearance is on record where required (the ``cjis`` step waits for it); a release
starts the personnel action that separates them (``PersonnelAction``, kind ``release``, effective
today) and does not wait for it.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, is_cancelled_exception
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from schemas import onboarding as ob
    from schemas.decision_details import DecisionDetails, ProbationExtension
    from schemas.employment import (
        PERMANENT,
        PERSONNEL_ACTION_WORKFLOW,
        PersonnelActionInput,
        ProbationInput,
        action_workflow_id,
    )
    from schemas.human_step import Answer, AnswerWay, DecisionInput, Participant, StepState

from workflows.employment_steps import EmploymentSteps
from workflows.human_step import SYSTEM_ACTOR, Withdrawn, audit_row, details_of, refused, run_key, update_arg
from workflows.rules import onboarding as rules
from workflows.rules.human_step import DecisionRefused

DECIDE_COMMAND = "hr probation decide"
CONCUR_COMMAND = "hr probation concur"
CJIS_COMMAND = "hr probation cjis"
CJIS_STEP = "cjis"



def _timer_summary(event: rules.ProbationEvent) -> str:
    """What the probation's clock waits for, for the UI's timeline (codes only)."""
    if event.kind == rules.REMIND:
        return f"probation reminder {event.days_before} days before the end"
    if event.kind == rules.CJIS_CHECK:
        return "CJIS clearance check"
    return "probation ends"

@workflow.defn(name="Probation")
class Probation(EmploymentSteps):
    ACTION_TYPE = "probation"

    @workflow.init
    def __init__(self, inp: ProbationInput) -> None:
        self._inp = inp
        self._init_employment(inp.employee_id)
        self._stage = ob.SERVING
        self._ends_at: datetime | None = None
        self._fired: list[str] = []
        self._reminders: list[int] = []
        self._cjis_on: date | None = None
        self._cjis_recorded_on: date | None = None
        self._cjis_escalated = False
        self._extension: ob.Extension | None = None
        self._decision: str | None = None
        self._outcome: str | None = None
        self._permanent_on: date | None = None
        self._action_workflow_id: str | None = None
        self._round = 0

    @workflow.run
    async def run(self, inp: ProbationInput) -> ob.ProbationResult:
        try:
            facts = await self._resolve(inp.requested_by, "probation")
            self._ends_at = rules.probation_ends_at(
                inp.starts_on, facts.probation_months, inp.length, workflow.info().start_time
            )
            started = ob.EventRecord(
                key=run_key("probation", "started"),
                kind="probation_started",
                effective_on=inp.starts_on,
                class_code=facts.class_code,
                position_id=facts.position_id,
                comment=f"{inp.reason}; ends {self._ends_on()}",
                recorded_by=inp.requested_by,
                at=workflow.now(),
            )
            await self._write(self._records(events=[started]))
            self._refresh_visibility()
            while True:
                await self._serve_until_end()
                decision, concurrence = await self._decide()
                if decision.decision != ob.EXTEND:
                    break
                await self._extend(decision, concurrence)
            if decision.decision == ob.PASS:
                await self._make_permanent(decision)
            else:
                await self._release(decision, concurrence)
        except Withdrawn:
            self._outcome = ob.WITHDRAWN
        except (asyncio.CancelledError, ActivityError) as err:
            if not is_cancelled_exception(err):
                raise
            self._outcome = ob.CANCELLED
            self._set_stage(ob.CANCELLED)
            await self._write(self._records(audits=[audit_row("process", SYSTEM_ACTOR, "cancelled", None)]))
            raise
        outcome = self._outcome
        assert outcome is not None
        self._set_stage(outcome)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return ob.ProbationResult(
            workflow_id=workflow.info().workflow_id,
            employee_id=inp.employee_id,
            outcome=outcome,
            ends_on=self._ends_on() if self._ends_at else None,
            permanent_on=self._permanent_on,
            extended_days=self._extension.days if self._extension else None,
            action_workflow_id=self._action_workflow_id,
        )

    @workflow.query
    def status(self) -> ob.ProbationStatus:
        steps = [self._snapshot(s) for s in self._steps.values()]
        facts = self._facts
        return ob.ProbationStatus(
            workflow_id=workflow.info().workflow_id,
            employee_id=self._inp.employee_id,
            starts_on=self._inp.starts_on,
            requested_by=self._inp.requested_by,
            stage=self._stage,
            ends_at=self._ends_at,
            ends_on=self._ends_on() if self._ends_at else None,
            supervisor_id=self._supervisor() if facts else None,
            position_id=facts.position_id if facts else None,
            cjis_required=bool(facts and facts.requires_cjis),
            cjis_cleared_on=self._cjis_on,
            cjis_escalated=self._cjis_escalated,
            reminders_sent=list(self._reminders),
            extension=self._extension,
            decision=self._decision,
            outcome=self._outcome,
            permanent_on=self._permanent_on,
            action_workflow_id=self._action_workflow_id,
            open_steps=[s for s in steps if not s.closed],
            closed_steps=[s for s in steps if s.closed],
        )

    def _finished(self) -> bool:
        return self._outcome is not None

    def _ends_on(self) -> date:
        assert self._ends_at is not None
        return self._ends_at.date()

    def _supervisor(self) -> str:
        """Who decides: the position's (or the employee's) supervisor, else the department's
        director, else the HR supervisor."""
        facts = self._require_facts()
        return facts.supervisor_id or facts.department_director_id or facts.hr_supervisor_id

    # ----- the clock -----------------------------------------------------------------------------

    async def _serve_until_end(self) -> None:
        """Waits for the end, reminding the supervisor and checking the CJIS clearance on the way."""
        facts = self._require_facts()
        assert self._ends_at is not None
        self._set_stage(ob.SERVING)
        for event in rules.probation_events(self._ends_at, workflow.now(), facts.requires_cjis):
            if event.key in self._fired:
                continue
            delay = (event.at - workflow.now()).total_seconds()
            if delay > 0:
                try:
                    await workflow.wait_condition(
                        lambda: self._withdrawal is not None,
                        timeout=delay,
                        timeout_summary=_timer_summary(event),
                    )
                except asyncio.TimeoutError:
                    pass
            if self._withdrawal is not None:
                raise Withdrawn()
            self._fired.append(event.key)
            if event.kind == rules.REMIND:
                await self._remind(event.days_before)
            elif event.kind == rules.CJIS_CHECK and self._cjis_on is None:
                await self._escalate_cjis()

    async def _remind(self, days_before: int) -> None:
        supervisor = self._supervisor()
        self._reminders.append(days_before)
        params = {
            "employee_id": self._employee_id,
            "ends_on": self._ends_on().isoformat(),
            "days_left": str(days_before),
            "command": DECIDE_COMMAND,
        }
        await self._write(
            self._records(
                audits=[
                    audit_row(
                        "probation",
                        SYSTEM_ACTOR,
                        "reminded",
                        f"{supervisor}: {days_before} days before the end",
                        event=f"reminded:{days_before}:{self._ends_on()}",
                    )
                ],
                notices=[
                    self._notice(
                        None, "probation_reminder", [supervisor], f"{days_before}:{self._ends_on()}", params
                    )
                ],
            )
        )

    async def _escalate_cjis(self) -> None:
        """The CJIS clearance is missing 30 days before the end: the HR supervisor hears of it."""
        facts = self._require_facts()
        self._cjis_escalated = True
        self._refresh_visibility()
        why = f"CJIS clearance not on record; the probation ends {self._ends_on()}"
        await self._write(
            self._records(
                audits=[
                    audit_row(
                        CJIS_STEP,
                        SYSTEM_ACTOR,
                        "escalated",
                        f"to {facts.hr_supervisor_id}: {why}",
                        event=f"escalated:{self._ends_on()}",
                    )
                ],
                notices=[
                    self._notice(
                        None,
                        "cjis_missing",
                        [facts.hr_supervisor_id],
                        f"escalated:{self._ends_on()}",
                        {
                            "employee_id": self._employee_id,
                            "position_id": facts.position_id or "-",
                            "ends_on": self._ends_on().isoformat(),
                            "command": CJIS_COMMAND,
                        },
                    )
                ],
            )
        )

    # ----- the decision --------------------------------------------------------------------------

    def _hr_people(self, supervisor: str) -> list[Participant]:
        facts = self._require_facts()
        people = [
            p for p in dict.fromkeys([self._inp.requested_by, facts.hr_supervisor_id]) if p != supervisor
        ]
        return [
            Participant(person_id=p, role="hr_supervisor" if p == facts.hr_supervisor_id else "hr")
            for p in people or [facts.hr_supervisor_id]
        ]

    async def _decide(self) -> tuple[Answer, Answer]:
        """The supervisor decides; HR concurs, or returns it with a comment for a new decision."""
        facts = self._require_facts()
        supervisor = self._supervisor()
        while True:
            self._round += 1
            self._set_stage(ob.DECISION)
            ends_on = self._ends_on()
            step = await self.run_step(
                self._step(
                    f"decision-{self._round}",
                    f"Decide on the probation of {self._employee_id}, which ends {ends_on}: "
                    "pass, extend once, or release",
                    [
                        Participant(
                            person_id=supervisor, role="supervisor", escalate_to=facts.hr_supervisor_id
                        )
                    ],
                    [ob.PASS, ob.EXTEND, ob.RELEASE],
                    workflow.now() + timedelta(days=rules.DECISION_DAYS),
                    answer_with=AnswerWay(command=DECIDE_COMMAND),
                    details={ob.EXTEND: "probation_extension"},
                )
            )
            decision = step.answer()
            self._set_stage(ob.CONCURRENCE)
            concurrence = await self.run_step(
                self._step(
                    f"concurrence-{self._round}",
                    f"Concur with {decision.actor_id}'s decision on {self._employee_id}'s probation: "
                    f"{self._describe(decision)}",
                    self._hr_people(supervisor),
                    [ob.CONCUR, ob.RETURN],
                    workflow.now() + timedelta(days=rules.CONCURRENCE_DAYS),
                    answer_with=AnswerWay(command=CONCUR_COMMAND),
                    comment_required=[ob.RETURN],
                    mode="any",
                )
            )
            if concurrence.answer().decision == ob.CONCUR:
                self._decision = decision.decision
                return decision, concurrence.answer()

    def _describe(self, decision: Answer) -> str:
        if decision.decision == ob.EXTEND:
            days = details_of(decision, ProbationExtension).days
            return f"extend by {days} days to {self._ends_on() + timedelta(days=days)}"
        return decision.decision

    def _check_answer_extra(
        self, state: StepState, inp: DecisionInput, details: DecisionDetails | None
    ) -> None:
        """A supervisor's extension (once only) and release need a reason."""
        if not state.spec.step_id.startswith("decision-"):
            return
        problem = None
        if inp.decision == ob.EXTEND:
            problem = rules.extension_problem(
                self._extension.to_ends_on if self._extension else None, inp.comment
            )
        elif inp.decision == ob.RELEASE:
            problem = rules.release_problem(inp.comment)
        if problem:
            raise DecisionRefused(problem)

    async def _extend(self, decision: Answer, concurrence: Answer) -> None:
        assert self._ends_at is not None
        days = details_of(decision, ProbationExtension).days
        before = self._ends_on()
        self._ends_at = rules.extended_ends_at(self._ends_at, days)
        self._extension = ob.Extension(
            days=days,
            reason=decision.comment or "",
            from_ends_on=before,
            to_ends_on=self._ends_on(),
            decided_by=decision.actor_id,
            concurred_by=concurrence.actor_id,
        )
        self._refresh_visibility()
        facts = self._require_facts()
        await self._write(
            self._records(
                events=[
                    ob.EventRecord(
                        key=run_key("probation", "extended"),
                        kind="probation_extended",
                        effective_on=self._ends_on(),
                        class_code=facts.class_code,
                        position_id=facts.position_id,
                        comment=f"by {days} days from {before}: {decision.comment}",
                        recorded_by=decision.actor_id,
                        at=workflow.now(),
                    )
                ],
                audits=[
                    audit_row("probation", concurrence.actor_id, "extended", f"{before} to {self._ends_on()}")
                ],
                notices=[
                    self._notice(
                        None,
                        "probation_extended",
                        [self._employee_id, self._supervisor()],
                        "extended",
                        {
                            "employee_id": self._employee_id,
                            "ends_on": self._ends_on().isoformat(),
                            "days": str(days),
                        },
                    )
                ],
            )
        )

    # ----- the outcome ---------------------------------------------------------------------------

    async def _make_permanent(self, decision: Answer) -> None:
        """Permanent status from the end date, once the CJIS clearance is on record where required."""
        facts = self._require_facts()
        if facts.requires_cjis and self._cjis_on is None:
            self._set_stage(ob.AWAITING_CJIS)
            await self._write(
                self._records(
                    audits=[
                        audit_row(
                            CJIS_STEP,
                            SYSTEM_ACTOR,
                            "cjis_missing",
                            "the probation has ended; permanent status waits for the CJIS clearance",
                        )
                    ]
                )
            )
            await self.run_step(
                self._step(
                    CJIS_STEP,
                    f"Record the CJIS clearance of {self._employee_id}: permanent status waits for it",
                    [
                        Participant(
                            person_id=p, role="hr_supervisor" if p == facts.hr_supervisor_id else "hr"
                        )
                        for p in facts.hr_staff
                    ],
                    [ob.RECORDED],
                    workflow.now() + timedelta(days=rules.CONCURRENCE_DAYS),
                    answer_with=AnswerWay(update=ob.RECORD_CJIS, command=CJIS_COMMAND),
                    mode="any",
                )
            )
            await workflow.wait_condition(workflow.all_handlers_finished)  # its record is written
        self._permanent_on = rules.permanent_on(
            self._ends_on(), self._inp.starts_on, self._cjis_recorded_on if facts.requires_cjis else None
        )
        self._outcome = ob.PERMANENT
        await self._write(
            self._records(
                employment_status=PERMANENT,
                events=[
                    ob.EventRecord(
                        key=run_key("probation", "permanent"),
                        kind="permanent",
                        effective_on=self._permanent_on,
                        class_code=facts.class_code,
                        position_id=facts.position_id,
                        comment=decision.comment,
                        recorded_by=decision.actor_id,
                        at=workflow.now(),
                    )
                ],
                audits=[audit_row("process", SYSTEM_ACTOR, ob.PERMANENT, f"from {self._permanent_on}")],
                notices=[self._outcome_notice(f"permanent status from {self._permanent_on}", employee=True)],
            )
        )

    async def _release(self, decision: Answer, concurrence: Answer) -> None:
        """The release's personnel action separates the employee; the probation does not wait."""
        action_id = f"release-{self._inp.starts_on:%Y%m%d}"
        workflow_id = action_workflow_id(self._employee_id, action_id)
        today = workflow.now().date()
        await workflow.start_child_workflow(
            PERSONNEL_ACTION_WORKFLOW,
            PersonnelActionInput(
                action_id=action_id,
                employee_id=self._employee_id,
                kind="release",
                requested_by=concurrence.person_id,
                effective_on=today,
                reason=decision.comment,
            ),
            id=workflow_id,
            parent_close_policy=ParentClosePolicy.ABANDON,
            static_summary=f"Release of {self._employee_id} from probation",
        )
        self._action_workflow_id = workflow_id
        self._outcome = ob.RELEASED
        await self._write(
            self._records(
                audits=[
                    audit_row(
                        "process", concurrence.actor_id, ob.RELEASED, f"{workflow_id}, effective {today}"
                    )
                ],
                notices=[self._outcome_notice(f"released; the separation runs as {workflow_id}")],
            )
        )

    def _outcome_notice(self, outcome: str, employee: bool = False) -> Any:
        """The outcome to the supervisor (and the employee when they stay: a release reaches them
        through its personnel action)."""
        return self._notice(
            None,
            "outcome",
            [self._supervisor(), *([self._employee_id] if employee else [])],
            "outcome",
            {"outcome": outcome, "employee_id": self._employee_id},
        )

    # ----- HR records the CJIS clearance ---------------------------------------------------------

    @workflow.update(name=ob.RECORD_CJIS)
    async def record_cjis(self, *args: Any) -> ob.ProbationStatus:
        """HR records the CJIS clearance; it answers the ``cjis`` step when permanent status waits."""
        inp = update_arg(ob.CjisInput, args)
        state = self._check_cjis(inp)
        today = workflow.now().date()
        self._cjis_on, self._cjis_recorded_on = inp.cleared_on, today
        if state is not None:  # permanent status waits for it: this answers the cjis step
            self._accept(ob.RECORD_CJIS, self._as_decision(inp))
        facts = self._require_facts()
        self._refresh_visibility()
        await self._write(
            self._records(
                events=[
                    ob.EventRecord(
                        key=run_key(CJIS_STEP, "cleared"),
                        kind="cjis_cleared",
                        effective_on=inp.cleared_on,
                        class_code=facts.class_code,
                        position_id=facts.position_id,
                        comment=inp.comment,
                        recorded_by=inp.actor_id,
                        at=workflow.now(),
                    )
                ],
                audits=[
                    audit_row(
                        CJIS_STEP,
                        inp.actor_id,
                        "cjis_recorded",
                        f"cleared {inp.cleared_on}",
                        event="recorded",
                    )
                ],
            )
        )
        return self.status()

    @record_cjis.validator
    def _validate_record_cjis(self, *args: Any) -> None:
        self._check_cjis(update_arg(ob.CjisInput, args))

    @staticmethod
    def _as_decision(inp: ob.CjisInput) -> DecisionInput:
        return DecisionInput(
            actor_id=inp.actor_id, decision=ob.RECORDED, step_id=CJIS_STEP, comment=inp.comment
        )

    def _check_cjis(self, inp: ob.CjisInput) -> StepState | None:
        """HR staff; a position that requires it; once; a date not in the future. Returns the
        ``cjis`` step when it is open (the answer is then checked as the step's)."""
        self._require_hr(inp.actor_id, "record a CJIS clearance")
        facts = self._facts
        if facts is None:
            raise refused("the probation has not started yet")
        if self._outcome is not None:
            raise refused("the probation has ended")
        if not facts.requires_cjis:
            raise refused(f"position {facts.position_id or '(none)'} does not require CJIS clearance")
        if self._cjis_on is not None:
            raise refused(f"the CJIS clearance is already on record (cleared {self._cjis_on})")
        problem = rules.cjis_problem(inp.cleared_on, workflow.now().date(), self._inp.starts_on)
        if problem:
            raise refused(problem)
        state = self._steps.get(CJIS_STEP)
        if state is None or state.closed:
            return None
        self._checked(ob.RECORD_CJIS, self._as_decision(inp))
        return state

    # ----- visibility ----------------------------------------------------------------------------

    def _details(self) -> str:
        lines = [super()._details()]
        if self._ends_at is not None:
            lines.append(f"**Ends:** {self._ends_on()} (timer {self._ends_at:%Y-%m-%d %H:%M} UTC)")
        facts = self._facts
        if facts is not None:
            lines.append(f"**Employee:** {self._employee_id}; supervisor {self._supervisor()}")
            if facts.requires_cjis:
                cjis = f"cleared {self._cjis_on}" if self._cjis_on else "not on record"
                lines.append(f"**CJIS:** {cjis}" + (" (escalated)" if self._cjis_escalated else ""))
        if self._reminders:
            lines.append("**Reminded:** " + ", ".join(f"{d} days before" for d in self._reminders))
        if self._extension is not None:
            e = self._extension
            lines.append(f"**Extended:** by {e.days} days, {e.from_ends_on} to {e.to_ends_on}")
        if self._outcome is not None:
            lines.append(f"**Outcome:** {self._outcome}")
        return "\n".join(lines)
