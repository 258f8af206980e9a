"""The recruitment's input handlers: applications, screen overrides, scores, offers, checks.

A mixin of ``Recruitment``: each handler is an Update with a validator (a refused input never
enters history and changes nothing), and scores also come as a plain signal. Validators call
the pure rules; handlers change workflow state before their first ``await``.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.recruitment import RecruitmentActivities
    from schemas import eligibility_register as er
    from schemas import recruitment as rc
    from schemas.human_step import DecisionInput, Participant, StepState
    from workflows.human_step import ACTIVITY_OPTIONS, HumanSteps, refused
    from workflows.rules.human_step import DecisionRefused
    from workflows.rules.recruitment import (
        RuleRefused,
        applicant_fingerprint,
        applicant_id,
        check_result,
        check_scores,
    )

SCORING_STEPS = ("supplemental", "oral-board")


class RecruitmentInputs(HumanSteps):
    """State and handlers for what HR, raters and panel members send to a recruitment."""

    _inp: rc.OpenRecruitmentInput
    _announcement: rc.Announcement
    _candidates: dict[str, rc.CandidateView]
    _facts: dict[str, tuple[str, dict[str, float]]]
    _fingerprints: dict[str, str]
    _accepting: bool
    _assigned: dict[str, dict[str, list[str]]]
    _scores: dict[str, dict[str, dict[str, float]]]
    _certified: list[str]
    _removed: set[str]
    _selected: str | None
    _offer: rc.OfferInput | None
    _checks: dict[str, str]
    _round: int
    _overrides: list[str]
    _hr_supervisor: str
    _offer_step: str

    # ----- applications ------------------------------------------------------------------------

    @workflow.update
    async def apply(self, inp: rc.ApplyInput) -> rc.ApplyReceipt:
        """Accepts one application or a whole import; ids are given in the order received."""
        now = workflow.now()
        new: list[rc.NewApplicant] = []
        for application in inp.applications:
            aid = applicant_id(len(self._candidates) + 1)
            self._fingerprints[applicant_fingerprint(self._inp.recruitment_id, application.email)] = aid
            self._candidates[aid] = rc.CandidateView(applicant_id=aid, applied_at=now)
            self._facts[aid] = (application.education, dict(application.experience))
            new.append(rc.NewApplicant(applicant_id=aid, applied_at=now, application=application))
        self._refresh_visibility()
        ids = [n.applicant_id for n in new]
        wf_id = workflow.info().workflow_id
        await self._act(
            RecruitmentActivities.record_applications,
            rc.RecordApplicationsInput(
                recruitment_id=self._inp.recruitment_id, workflow_id=wf_id, applicants=new
            ),
        )
        source = f" from {inp.source}" if inp.source else ""
        await self._audit(
            "applications",
            inp.actor_id,
            "applications_received",
            f"{len(ids)}{source}: {', '.join(ids)}",
            key_suffix=f"received:{ids[0]}",
        )
        await self._tell(
            ids,
            "application_received",
            f"received:{ids[0]}",
            {"closes_at": f"{self._announcement.closes_at:%Y-%m-%d %H:%M} UTC"},
        )
        return rc.ApplyReceipt(applicant_ids=ids)

    @apply.validator
    def _validate_apply(self, inp: rc.ApplyInput) -> None:
        if not self._accepting:
            raise refused(f"applications are not being accepted (stage {self._stage})")
        self._require_hr(inp.actor_id, "enter applications")
        closes = self._announcement.closes_at
        if workflow.now() >= closes:
            raise refused(f"applications closed at {closes:%Y-%m-%d %H:%M} UTC")
        in_batch: dict[str, int] = {}
        for row, application in enumerate(inp.applications, start=1):
            where = f"row {row}: " if len(inp.applications) > 1 else ""
            fingerprint = applicant_fingerprint(self._inp.recruitment_id, application.email)
            if fingerprint in self._fingerprints:
                raise refused(
                    f"{where}duplicate application: this applicant is {self._fingerprints[fingerprint]}"
                )
            if fingerprint in in_batch:
                raise refused(
                    f"{where}duplicate application: the same applicant as row {in_batch[fingerprint]}"
                )
            in_batch[fingerprint] = row

    # ----- minimum-qualification screen ----------------------------------------------------------

    @workflow.update
    async def override_screen(self, inp: rc.ScreenOverrideInput) -> rc.CandidateView:
        """The HR reviewer overrides the automatic screen for one applicant, with a reason."""
        candidate = self._candidates[inp.applicant_id]
        self._overrides.append(inp.applicant_id)
        candidate.qualified = inp.qualified
        candidate.override_reason = inp.reason
        self._refresh_visibility()
        verdict = "qualified" if inp.qualified else "not qualified"
        await self._audit(
            "mq-review",
            inp.actor_id,
            "screen_overridden",
            f"{inp.applicant_id} {verdict}: {inp.reason}",
            key_suffix=f"override:{inp.applicant_id}:{len(self._overrides)}",
        )
        return candidate

    @override_screen.validator
    def _validate_override(self, inp: rc.ScreenOverrideInput) -> None:
        state = self._steps.get("mq-review")
        if state is None or state.closed:
            raise refused("the minimum-qualification review is not open")
        if inp.actor_id != self._inp.hr_reviewer_id and inp.actor_id not in self._hr_staff:
            raise refused(f"{inp.actor_id} may not override the screen")
        if inp.applicant_id not in self._candidates:
            raise refused(f"unknown applicant {inp.applicant_id}")
        if not inp.reason.strip():
            raise refused("an override needs a reason")

    # ----- scores --------------------------------------------------------------------------------

    @workflow.update(name="score")
    async def score(self, inp: rc.ScoreInput) -> rc.ScoreReceipt:
        """Records a rater's or panel member's scores; their part is done when all are in."""
        return await self._record_scores(inp)

    @score.validator
    def _validate_score(self, inp: rc.ScoreInput) -> None:
        try:
            self._score_target(inp)
        except (DecisionRefused, RuleRefused) as err:
            raise refused(str(err)) from None

    @workflow.signal(name="score")
    async def score_signal(self, inp: rc.ScoreInput) -> None:
        """The same scores as a plain signal; refused ones are logged and change nothing."""
        try:
            await self._record_scores(inp)  # checks first, before any change
        except (DecisionRefused, RuleRefused) as err:
            workflow.logger.warning("scores refused: %s", err)

    @workflow.update
    async def reassign_scorer(self, inp: rc.ReassignScorerInput) -> rc.ScoreReceipt:
        """Moves a scorer's unscored candidates to another person, who joins the step.

        The new scorer is checked in the directory first; an unknown one fails the Update and
        changes nothing. Scores already given stay and count.
        """
        a = self._announcement
        try:
            await self._act(
                RecruitmentActivities.resolve_recruitment_participants,
                rc.ResolveRecruitmentInput(
                    person_ids=[inp.to_id], department_code=a.department_code, class_code=a.class_code
                ),
            )
        except ActivityError as err:
            cause = err.cause
            raise refused(cause.message if isinstance(cause, ApplicationError) else str(err)) from None
        self._check_reassign(inp)  # again: the step may have moved on during the look-up
        state = self._steps[inp.step_id]
        assigned = self._assigned[inp.step_id]
        done = self._scores.get(inp.step_id, {}).get(inp.from_id, {})
        moved = [c for c in assigned[inp.from_id] if c not in done]
        assigned[inp.from_id] = [c for c in assigned[inp.from_id] if c in done]
        assigned[inp.to_id] = moved
        role = state.spec.participants[0].role
        state.spec.participants.append(Participant(person_id=inp.to_id, role=role))
        await self._complete_answer(
            state, inp.from_id, inp.actor_id, "reassigned", f"to {inp.to_id}: {inp.reason}"
        )
        await self._notify(state, "step_opened", [inp.to_id], f"reassigned:{inp.to_id}")
        return rc.ScoreReceipt(step_id=inp.step_id, scorer_id=inp.to_id, recorded=[], remaining=moved)

    @reassign_scorer.validator
    def _validate_reassign(self, inp: rc.ReassignScorerInput) -> None:
        self._check_reassign(inp)

    def _check_reassign(self, inp: rc.ReassignScorerInput) -> None:
        self._require_hr(inp.actor_id, "reassign a scorer")
        state = self._steps.get(inp.step_id)
        if inp.step_id not in SCORING_STEPS or state is None or state.closed:
            raise refused(f"step {inp.step_id} is not an open scoring step")
        assigned = self._assigned.get(inp.step_id, {})
        if inp.from_id not in assigned:
            raise refused(f"{inp.from_id} is not a scorer of step {inp.step_id}")
        if inp.from_id in state.answers:
            raise refused(f"{inp.from_id} has already scored every assigned candidate at {inp.step_id}")
        if inp.to_id in assigned:
            raise refused(f"{inp.to_id} already scores at {inp.step_id}; name someone else")
        if not inp.reason.strip():
            raise refused("a reassignment needs a reason")

    def _score_target(self, inp: rc.ScoreInput) -> tuple[StepState, list[str]]:
        """The scoring step and the scorer's assigned candidates; refuses a bad batch whole."""
        if inp.step_id is not None:
            if inp.step_id not in SCORING_STEPS:
                raise DecisionRefused(
                    f"unknown scoring step {inp.step_id!r} (steps: {', '.join(SCORING_STEPS)})"
                )
            state = self._steps.get(inp.step_id)
            if state is None:
                raise DecisionRefused(f"step {inp.step_id} is not open yet (stage {self._stage})")
        else:
            open_steps = [
                self._steps[s] for s in SCORING_STEPS if s in self._steps and not self._steps[s].closed
            ]
            if not open_steps:
                raise DecisionRefused(f"no scoring step is open (stage {self._stage})")
            state = open_steps[0]
        step_id = state.spec.step_id
        if state.closed:
            raise DecisionRefused(f"step {step_id} is closed")
        assigned = self._assigned.get(step_id, {}).get(inp.actor_id)
        if assigned is None:
            raise DecisionRefused(f"{inp.actor_id} is not a scorer of step {step_id}")
        if inp.actor_id in state.answers:
            raise DecisionRefused(f"{inp.actor_id} has already scored every assigned candidate at {step_id}")
        check_scores(inp.actor_id, inp.scores, assigned)
        done = self._scores.get(step_id, {}).get(inp.actor_id, {})
        for entry in inp.scores:
            if entry.applicant_id in done:
                raise DecisionRefused(f"{inp.actor_id} has already scored {entry.applicant_id} at {step_id}")
        return state, assigned

    async def _record_scores(self, inp: rc.ScoreInput) -> rc.ScoreReceipt:
        state, assigned = self._score_target(inp)
        step_id = state.spec.step_id
        mine = self._scores.setdefault(step_id, {}).setdefault(inp.actor_id, {})
        for entry in inp.scores:
            mine[entry.applicant_id] = entry.score
        remaining = [c for c in assigned if c not in mine]
        now = workflow.now()
        records = [
            rc.ScoreRecord(
                key=f"{workflow.info().workflow_id}:{step_id}:{inp.actor_id}:{e.applicant_id}",
                recruitment_id=self._inp.recruitment_id,
                step_id=step_id,
                scorer_id=inp.actor_id,
                applicant_id=e.applicant_id,
                score=e.score,
                at=now,
            )
            for e in inp.scores
        ]
        if not remaining:
            await self._complete_answer(state, inp.actor_id, inp.actor_id, rc.SCORED, inp.comment)
        else:
            self._refresh_visibility()
        await self._act(RecruitmentActivities.record_scores, rc.RecordScoresInput(scores=records))
        ids = ", ".join(e.applicant_id for e in inp.scores)
        await self._audit(
            step_id,
            inp.actor_id,
            "scores_recorded",
            f"{len(records)}: {ids}",
            key_suffix=f"scores:{records[0].key}",
        )
        return rc.ScoreReceipt(
            step_id=step_id,
            scorer_id=inp.actor_id,
            recorded=[e.applicant_id for e in inp.scores],
            remaining=remaining,
        )

    # ----- the register ------------------------------------------------------------------------

    @workflow.signal
    def register_removed(self, inp: er.RemoveInput) -> None:
        """HR took a candidate off the register: they are no longer certified here either."""
        candidate = self._candidates.get(inp.applicant_id)
        if candidate is None or inp.applicant_id in self._removed:
            return
        self._removed.add(inp.applicant_id)
        candidate.disposition = "withdrawn" if inp.reason == "withdrawn" else f"removed_{inp.reason}"
        self._refresh_visibility()

    # ----- selection, offer, background checks ---------------------------------------------------

    def _check_decision_extra(self, state: StepState, inp: DecisionInput) -> None:
        if state.spec.step_id.startswith("selection") and inp.decision == rc.SELECT:
            self._require_certified(inp.applicant_id or "")

    def _require_certified(self, aid: str) -> None:
        if aid not in self._certified or aid in self._removed:
            names = ", ".join(a for a in self._certified if a not in self._removed) or "nobody"
            raise DecisionRefused(
                f"{aid or 'the applicant'} is not certified to the department (certified: {names})"
            )

    @workflow.update
    async def make_offer(self, inp: rc.OfferInput) -> rc.OfferInput:
        """HR makes the conditional offer to the department's selection."""
        self._offer = inp
        state = self._steps[self._offer_step]
        await self._complete_answer(
            state,
            state.spec.participants[0].person_id,
            inp.actor_id,
            "offered",
            f"{inp.applicant_id} start {inp.start_date}",
        )
        return inp

    @make_offer.validator
    def _validate_offer(self, inp: rc.OfferInput) -> None:
        self._require_hr(inp.actor_id, "make an offer")
        state = self._steps.get(self._offer_step)
        if state is None or state.closed:
            raise refused(f"no offer is waiting to be made (stage {self._stage})")
        try:
            self._require_certified(inp.applicant_id)
        except DecisionRefused as err:
            raise refused(str(err)) from None
        if inp.applicant_id != self._selected:
            raise refused(f"the department selected {self._selected}, not {inp.applicant_id}")
        positions = self._announcement.position_ids
        if inp.position_id is not None and positions and inp.position_id not in positions:
            raise refused(
                f"position {inp.position_id} is not one this recruitment fills ({', '.join(positions)})"
            )
        if inp.start_date <= workflow.now().date():
            raise refused("the start date must be in the future")

    @workflow.update
    async def record_check(self, inp: rc.CheckResultInput) -> dict[str, str]:
        """HR records one background-check result; the step is done when all required are in."""
        self._checks[inp.check] = inp.result
        state = self._steps[f"background-{self._round}"]
        complete = all(c in self._checks for c in self._announcement.background_checks)
        wf_id = workflow.info().workflow_id
        if complete:
            await self._complete_answer(
                state, state.spec.participants[0].person_id, inp.actor_id, rc.RECORDED, "all checks recorded"
            )
        await self._act(
            RecruitmentActivities.record_check,
            rc.CheckRecord(
                key=f"{wf_id}:{self._round}:{inp.applicant_id}:{inp.check}",
                recruitment_id=self._inp.recruitment_id,
                applicant_id=inp.applicant_id,
                check=inp.check,
                result=inp.result,
                recorded_by=inp.actor_id,
                at=workflow.now(),
            ),
        )
        await self._audit(
            state.spec.step_id,
            inp.actor_id,
            f"check_{inp.result}",
            f"{inp.applicant_id} {inp.check}" + (f": {inp.comment}" if inp.comment else ""),
            key_suffix=f"check:{inp.check}",
        )
        return dict(self._checks)

    @record_check.validator
    def _validate_check(self, inp: rc.CheckResultInput) -> None:
        self._require_hr(inp.actor_id, "record background checks")
        state = self._steps.get(f"background-{self._round}")
        if state is None or state.closed:
            raise refused(f"no background check is open (stage {self._stage})")
        if self._offer is None or inp.applicant_id != self._offer.applicant_id:
            raise refused(f"{inp.applicant_id} has no accepted conditional offer; checks run only after one")
        try:
            check_result(inp.check, inp.result, self._announcement.background_checks)
        except RuleRefused as err:
            raise refused(str(err)) from None
        if inp.check in self._checks:
            raise refused(f"the {inp.check} check of {inp.applicant_id} is already recorded")

    # ----- shared helpers --------------------------------------------------------------------------

    async def _act(self, method, arg):  # type: ignore[no-untyped-def]
        return await workflow.execute_activity_method(method, arg, **ACTIVITY_OPTIONS)

    async def _tell(
        self,
        applicant_ids: list[str],
        template: str,
        key: str,
        params: dict[str, str] | None = None,
        per_applicant: dict[str, dict[str, str]] | None = None,
    ) -> None:
        """A notice to applicants (by id; the activity finds their addresses in the store)."""
        if not applicant_ids:
            return
        wf_id = workflow.info().workflow_id
        base = {
            "workflow_id": wf_id,
            "recruitment_id": self._inp.recruitment_id,
            "title": self._announcement.title,
            "class_code": self._announcement.class_code,
        }
        await self._act(
            RecruitmentActivities.notify_applicants,
            rc.ApplicantNoticeInput(
                key=f"{wf_id}:applicants:{template}:{key}",
                workflow_id=wf_id,
                recruitment_id=self._inp.recruitment_id,
                applicant_ids=sorted(set(applicant_ids)),
                template=template,
                params=base | (params or {}),
                per_applicant=per_applicant or {},
            ),
        )
