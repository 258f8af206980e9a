"""One employee's benefits enrollment for one event (DESIGN section 5; seeds 000, 003; issue 10).

A new hire (started by the onboarding), open enrollment (started by the yearly bulk run), a
qualifying life event (started by HR), or a separation (started by the personnel action that
separates: COBRA). The story:

1. the employee's facts, the plans open to them for the event and their current coverage;
   nothing to offer (COBRA without continuable coverage) ends it at once, on record;
2. COBRA: the election notice goes out at once (its due date is on record);
3. the elections step, a human step of the employee: ``elect`` (one validated answer: the plans
   with their tiers and the dependants covered), ``waive`` (or, in open enrollment,
   ``carry_over``); reminders before the window closes, the supervisor (or HR) told at the
   close, and then the rule's default: waive, carry over, or lapse;
4. under ``workflow.patched("benefits-hr-audit")``, an election (not a waiver, a carry-over or
   a default) goes first to HR's audit, a human step of the HR benefits staff (not the
   employee): ``approve``, or ``return`` with a reason while the window is open, which opens
   the elections step again (the employee is told why); reminders before its due date, the HR
   supervisor told when it is overdue, no default;
5. the answer recorded in one write: the elections, the carrier enrollments, the payroll
   deductions, the audit row; the employee's confirmation of what they chose.

The rules (windows, eligibility, tiers, defaults) are ``workflows.rules.benefits``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from activities.benefits import BenefitsActivities
    from schemas import benefits as bn
    from schemas.benefits_records import EnrollmentRecords, EnrollmentStatus, RecordsWritten
    from schemas.decision_details import BenefitElections, DecisionDetails
    from schemas.human_step import (
        Answer,
        AnswerWay,
        DecisionInput,
        DuePolicy,
        Participant,
        StepState,
    )

from workflows.human_step import ACTIVITY_OPTIONS, SYSTEM_ACTOR, HumanSteps, Withdrawn, audit_row, run_key
from workflows.rules import benefits as rules
from workflows.rules.human_step import DecisionRefused, escalation_targets

STEP_ID = "elections"
STEP_TITLES = {
    bn.NEW_HIRE: "New-hire benefits elections",
    bn.OPEN_ENROLLMENT: "Open enrollment elections",
    bn.LIFE_EVENT: "Benefits elections after a life event",
    bn.COBRA: "COBRA continuation election",
}


async def run_local(method: Any, arg: Any) -> Any:
    """A single short transaction, as a local activity (one marker in the history)."""
    return await workflow.execute_local_activity_method(method, arg, **ACTIVITY_OPTIONS)


@workflow.defn(name=bn.BENEFITS_WORKFLOW)
class BenefitsEnrollment(HumanSteps):
    @workflow.init
    def __init__(self, inp: bn.EnrollmentInput) -> None:
        self._inp = inp
        self._init_steps()  # HR staff come from the directory
        self._stage = bn.RESOLVING
        self._facts: bn.EnrollmentFacts | None = None
        self._offered: list[bn.PlanView] = []
        self._window: rules.Window | None = None
        self._cobra: rules.CobraDates | None = None
        self._elections: list[bn.ElectionView] = []
        self._decision: str | None = None
        self._defaulted = False
        self._outcome: str | None = None
        self._audited = False
        """Whether this run audits elections (``bn.HR_AUDIT_PATCH``; runs before it do not)."""
        self._to_audit: Answer | None = None
        self._round = 0
        """Elections returned by HR's audit so far (each later audit step is ``audit-<n+1>``)."""

    @workflow.run
    async def run(self, inp: bn.EnrollmentInput) -> bn.EnrollmentResult:
        self._set_stage(bn.RESOLVING)
        self._audited = workflow.patched(bn.HR_AUDIT_PATCH)
        try:
            await self._enroll(inp)
        except Withdrawn:
            withdrawal = self._withdrawal
            assert withdrawal is not None
            await self._end(bn.WITHDRAWN, withdrawal.actor_id, f"withdrawn: {withdrawal.reason}")
        except (asyncio.CancelledError, ActivityError) as err:
            if not is_cancelled_exception(err):
                raise
            self._set_stage("cancelled")
            raise
        await workflow.wait_condition(workflow.all_handlers_finished)
        assert self._outcome is not None
        return bn.EnrollmentResult(
            workflow_id=workflow.info().workflow_id,
            employee_id=inp.employee_id,
            event=inp.event,
            outcome=self._outcome,
            defaulted=self._defaulted,
            elections=self._elections,
        )

    async def _enroll(self, inp: bn.EnrollmentInput) -> None:
        facts: bn.EnrollmentFacts = await run_local(
            BenefitsActivities.resolve_enrollment,
            bn.EnrollmentQuery(employee_id=inp.employee_id, requested_by=inp.requested_by),
        )
        self._facts = facts
        self._hr_staff |= set(facts.hr_staff)
        self._offered = rules.offered_plans(facts, inp.event)
        now = workflow.now()
        if not self._offered:
            why = (
                "no continuable coverage at separation"
                if inp.event == bn.COBRA
                else "no plan is open to the employee"
            )
            await self._end(bn.NOT_COVERED if inp.event == bn.COBRA else bn.NOT_ELIGIBLE, SYSTEM_ACTOR, why)
            return
        self._window = rules.window(
            inp.event,
            inp.event_on,
            self._offered,
            now,
            life_event=inp.life_event,
            year=inp.year,
            closes_at=inp.closes_at,
        )
        if now > self._window.closes_at:
            await self._end(
                bn.WINDOW_CLOSED,
                SYSTEM_ACTOR,
                f"the window closed {self._window.closes_at:%Y-%m-%d %H:%M} UTC",
            )
            return
        state = await self._open_elections(now)
        await self._wait(state)
        while self._to_audit is not None:  # an election, under HR's audit
            election, self._to_audit = self._to_audit, None
            verdict = await self._audit()
            if verdict.decision == bn.AUDIT_APPROVE:
                await self._record_outcome(state, election, audited=True)
            else:
                state = await self._reopen_elections(state, verdict)
                await self._wait(state)
        self._set_stage(self._outcome or bn.ELECTED)

    # ----- the elections step ---------------------------------------------------------------------

    def _due_policy(self) -> DuePolicy:
        """Reminders 7 and 2 days before the window closes; at the close the supervisor (or HR)
        hears of it and the rule's default is recorded; no overdue reminders."""
        facts = self._facts
        return DuePolicy(
            escalate_days_after_due=0,
            default_days_after_due=0,
            max_overdue_reminders=0,
            fallback_approver_id=facts.hr_supervisor_id if facts else None,
        )

    async def _open_elections(self, now: Any) -> StepState:
        """Opens the step: the enrollment row, its audit row and notices (and, for COBRA, the
        election notice) in one write, which also looks up the delegations in force."""
        inp, facts, window = self._inp, self._facts, self._window
        assert facts is not None and window is not None
        # Open enrollment escalates nobody (the current elections carry over); a separated
        # employee has no supervisor any more: HR hears of them.
        boss = facts.supervisor_id if inp.event not in (bn.COBRA, bn.OPEN_ENROLLMENT) else None
        spec = self._step(
            STEP_ID,
            STEP_TITLES[inp.event],
            [
                Participant(
                    person_id=inp.employee_id,
                    role="employee",
                    escalate_to=boss,
                    default_decision=rules.default_decision(inp.event),
                )
            ],
            rules.allowed_decisions(inp.event),
            rules.enrollment_due(window.closes_at, now),
            answer_with=AnswerWay(command=bn.ELECT_COMMAND),
            details={bn.ELECT: bn.ELECTIONS_KIND},
            mode="any",
        )
        state = StepState(spec=spec, opened_at=now)
        notices = [self._notice(state, "step_opened", [inp.employee_id], "opened")]
        audits = [audit_row(STEP_ID, SYSTEM_ACTOR, "opened", spec.title)]
        extra: dict[str, Any] = {}
        if inp.event == bn.COBRA:
            self._cobra = rules.cobra_dates(inp.event_on, now.date())
            extra = {"cobra_notice_due_on": self._cobra.notice_due_on, "cobra_elect_by": self._cobra.elect_by}
            notices.append(
                self._notice(
                    None,
                    "cobra_notice",
                    [inp.employee_id],
                    "cobra-notice",
                    {
                        "separated_on": inp.event_on.isoformat(),
                        "coverage_ends_on": self._cobra.coverage_ends_on.isoformat(),
                        "elect_by": self._cobra.elect_by.isoformat(),
                        "plans": ", ".join(f"{p.plan_id} ({p.kind})" for p in self._offered),
                    },
                )
            )
            audits.append(
                audit_row(
                    STEP_ID,
                    SYSTEM_ACTOR,
                    "cobra_notice_sent",
                    f"due by {self._cobra.notice_due_on}; elect by {self._cobra.elect_by}",
                )
            )
        written: RecordsWritten = await self._write(
            bn.OPEN, audits=audits, notices=notices, delegations_for=[inp.employee_id], **extra
        )
        spec.delegates = written.delegates
        self._steps[STEP_ID] = state
        self._set_stage(bn.ELECTING)
        return state

    async def _wait(self, state: StepState) -> None:
        """Waits for the answer, with the step's reminders, escalation and default (as
        ``run_step`` does once the step is open)."""
        while not self._step_done(state):
            waiting = [e for e in self._events(state) if e.key not in state.fired]
            condition = self._until_done_or_changed(state)
            if not waiting:
                await workflow.wait_condition(condition)
                continue
            event = waiting[0]
            delay = (event.at - workflow.now()).total_seconds()
            if delay > 0:
                try:
                    await workflow.wait_condition(condition, timeout=delay)
                    continue
                except asyncio.TimeoutError:
                    pass
            state.fired.append(event.key)
            await self._on_event(state, event)
        await workflow.wait_condition(
            lambda: self._outcome is not None or self._withdrawal is not None or self._to_audit is not None
        )
        state.closed = True
        self._refresh_visibility()
        if self._withdrawal is not None and self._outcome is None:
            raise Withdrawn()

    async def _escalate(self, state: StepState, waiting: list[str], event: Any) -> None:
        """At the close: the escalation target hears of it (none in open enrollment); the
        employee gets no "overdue" notice, since the default follows at once and its
        confirmation tells them what was recorded. HR's audit escalates as any step does."""
        if state.spec.step_id != STEP_ID:
            await super()._escalate(state, waiting, event)
            return
        if self._inp.event == bn.OPEN_ENROLLMENT:
            return
        for target, overdue in escalation_targets(state.spec, waiting).items():
            state.escalated_to.append(target)
            await self._notify(
                state, "escalation", [target], f"{event.key}:{target}", extra={"overdue": ", ".join(overdue)}
            )

    def _check_answer_extra(
        self, state: StepState, inp: DecisionInput, details: DecisionDetails | None
    ) -> None:
        """The window is open; an election's plans are open to the employee, one per kind, in a
        tier of the plan that matches the dependants listed."""
        window = self._window
        assert window is not None
        now = workflow.now()
        if state.spec.step_id != STEP_ID:  # HR's audit
            problem = (
                rules.audit_return_problem(now, window.closes_at) if inp.decision == bn.AUDIT_RETURN else None
            )
            if problem:
                raise DecisionRefused(problem)
            return
        if now > window.closes_at:
            raise DecisionRefused(f"the enrollment window closed {window.closes_at:%Y-%m-%d %H:%M} UTC")
        if isinstance(details, BenefitElections):
            problem = rules.election_problem(
                details,
                self._offered,
                employee_id=self._inp.employee_id,
                event=self._inp.event,
                event_on=self._inp.event_on,
                closes_at=window.closes_at,
                coverage_on=window.coverage_on,
                now=now,
            )
            if problem:
                raise DecisionRefused(problem)

    async def _record_answer(self, state: StepState, answer: Answer) -> None:
        """An answer: HR's audit (its audit row); an election to audit (held, with its audit
        row, until HR approves it); any other answer recorded at once (``_record_outcome``)."""
        if state.spec.step_id != STEP_ID:
            await super()._record_answer(state, answer)
            return
        if self._audited and answer.decision == bn.ELECT and answer.source != "default":
            self._to_audit = answer
            self._elections = self._views(answer)
            await self._write(
                bn.OPEN,
                audits=[
                    audit_row(
                        STEP_ID,
                        answer.actor_id,
                        answer.decision,
                        answer.comment,
                        on_behalf_of=answer.person_id if answer.person_id != answer.actor_id else None,
                        event=f"answer:{answer.person_id}:{self._round}",
                        at=answer.at,
                    )
                ],
            )
            return
        await self._record_outcome(state, answer)

    def _views(self, answer: Answer) -> list[bn.ElectionView]:
        if not isinstance(answer.details, BenefitElections):
            return []
        return [
            bn.ElectionView(
                plan_id=r.plan_id,
                kind=r.kind,
                tier=r.tier,
                dependants=len(r.dependants),
                monthly_premium_cents=r.monthly_premium_cents,
            )
            for r in rules.election_records(answer.details, self._offered)
        ]

    # ----- HR's audit -----------------------------------------------------------------------------

    async def _audit(self) -> Answer:
        """HR's audit of the election just made: one of the HR benefits staff (never the employee)
        approves it or returns it with a reason; reminders, then the HR supervisor when overdue."""
        facts = self._facts
        assert facts is not None
        self._set_stage(bn.AUDITING)
        auditors = rules.auditors(facts.hr_staff, self._inp.employee_id) or [facts.hr_supervisor_id]
        step_id = bn.AUDIT_STEP if self._round == 0 else f"{bn.AUDIT_STEP}-{self._round + 1}"
        spec = self._step(
            step_id,
            "HR audit of the benefits elections",
            [
                Participant(person_id=p, role="hr_benefits", escalate_to=facts.hr_supervisor_id)
                for p in auditors
            ],
            [bn.AUDIT_APPROVE, bn.AUDIT_RETURN],
            rules.audit_due(workflow.now()),
            answer_with=AnswerWay(command=bn.AUDIT_COMMAND),
            comment_required=[bn.AUDIT_RETURN],
            mode="any",
            policy=DuePolicy(fallback_approver_id=facts.hr_supervisor_id, max_overdue_reminders=2),
            requester_id=self._inp.employee_id,
        )
        state = await self.run_step(spec)
        return next(iter(state.answers.values()))

    async def _reopen_elections(self, old: StepState, verdict: Answer) -> StepState:
        """HR returned the election: the employee is told why and the elections step opens again
        until the window closes (one write: the audit row and the notices)."""
        window = self._window
        assert window is not None
        self._round += 1
        self._elections = []
        spec = old.spec.model_copy(deep=True)
        spec.due_at = rules.enrollment_due(window.closes_at, workflow.now())
        state = StepState(spec=spec, opened_at=workflow.now())
        self._steps[STEP_ID] = state
        self._set_stage(bn.ELECTING)
        employee = self._inp.employee_id
        await self._write(
            bn.OPEN,
            audits=[
                audit_row(
                    STEP_ID,
                    SYSTEM_ACTOR,
                    "reopened",
                    "returned by HR's audit",
                    event=f"reopened:{self._round}",
                )
            ],
            notices=[
                self._notice(
                    state,
                    "benefits_returned",
                    [employee],
                    f"returned:{self._round}",
                    {"reason": verdict.comment or "", "audited_by": verdict.actor_id},
                ),
            ],
        )
        return state

    async def _record_outcome(self, state: StepState, answer: Answer, *, audited: bool = False) -> None:
        """The answer (or the default) recorded in one write: the outcome, the elections, the
        carrier enrollments and payroll deductions, the audit row (already written for an
        audited election) and the confirmation."""
        inp, facts, window = self._inp, self._facts, self._window
        assert facts is not None and window is not None
        records: list[bn.ElectionRecord] = []
        if answer.decision == bn.ELECT and isinstance(answer.details, BenefitElections):
            records = rules.election_records(answer.details, self._offered)
        outcome = rules.outcome_of(answer.decision)
        if inp.event == bn.COBRA:
            end_kinds = sorted({c.kind for c in facts.coverage})  # all coverage ends at separation
        elif rules.ends_current(inp.event, answer.decision):
            kinds = {r.kind for r in records} if records else {c.kind for c in facts.coverage}
            end_kinds = sorted(kinds)
        else:
            end_kinds = []
        self._decision, self._defaulted, self._outcome = answer.decision, answer.source == "default", outcome
        self._elections = [
            bn.ElectionView(
                plan_id=r.plan_id,
                kind=r.kind,
                tier=r.tier,
                dependants=len(r.dependants),
                monthly_premium_cents=r.monthly_premium_cents,
            )
            for r in records
        ]
        chosen = "; ".join(f"{e.plan_id} ({e.kind}, {e.tier})" for e in self._elections) or "none"
        audits = (
            []
            if audited
            else [
                audit_row(
                    STEP_ID,
                    answer.actor_id,
                    answer.decision,
                    answer.comment if answer.source != "default" else f"{answer.comment}: {outcome}",
                    on_behalf_of=answer.person_id if answer.person_id != answer.actor_id else None,
                    event=f"answer:{answer.person_id}",
                    at=answer.at,
                )
            ]
        )
        confirmation = self._notice(
            state,
            "benefits_confirmation",
            [inp.employee_id],
            f"confirmation:{answer.decision}",
            {
                "event": inp.event.replace("_", " "),
                "outcome": outcome.replace("_", " "),
                "elections": chosen,
                "coverage_on": window.coverage_on.isoformat(),
            },
        )
        self._refresh_visibility()
        await self._write(
            outcome,
            decided_by=answer.actor_id,
            defaulted=self._defaulted,
            elections=records,
            end_kinds=end_kinds,
            audits=audits,
            notices=[confirmation],
            cobra_elect_by=self._cobra.elect_by if self._cobra else None,
        )

    async def _end(self, outcome: str, actor_id: str, why: str) -> None:
        """Ends without (or after) the step: the outcome on record, with an audit row."""
        self._outcome = outcome
        self._set_stage(outcome)
        await self._write(
            outcome, decided_by=actor_id, audits=[audit_row("enrollment", actor_id, outcome, why)]
        )

    def _finished(self) -> bool:
        return self._outcome is not None

    # ----- records ---------------------------------------------------------------------------------

    async def _write(self, status: str, **fields: Any) -> RecordsWritten:
        info = workflow.info()
        inp = self._inp
        window = self._window
        return await run_local(  # type: ignore[no-any-return]
            BenefitsActivities.record_enrollment,
            EnrollmentRecords(
                key=run_key("enrollment"),
                workflow_id=info.workflow_id,
                run_id=info.first_execution_run_id,
                employee_id=inp.employee_id,
                event=inp.event,
                event_on=inp.event_on,
                year=inp.year,
                parent_id=inp.parent_id,
                status=status,
                window_closes_at=window.closes_at if window else None,
                coverage_on=window.coverage_on if window else None,
                at=workflow.now(),
                **fields,
            ),
        )

    # ----- status and visibility ----------------------------------------------------------------------

    @workflow.query
    def status(self) -> EnrollmentStatus:
        steps = [self._shown_snapshot(s) for s in self._steps.values()]
        inp = self._inp
        return EnrollmentStatus(
            workflow_id=workflow.info().workflow_id,
            employee_id=inp.employee_id,
            event=inp.event,
            life_event=inp.life_event,
            event_on=inp.event_on,
            stage=self._stage,
            window_closes_at=self._window.closes_at if self._window else None,
            coverage_on=self._window.coverage_on if self._window else None,
            offered=[p.plan_id for p in self._offered],
            current_coverage=self._facts.coverage if self._facts else [],
            elections=self._elections,
            decision=self._decision,
            defaulted=self._defaulted,
            cobra_notice_sent_on=self._steps[STEP_ID].opened_at.date()
            if self._cobra and STEP_ID in self._steps
            else None,
            cobra_notice_due_on=self._cobra.notice_due_on if self._cobra else None,
            outcome=self._outcome,
            open_steps=[s for s in steps if not s.closed],
            closed_steps=[s for s in steps if s.closed],
        )

    def _shown_snapshot(self, state: StepState) -> Any:
        """The step as the status shows it: the answers without their details (the dependants'
        dates of birth stay in the election's payload and the store); ``elections`` says what
        was chosen."""
        snapshot = self._snapshot(state)
        snapshot.answers = [a.model_copy(update={"details": None}) for a in snapshot.answers]
        return snapshot

    def _refresh_visibility(self) -> None:
        """``HrActionType``, ``HrEmployeeId``, ``HrDepartment``, ``HrStage``,
        ``HrPendingApprovers``, ``HrDueAt`` in one upsert when any changed; the UI's details."""
        facts = self._facts
        self._write_employee_visibility(
            bn.BENEFITS_ACTION_TYPE,
            self._inp.employee_id,
            facts.department_code if facts is not None else None,
            due_of_waiting_only=True,
        )

    def _details(self) -> str:
        """The UI's current details: ids, codes, dates and tiers only (no dependant's data)."""
        inp = self._inp
        lines = [
            f"**Stage:** {self._stage}",
            f"**Employee:** {inp.employee_id} · {inp.event.replace('_', ' ')} of {inp.event_on}",
        ]
        if self._window is not None:
            lines.append(
                f"**Window closes:** {self._window.closes_at:%Y-%m-%d %H:%M} UTC · "
                f"coverage from {self._window.coverage_on}"
            )
        if self._offered:
            lines.append(f"**Offered:** {', '.join(p.plan_id for p in self._offered)}")
        for e in self._elections:
            lines.append(f"- {e.plan_id} ({e.kind}): {e.tier}, {e.dependants} dependant(s)")
        if self._outcome:
            lines.append(f"**Outcome:** {self._outcome}{' (default)' if self._defaulted else ''}")
        return "\n".join(lines)
