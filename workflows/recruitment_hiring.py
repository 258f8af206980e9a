"""The recruitment's second half: certify, select, offer, background checks, hire (seeds 001, 004).

A mixin of ``Recruitment``. The eligibility register is the one owner of the ranking and the
certifications: the recruitment asks it (``_ask_register``) and acts on the answer. A decline or
a disqualification takes the candidate off the register and certifies the next names.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.recruitment import RecruitmentActivities
    from activities.register import RegisterActivities
    from schemas import eligibility_register as er
    from schemas import recruitment as rc
    from schemas.decision_details import Selection
    from schemas.employment import ONBOARDING_WORKFLOW, OnboardingInput, onboarding_workflow_id
    from schemas.human_step import NO_RESPONSE, PROCEED, AnswerWay, DuePolicy, Participant, StepState
    from schemas.search_attributes import HR_EMPLOYEE_ID

from workflows.human_step import BULK_OPTIONS, audit, details_of, run_activity, run_key
from workflows.recruitment_inputs import MAKE_OFFER, RECORD_CHECK, SCORE, RecruitmentInputs
from workflows.rules import recruitment as rules

CHECKS_TEXT = {
    "criminal": "criminal history",
    "education": "education",
    "employment": "employment verification",
    "mvr": "motor-vehicle record",
}
REGISTER_PROBLEMS = ("RegisterRefused", "RegisterClosed")
"""Answers of the register that no retry changes: recorded and shown, and the process goes on."""


class RecruitmentHiring(RecruitmentInputs):
    """From the register to a hire; also the step and record helpers both halves use."""

    _plan: rc.SelectionPlan
    _hired: list[tuple[str, str]]
    _register_started: bool
    _register_problems: list[str]
    _offer_step: str
    _passed_over: set[str]

    async def _fill_vacancies(self) -> None:
        """Certify, select, offer, check, hire; a decline or disqualification tries the next name."""
        vacancies = self._announcement.vacancies
        while len(self._hired) < vacancies and self._register_started:
            self._round += 1
            cert = await self._ask_register(
                RegisterActivities.certify,
                f"certification-{self._round}",
                certify=er.CertifyInput(
                    actor_id=self._inp.requested_by,
                    request_id=run_key(f"certification-{self._round}"),
                    vacancies=vacancies - len(self._hired),
                    passed_over=sorted(self._passed_over),
                ),
            )
            if cert is None or not cert.applicant_ids:
                return
            self._set_stage(rc.CERTIFICATION)
            self._certified = list(cert.applicant_ids)
            await audit(f"certification-{self._round}", "system", "certified", ", ".join(self._certified))
            await self._tell(self._certified, "certified", f"certification-{self._round}")
            selected = await self._department_selects()
            if selected is None:
                # Passed over with a reason: they stay on the register for other vacancies.
                self._passed_over.update(self._certified)
                continue
            if not await self._offer_accepted(selected) or not await self._background_cleared(selected):
                continue
            await self._hire(selected)

    async def _department_selects(self) -> str | None:
        """The hiring manager selects a certified name, or finds none suitable (with a reason)."""
        self._set_stage(rc.SELECTION)
        step = await self.run_step(
            self._step(
                f"selection-{self._round}",
                "Select a candidate from the certified names",
                [Participant(person_id=self._inp.hiring_manager_id, role="hiring_manager")],
                [rc.SELECT, rc.NONE_SUITABLE],
                workflow.now() + timedelta(days=self._plan.selection_days),
                answer_with=AnswerWay(command="hr recruitment select"),
                comment_required=[rc.NONE_SUITABLE],
                details={rc.SELECT: "selection"},
            )
        )
        answer = step.answer()
        if answer.decision == rc.NONE_SUITABLE:
            return None
        selected = details_of(answer, Selection).applicant_id
        self._selected = selected
        self._candidates[selected].disposition = "certified"
        return selected

    async def _offer_accepted(self, selected: str) -> bool:
        """HR makes the conditional offer; the candidate's answer is recorded by HR."""
        self._set_stage(rc.OFFER)
        offer = await self._offer_made(selected)
        checks = ", ".join(CHECKS_TEXT[c] for c in self._announcement.background_checks) or "none"
        await self._tell(
            [selected],
            "conditional_offer",
            f"offer-{self._round}",
            {"start_date": offer.start_date.isoformat(), "pay_step": str(offer.pay_step), "checks": checks},
        )
        answer = await self.run_step(
            self._step(
                f"offer-answer-{self._round}",
                f"Record {selected}'s answer to the conditional offer",
                [Participant(person_id=self._inp.hr_reviewer_id, role="hr_reviewer")],
                [rc.ACCEPT, rc.DECLINE],
                workflow.now() + timedelta(days=self._plan.offer_answer_days),
                answer_with=AnswerWay(command="hr recruitment answer-offer"),
            )
        )
        if answer.answer().decision == rc.ACCEPT:
            return True
        await self._remove(selected, "declined", "declined_offer")
        return False

    async def _offer_made(self, selected: str) -> rc.OfferInput:
        """HR makes the offer; one into a position that cannot take the hire is made again."""
        for attempt in itertools.count(1):
            self._offer = None
            self._offer_step = f"offer-{self._round}" + (f"-{attempt}" if attempt > 1 else "")
            await self.run_step(
                self._step(
                    self._offer_step,
                    f"Make the conditional offer to {selected}",
                    [Participant(person_id=self._inp.hr_reviewer_id, role="hr_reviewer")],
                    [rc.OFFERED],
                    workflow.now() + timedelta(days=self._plan.hr_decision_days),
                    answer_with=AnswerWay(update=MAKE_OFFER, command="hr recruitment offer"),
                )
            )
            offer = self._offer
            assert offer is not None  # the step is answered by make_offer only, which sets it
            position = offer.position_id or self._vacant_position()
            problem = None
            if position is not None:
                problem = await run_activity(
                    RecruitmentActivities.position_problem,
                    rc.PositionCheckInput(position_id=position, class_code=self._announcement.class_code),
                )
            if problem is None:
                self._offer = offer.model_copy(update={"position_id": position})
                return self._offer
            await audit(self._offer_step, "system", "offer_refused", problem)
            await self._notify(
                self._steps[self._offer_step],
                "offer_refused",
                [offer.actor_id],
                "refused",
                extra={"outcome": f"the offer to {selected} was not sent: {problem}; make it again"},
            )
        raise AssertionError("unreachable")

    async def _record_hire(self, selected: str, offer: rc.OfferInput, position: str | None) -> rc.HireResult:
        return await run_activity(
            RecruitmentActivities.record_hire,
            rc.HireInput(
                key=run_key("hire", selected, position or "none"),
                recruitment_id=self._inp.recruitment_id,
                applicant_id=selected,
                class_code=self._announcement.class_code,
                department_code=self._announcement.department_code,
                position_id=position,
                start_date=offer.start_date,
                pay_step=offer.pay_step,
                hired_at=workflow.now(),
            ),
        )

    def _vacant_position(self) -> str | None:
        filled = {p for _, p in self._hired}
        return next((p for p in self._announcement.position_ids if p not in filled), None)

    async def _background_cleared(self, selected: str) -> bool:
        """Seed 001's Fair Hiring Practices: checks only after the offer; a record can be answered."""
        if not self._announcement.background_checks:
            return True
        self._set_stage(rc.BACKGROUND)
        self._checks = {}
        await self.run_step(
            self._step(
                f"background-{self._round}",
                f"Record the background checks of {selected}",
                [Participant(person_id=self._inp.hr_reviewer_id, role="hr_reviewer")],
                [rc.RECORDED],
                workflow.now() + timedelta(days=self._plan.background_days),
                answer_with=AnswerWay(update=RECORD_CHECK, command="hr recruitment check"),
            )
        )
        flagged = [c for c, r in self._checks.items() if r == rc.POTENTIALLY_DISQUALIFYING]
        if not flagged:
            return True
        window = timedelta(days=self._plan.background_answer_days)
        answer_by = workflow.now() + window
        await self._tell(
            [selected],
            "background_pre_adverse",
            f"background-{self._round}",
            {"checks": ", ".join(CHECKS_TEXT[c] for c in flagged), "answer_by": f"{answer_by:%Y-%m-%d}"},
        )
        await self.run_step(
            self._step(
                f"candidate-answer-{self._round}",
                f"Record {selected}'s answer to the background record (window closes {answer_by:%Y-%m-%d})",
                [
                    Participant(
                        person_id=self._inp.hr_reviewer_id, role="hr_reviewer", default_decision=NO_RESPONSE
                    )
                ],
                [rc.RESPONDED],
                answer_by,
                answer_with=AnswerWay(command="hr recruitment candidate-answer"),
                comment_required=[rc.RESPONDED],
                policy=DuePolicy(
                    remind_days_before_due=[2],
                    escalate_days_after_due=0,
                    default_days_after_due=0,
                    fallback_approver_id=self._hr_supervisor,
                ),
            )
        )
        decision = await self.run_step(
            self._step(
                f"background-decision-{self._round}",
                f"Decide on {selected} after the background record",
                [Participant(person_id=self._hr_supervisor, role="hr_supervisor")],
                [PROCEED, rc.DISQUALIFY],
                workflow.now() + timedelta(days=self._plan.hr_decision_days),
                answer_with=AnswerWay(command="hr recruitment decide-background"),
                comment_required=[rc.DISQUALIFY],
            )
        )
        if decision.answer().decision == PROCEED:
            return True
        await self._tell([selected], "background_disqualified", f"background-{self._round}")
        await self._remove(selected, "disqualified", "disqualified_background")
        return False

    async def _hire(self, selected: str) -> None:
        offer = self._offer
        assert offer is not None
        position = offer.position_id
        try:
            result = await self._record_hire(selected, offer, position)
        except ActivityError as err:
            cause = err.cause
            if not (isinstance(cause, ApplicationError) and cause.type == "PositionFilled"):
                raise
            # Filled by someone else since the offer was checked: hire, and let HR place them.
            await audit(
                "hire",
                "system",
                "position_unavailable",
                f"{position}: {cause.message}",
                event=f"position_unavailable:{selected}",
            )
            position = None
            result = await self._record_hire(selected, offer, position)
        self._hired.append((selected, result.employee_id))
        self._candidates[selected].disposition = "hired"
        others = [a for a in self._certified if a != selected]
        self._certified = []
        workflow.upsert_search_attributes([HR_EMPLOYEE_ID.value_set(result.employee_id)])
        await audit(
            "hire",
            offer.actor_id,
            "hired",
            f"{selected} as {result.employee_id} in {position or 'no position'}",
            event=f"hired:{selected}",
        )
        if workflow.patched("hire-starts-onboarding"):
            await self._start_onboarding(selected, result.employee_id, offer, position)
        await self._ask_register(
            RegisterActivities.fill,
            f"fill {selected}",
            fill=er.FillInput(
                actor_id=offer.actor_id,
                applicant_id=selected,
                position_id=position or f"vacancy-{len(self._hired)}",
                request_id=run_key("fill", selected),
            ),
        )
        await self._tell(
            [selected],
            "hired",
            f"hired-{self._round}",
            {"employee_id": result.employee_id, "start_date": offer.start_date.isoformat()},
        )
        for aid in others:
            self._candidates[aid].disposition = "on_register"
        await self._save_candidates(fields={"disposition"}, only=[selected, *others])
        await self._tell(others, "not_selected", f"hired-{self._round}")

    async def _start_onboarding(
        self, selected: str, employee_id: str, offer: rc.OfferInput, position: str | None
    ) -> None:
        """The new employee's onboarding starts; the recruitment does not wait for it (it closes
        as before) and its close does not end the onboarding."""
        try:
            await workflow.start_child_workflow(
                ONBOARDING_WORKFLOW,
                OnboardingInput(
                    employee_id=employee_id,
                    starts_on=offer.start_date,
                    requested_by=offer.actor_id,
                    source=run_key("hire", selected, position or "none"),
                    probation=self._inp.probation,
                ),
                id=onboarding_workflow_id(employee_id),
                parent_close_policy=ParentClosePolicy.ABANDON,
                static_summary=f"Onboarding of {employee_id} from {offer.start_date}",
            )
        except WorkflowAlreadyStartedError:
            await audit(
                "hire", "system", "onboarding_already_started", employee_id, event=f"onboarding:{selected}"
            )
            return
        await audit(
            "hire",
            "system",
            "onboarding_started",
            onboarding_workflow_id(employee_id),
            event=f"onboarding:{selected}",
        )

    # ----- the register ------------------------------------------------------------------------

    async def _start_register(self, scored: list[er.ScoredCandidate]) -> list[er.RegisterEntry]:
        """Starts the register with the final scores and returns its ranked list."""
        now = workflow.now()
        a = self._announcement
        await workflow.start_child_workflow(
            "EligibilityRegister",
            er.RegisterInput(
                recruitment_id=self._inp.recruitment_id,
                class_code=a.class_code,
                department_code=a.department_code,
                vacancies=self._plan.register_vacancies or a.vacancies,
                established_at=now,
                expires_at=rules.register_expires_at(now, self._plan),
                plan=self._plan,
                candidates=scored,
                hr_staff=sorted(self._hr_staff | {self._hr_supervisor}),
            ),
            id=rc.register_workflow_id(self._inp.recruitment_id),
            parent_close_policy=ParentClosePolicy.ABANDON,
            static_summary=f"Eligibility register {self._inp.recruitment_id} ({a.class_code})",
        )
        self._register_started = True
        self._refresh_visibility()
        return await self._ask_register(RegisterActivities.standing, "standing") or []

    async def _remove(self, aid: str, reason: str, disposition: str) -> None:
        self._certified = [a for a in self._certified if a != aid]
        self._candidates[aid].disposition = disposition
        await self._save_candidates(fields={"disposition"}, only=[aid])
        await self._ask_register(
            RegisterActivities.remove,
            f"remove {aid}",
            remove=er.RemoveInput(
                actor_id=self._inp.hr_reviewer_id,
                applicant_id=aid,
                reason=reason,
                request_id=run_key("remove", aid),
            ),
        )

    async def _ask_register(self, method: Callable[..., Any], what: str, **request: Any) -> Any:
        """The register's answer to a request, or None when it refused or has closed.

        Such an answer does not change on retry: it is recorded (audit, status, the UI's
        details) and the recruitment goes on without it.
        """
        call = er.RegisterCall(
            register_workflow_id=rc.register_workflow_id(self._inp.recruitment_id), **request
        )
        try:
            return await run_activity(method, call)
        except ActivityError as err:
            cause = err.cause
            if not (isinstance(cause, ApplicationError) and cause.type in REGISTER_PROBLEMS):
                raise
            problem = f"{what}: {cause.message}"
            self._register_problems.append(problem)
            self._refresh_visibility()
            await audit(
                "register",
                "system",
                "register_problem",
                problem,
                event=f"problem:{len(self._register_problems)}",
            )
            return None

    # ----- helpers ---------------------------------------------------------------------------

    async def _scoring_step(
        self, step_id: str, title: str, scorers: list[str], role: str, due: datetime
    ) -> StepState:
        return await self.run_step(
            self._step(
                step_id,
                title,
                [Participant(person_id=p, role=role) for p in scorers],
                [rc.SCORED],
                rules.not_before(due, workflow.now()),
                answer_with=AnswerWay(update=SCORE, command="hr recruitment score"),
            )
        )

    def _due_policy(self) -> DuePolicy:
        """The recruitment's clock: reminders, and escalation to the HR supervisor."""
        return DuePolicy(fallback_approver_id=self._hr_supervisor)

    async def _save_candidates(self, fields: set[str], only: list[str] | None = None) -> None:
        """Writes ``fields`` of the candidates in ``only`` (all when None) to the store."""
        wanted = set(self._candidates) if only is None else set(only)
        records = [
            rc.CandidateRecord(applicant_id=aid, **{f: getattr(c, f) for f in fields})
            for aid, c in self._candidates.items()
            if aid in wanted
        ]
        if not records:
            return
        await run_activity(
            RecruitmentActivities.record_candidates,
            rc.RecordCandidatesInput(recruitment_id=self._inp.recruitment_id, candidates=records),
            **BULK_OPTIONS,
        )
