"""The recruitment's second half: certify, select, offer, background checks, hire (seeds 001, 004).

A mixin of ``Recruitment``. A decline or a disqualification takes the candidate off the
register and certifies the next names; the register workflow is told of every change.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.recruitment import RecruitmentActivities
    from schemas import eligibility_register as er
    from schemas import recruitment as rc
    from schemas.human_step import NO_RESPONSE, PROCEED, DuePolicy, Participant, StepSpec, StepState
    from schemas.search_attributes import HR_EMPLOYEE_ID
    from workflows.recruitment_inputs import RecruitmentInputs
    from workflows.rules import recruitment as rules

CHECKS_TEXT = {
    "criminal": "criminal history",
    "education": "education",
    "employment": "employment verification",
    "mvr": "motor-vehicle record",
}


class RecruitmentHiring(RecruitmentInputs):
    """From the register to a hire; also the step and record helpers both halves use."""

    _plan: rc.SelectionPlan
    _hr_supervisor: str
    _register: list[er.RegisterEntry]
    _hired: list[tuple[str, str]]
    _register_started: bool
    _offer_step: str
    _passed_over: set[str]

    async def _fill_vacancies(self) -> None:
        """Certify, select, offer, check, hire; a decline or disqualification tries the next name."""
        vacancies = self._announcement.vacancies
        while len(self._hired) < vacancies:
            names = rules.certify(self._register_view(), vacancies - len(self._hired), self._plan)
            if not names:
                return
            self._set_stage(rc.CERTIFICATION)
            self._round += 1
            self._certified = names
            await self._record_certification(names)
            selected = await self._department_selects()
            if selected is None:
                # Passed over with a reason: they stay on the register for other vacancies.
                self._passed_over.update(names)
                continue
            if not await self._offer_accepted(selected) or not await self._background_cleared(selected):
                continue
            await self._hire(selected)

    async def _department_selects(self) -> str | None:
        """The hiring manager selects a certified name, or finds none suitable (with a reason)."""
        self._set_stage(rc.SELECTION)
        step = await self.run_step_delegated(
            self._spec(
                f"selection-{self._round}",
                "Select a candidate from the certified names",
                [Participant(person_id=self._inp.hiring_manager_id, role="hiring_manager")],
                [rc.SELECT, rc.NONE_SUITABLE],
                timedelta(days=self._plan.selection_days),
                required_fields={rc.SELECT: ["applicant_id"], rc.NONE_SUITABLE: ["comment"]},
            )
        )
        answer = next(iter(step.answers.values()))
        if answer.decision == rc.NONE_SUITABLE:
            return None
        selected = answer.applicant_id
        assert selected is not None
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
        answer = await self.run_step_delegated(
            self._spec(
                f"offer-answer-{self._round}",
                f"Record {selected}'s answer to the conditional offer",
                [Participant(person_id=self._inp.hr_reviewer_id, role="hr_reviewer")],
                [rc.ACCEPT, rc.DECLINE],
                timedelta(days=self._plan.offer_answer_days),
            )
        )
        if next(iter(answer.answers.values())).decision == rc.ACCEPT:
            return True
        await self._remove(selected, "declined", "declined_offer")
        return False

    async def _offer_made(self, selected: str) -> rc.OfferInput:
        """HR makes the offer; one into a position that cannot take the hire is made again."""
        for attempt in itertools.count(1):
            self._offer = None
            self._offer_step = f"offer-{self._round}" + (f"-{attempt}" if attempt > 1 else "")
            await self.run_step_delegated(
                self._spec(
                    self._offer_step,
                    f"Make the conditional offer to {selected}",
                    [Participant(person_id=self._inp.hr_reviewer_id, role="hr_reviewer")],
                    ["offered"],
                    timedelta(days=self._plan.hr_decision_days),
                )
            )
            offer = self._offer
            assert offer is not None
            position = offer.position_id or self._vacant_position()
            problem = None
            if position is not None:
                problem = await self._act(
                    RecruitmentActivities.position_problem,
                    rc.PositionCheckInput(position_id=position, class_code=self._announcement.class_code),
                )
            if problem is None:
                self._offer = offer.model_copy(update={"position_id": position})
                return self._offer
            await self._audit(self._offer_step, "system", "offer_refused", problem)
            await self._notify(
                self._steps[self._offer_step],
                "offer_refused",
                [offer.actor_id],
                "refused",
                extra={"outcome": f"the offer to {selected} was not sent: {problem}; make it again"},
            )
        raise AssertionError("unreachable")

    async def _record_hire(self, selected: str, offer: rc.OfferInput, position: str | None) -> rc.HireResult:
        wf_id = workflow.info().workflow_id
        return await self._act(
            RecruitmentActivities.record_hire,
            rc.HireInput(
                key=f"{wf_id}:hire:{selected}:{position or 'none'}",
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
        await self.run_step_delegated(
            self._spec(
                f"background-{self._round}",
                f"Record the background checks of {selected}",
                [Participant(person_id=self._inp.hr_reviewer_id, role="hr_reviewer")],
                [rc.RECORDED],
                timedelta(days=self._plan.background_days),
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
        await self.run_step_delegated(
            self._spec(
                f"candidate-answer-{self._round}",
                f"Record {selected}'s answer to the background record (window closes {answer_by:%Y-%m-%d})",
                [
                    Participant(
                        person_id=self._inp.hr_reviewer_id, role="hr_reviewer", default_decision=NO_RESPONSE
                    )
                ],
                [rc.RESPONDED],
                window,
                required_fields={rc.RESPONDED: ["comment"]},
                policy=DuePolicy(
                    remind_days_before_due=[2],
                    escalate_days_after_due=0,
                    default_days_after_due=0,
                    fallback_approver_id=self._hr_supervisor,
                ),
            )
        )
        decision = await self.run_step_delegated(
            self._spec(
                f"background-decision-{self._round}",
                f"Decide on {selected} after the background record",
                [Participant(person_id=self._hr_supervisor, role="hr_supervisor")],
                [PROCEED, rc.DISQUALIFY],
                timedelta(days=self._plan.hr_decision_days),
                required_fields={rc.DISQUALIFY: ["comment"]},
            )
        )
        if next(iter(decision.answers.values())).decision == PROCEED:
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
            await self._audit(
                "hire",
                "system",
                "position_unavailable",
                f"{position}: {cause.message}",
                key_suffix=f"position_unavailable:{selected}",
            )
            position = None
            result = await self._record_hire(selected, offer, position)
        self._hired.append((selected, result.employee_id))
        self._candidates[selected].disposition = "hired"
        self._removed.add(selected)
        workflow.upsert_search_attributes([HR_EMPLOYEE_ID.value_set(result.employee_id)])
        await self._audit(
            "hire",
            offer.actor_id,
            "hired",
            f"{selected} as {result.employee_id} in {position or 'no position'}",
            key_suffix=f"hired:{selected}",
        )
        await self._signal_register(
            "fill",
            er.FillInput(actor_id=offer.actor_id, applicant_id=selected, position_id=position or "vacancy"),
        )
        await self._tell(
            [selected],
            "hired",
            f"hired-{self._round}",
            {"employee_id": result.employee_id, "start_date": offer.start_date.isoformat()},
        )
        others = [a for a in self._certified if a not in self._removed]
        for aid in others:
            self._candidates[aid].disposition = "on_register"
        await self._save_candidates(fields={"disposition"}, only=[selected, *others])
        await self._tell(others, "not_selected", f"hired-{self._round}")

    # ----- the register ------------------------------------------------------------------------

    async def _start_register(self) -> None:
        now = workflow.now()
        a = self._announcement
        await workflow.start_child_workflow(
            "EligibilityRegister",
            er.RegisterInput(
                recruitment_id=self._inp.recruitment_id,
                class_code=self._announcement.class_code,
                department_code=self._announcement.department_code,
                vacancies=self._plan.register_vacancies or self._announcement.vacancies,
                established_at=now,
                expires_at=rules.register_expires_at(now, self._plan),
                plan=self._plan,
                entries=self._register,
                hr_staff=sorted(self._hr_staff | {self._hr_supervisor}),
            ),
            id=rc.register_workflow_id(self._inp.recruitment_id),
            parent_close_policy=ParentClosePolicy.ABANDON,
            static_summary=f"Eligibility register {self._inp.recruitment_id} ({a.class_code})",
        )
        self._register_started = True
        self._refresh_visibility()

    def _register_view(self) -> list[er.RegisterEntry]:
        """The register as this recruitment certifies from it: without removed or passed-over names."""
        gone = self._removed | self._passed_over
        return [
            e.model_copy(update={"status": er.REMOVED}) if e.applicant_id in gone else e
            for e in self._register
        ]

    async def _remove(self, aid: str, reason: str, disposition: str) -> None:
        self._removed.add(aid)
        self._candidates[aid].disposition = disposition
        await self._save_candidates(fields={"disposition"}, only=[aid])
        await self._signal_register(
            "remove", er.RemoveInput(actor_id=self._inp.hr_reviewer_id, applicant_id=aid, reason=reason)
        )

    async def _signal_register(self, name: str, arg: object) -> None:
        if self._register_started:
            handle = workflow.get_external_workflow_handle(rc.register_workflow_id(self._inp.recruitment_id))
            try:
                await handle.signal(name, arg)
            except Exception as err:  # the register has closed (filled, exhausted, expired)
                workflow.logger.warning("register not told (%s): %s", name, type(err).__name__)

    async def _record_certification(self, names: list[str]) -> None:
        wf_id = workflow.info().workflow_id
        await self._act(
            RecruitmentActivities.record_certification,
            rc.CertificationRecord(
                key=f"{wf_id}:certification-{self._round}",
                recruitment_id=self._inp.recruitment_id,
                request_id=f"{wf_id}:{self._round}",
                applicant_ids=names,
                vacancies=self._announcement.vacancies - len(self._hired),
                rule=self._plan.certification_rule,
                certified_by=self._inp.requested_by,
                at=workflow.now(),
            ),
        )
        await self._audit(f"certification-{self._round}", "system", "certified", ", ".join(names))
        await self._signal_register(
            "certified",
            er.Certification(
                request_id=f"{wf_id}:{self._round}",
                applicant_ids=names,
                vacancies=self._announcement.vacancies - len(self._hired),
                rule=self._plan.certification_rule,
                certified_by=self._inp.requested_by,
                at=workflow.now(),
            ),
        )
        await self._tell(names, "certified", f"certification-{self._round}")

    # ----- helpers ---------------------------------------------------------------------------

    async def _scoring_step(
        self, step_id: str, title: str, scorers: list[str], role: str, due: datetime
    ) -> StepState:
        return await self.run_step_delegated(
            self._spec(
                step_id,
                title,
                [Participant(person_id=p, role=role) for p in scorers],
                [rc.SCORED],
                due=rules.not_before(due, workflow.now()),
            )
        )

    def _spec(
        self,
        step_id: str,
        title: str,
        participants: list[Participant],
        allowed: list[str],
        after: timedelta | None = None,
        *,
        due: datetime | None = None,
        required_fields: dict[str, list[str]] | None = None,
        requester_id: str | None = None,
        policy: DuePolicy | None = None,
    ) -> StepSpec:
        """A step with the recruitment's clock: reminders, and escalation to the HR supervisor."""
        return StepSpec(
            step_id=step_id,
            title=title,
            participants=participants,
            allowed=allowed,
            due_at=due if due is not None else workflow.now() + (after or timedelta(days=5)),
            required_fields=required_fields or {},
            requester_id=requester_id,
            policy=policy or DuePolicy(fallback_approver_id=self._hr_supervisor),
        )

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
        await self._act(
            RecruitmentActivities.record_candidates,
            rc.RecordCandidatesInput(recruitment_id=self._inp.recruitment_id, candidates=records),
        )
