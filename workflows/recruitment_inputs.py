"""The recruitment's input handlers: applications, screen overrides, scores, offers, checks.

A mixin of ``Recruitment``: each handler is an Update with a validator (a refused input never
enters history and changes nothing), and scores also come as a plain signal. An input that
answers a step (scores, the offer, the background checks, the revised announcement) passes the
human step's one check (``_checked``) first, with the way the step is answered; handlers change
workflow state before their first ``await``.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.recruitment import RecruitmentActivities
    from schemas import eligibility_register as er
    from schemas import recruitment as rc
    from schemas.decision_details import DecisionDetails, Selection
    from schemas.human_step import REVISE, DecisionInput, StepState

from workflows.human_step import (
    BULK_OPTIONS,
    NOTICE_OPTIONS,
    HumanSteps,
    audit,
    read_signal_or_log,
    refused,
    run_activity,
    run_key,
    signed_by,
    update_arg,
)
from workflows.rules.human_step import DecisionRefused
from workflows.rules.recruitment import (
    RuleRefused,
    applicant_fingerprint,
    applicant_id,
    check_result,
    check_scores,
)

SCORE = "score"
MAKE_OFFER = "make_offer"
RECORD_CHECK = "record_check"
REVISE_ANNOUNCEMENT = "revise_announcement"


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
    _selected: str | None
    _offer: rc.OfferInput | None
    _checks: dict[str, str]
    _round: int
    _overrides: list[str]
    _hr_supervisor: str

    # ----- applications ------------------------------------------------------------------------

    @workflow.update
    async def apply(self, *args: Any) -> rc.ApplyReceipt:
        """Accepts one application or a whole import; ids are given in the order received."""
        inp = update_arg(rc.ApplyInput, args)
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
        await run_activity(
            RecruitmentActivities.record_applications,
            rc.RecordApplicationsInput(
                recruitment_id=self._inp.recruitment_id, workflow_id=wf_id, applicants=new
            ),
            **BULK_OPTIONS,
        )
        source = f" from {inp.source}" if inp.source else ""
        await audit(
            "applications",
            inp.actor_id,
            "applications_received",
            f"{len(ids)}{source}: {', '.join(ids)}",
            event=f"received:{ids[0]}",
        )
        await self._tell(
            ids,
            "application_received",
            f"received:{ids[0]}",
            {"closes_at": f"{self._announcement.closes_at:%Y-%m-%d %H:%M} UTC"},
        )
        return rc.ApplyReceipt(applicant_ids=ids)

    @apply.validator
    def _validate_apply(self, *args: Any) -> None:
        inp = update_arg(rc.ApplyInput, args)
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

    # ----- the revised announcement --------------------------------------------------------------

    @workflow.update(name=REVISE_ANNOUNCEMENT)
    async def revise_announcement(self, *args: Any) -> str:
        """HR's revised announcement, after the HR supervisor asked for changes."""
        inp = update_arg(rc.ReviseAnnouncementInput, args)
        self._check_revision(inp)
        state, answer = self._accept(REVISE_ANNOUNCEMENT, self._revision_answer(inp))
        self._announcement = inp.announcement
        await self._record_answer(state, answer)
        return state.spec.step_id

    @revise_announcement.validator
    def _validate_revise(self, *args: Any) -> None:
        inp = update_arg(rc.ReviseAnnouncementInput, args)
        self._check_revision(inp)
        self._checked(REVISE_ANNOUNCEMENT, self._revision_answer(inp))

    def _check_revision(self, inp: rc.ReviseAnnouncementInput) -> None:
        if inp.announcement.closes_at <= workflow.now():
            raise refused("the closing date must be in the future")
        if inp.announcement.class_code != self._announcement.class_code:
            raise refused(f"a revision keeps the classification {self._announcement.class_code}")

    @staticmethod
    def _revision_answer(inp: rc.ReviseAnnouncementInput) -> DecisionInput:
        return DecisionInput(actor_id=inp.actor_id, decision=REVISE, comment=inp.comment)

    # ----- minimum-qualification screen ----------------------------------------------------------

    @workflow.update
    async def override_screen(self, *args: Any) -> rc.CandidateView:
        """The HR reviewer overrides the automatic screen for one applicant, with a reason."""
        inp = update_arg(rc.ScreenOverrideInput, args)
        candidate = self._candidates[inp.applicant_id]
        self._overrides.append(inp.applicant_id)
        candidate.qualified = inp.qualified
        candidate.override_reason = inp.reason
        self._refresh_visibility()
        verdict = "qualified" if inp.qualified else "not qualified"
        await audit(
            "mq-review",
            inp.actor_id,
            "screen_overridden",
            f"{inp.applicant_id} {verdict}: {inp.reason}",
            event=f"override:{inp.applicant_id}:{len(self._overrides)}",
        )
        return candidate

    @override_screen.validator
    def _validate_override(self, *args: Any) -> None:
        inp = update_arg(rc.ScreenOverrideInput, args)
        state = self._steps.get("mq-review")
        if state is None or state.closed:
            raise refused("the minimum-qualification review is not open")
        if inp.actor_id != self._inp.hr_reviewer_id and inp.actor_id not in self._hr_staff:
            raise refused(f"{inp.actor_id} may not override the screen")
        signed_by(inp.actor_id)
        if inp.applicant_id not in self._candidates:
            raise refused(f"unknown applicant {inp.applicant_id}")
        if not inp.reason.strip():
            raise refused("an override needs a reason")

    # ----- scores --------------------------------------------------------------------------------

    @workflow.update(name=SCORE)
    async def score(self, *args: Any) -> rc.ScoreReceipt:
        """Records a rater's or panel member's scores; their part is done when all are in."""
        inp = update_arg(rc.ScoreInput, args)
        return await self._record_scores(inp)

    @score.validator
    def _validate_score(self, *args: Any) -> None:
        inp = update_arg(rc.ScoreInput, args)
        self._score_target(inp)

    @workflow.signal(name=SCORE)
    async def score_signal(self, *args: Any) -> None:
        """The same scores as a plain signal, of any shape; refused ones are logged and change
        nothing."""
        inp = read_signal_or_log(rc.ScoreInput, args, SCORE)
        if inp is None:
            return
        try:
            await self._record_scores(inp)  # checks first, before any change
        except ApplicationError as err:
            workflow.logger.warning("scores refused: %s", err.message)

    def _score_target(self, inp: rc.ScoreInput) -> tuple[StepState, str, list[str]]:
        """The scoring step, the scorer (the actor, or whom they act for) and their candidates.

        The human step's check first (the right step, answered by scores, by its scorer or a
        delegate), then the batch: every score in range and for an assigned candidate not yet
        scored. A bad batch is refused whole.
        """
        answer = DecisionInput(
            actor_id=inp.actor_id, decision=rc.SCORED, step_id=inp.step_id, comment=inp.comment
        )
        state, scorer, _ = self._checked(SCORE, answer)
        step_id = state.spec.step_id
        assigned = self._assigned.get(step_id, {}).get(scorer, [])
        done = self._scores.get(step_id, {}).get(scorer, {})
        try:
            check_scores(scorer, inp.scores, assigned)
        except RuleRefused as err:
            raise refused(str(err)) from None
        for entry in inp.scores:
            if entry.applicant_id in done:
                raise refused(f"{scorer} has already scored {entry.applicant_id} at {step_id}")
        return state, scorer, assigned

    async def _record_scores(self, inp: rc.ScoreInput) -> rc.ScoreReceipt:
        state, scorer, assigned = self._score_target(inp)
        step_id = state.spec.step_id
        mine = self._scores.setdefault(step_id, {}).setdefault(scorer, {})
        for entry in inp.scores:
            mine[entry.applicant_id] = entry.score
        remaining = [c for c in assigned if c not in mine]
        answer = None
        if not remaining:
            answer = self._take(
                state, scorer, DecisionInput(actor_id=inp.actor_id, decision=rc.SCORED, comment=inp.comment)
            )
        else:
            self._refresh_visibility()
        now = workflow.now()
        records = [
            rc.ScoreRecord(
                key=run_key(step_id, scorer, e.applicant_id),
                recruitment_id=self._inp.recruitment_id,
                step_id=step_id,
                scorer_id=scorer,
                applicant_id=e.applicant_id,
                score=e.score,
                at=now,
            )
            for e in inp.scores
        ]
        await run_activity(
            RecruitmentActivities.record_scores, rc.RecordScoresInput(scores=records), **BULK_OPTIONS
        )
        ids = ", ".join(e.applicant_id for e in inp.scores)
        await audit(
            step_id,
            inp.actor_id,
            "scores_recorded",
            f"{len(records)}: {ids}",
            on_behalf_of=scorer if scorer != inp.actor_id else None,
            event=f"scores:{scorer}:{inp.scores[0].applicant_id}",
        )
        if answer is not None:
            await self._record_answer(state, answer)
        return rc.ScoreReceipt(
            step_id=step_id,
            scorer_id=scorer,
            recorded=[e.applicant_id for e in inp.scores],
            remaining=remaining,
        )

    @workflow.update
    async def reassign_scorer(self, *args: Any) -> rc.ScoreReceipt:
        """Moves a scorer's unscored candidates to another person, who takes their place.

        The new scorer is checked in the directory first; an unknown one fails the Update and
        changes nothing. Scores already given stay and count.
        """
        inp = update_arg(rc.ReassignScorerInput, args)
        a = self._announcement
        try:
            await run_activity(
                RecruitmentActivities.resolve_recruitment_participants,
                rc.ResolveRecruitmentInput(
                    person_ids=[inp.to_id], department_code=a.department_code, class_code=a.class_code
                ),
            )
        except ActivityError as err:
            cause = err.cause
            raise refused(cause.message if isinstance(cause, ApplicationError) else str(err)) from None
        state = self._check_reassign_scorer(inp)  # again: the step may have moved on meanwhile
        assigned = self._assigned[inp.step_id]
        done = self._scores.get(inp.step_id, {}).get(inp.from_id, {})
        moved = [c for c in assigned[inp.from_id] if c not in done]
        assigned[inp.from_id] = [c for c in assigned[inp.from_id] if c in done]
        assigned[inp.to_id] = moved
        await self._reassign(state, inp.from_id, inp.to_id, inp.actor_id, inp.reason)
        return rc.ScoreReceipt(step_id=inp.step_id, scorer_id=inp.to_id, recorded=[], remaining=moved)

    @reassign_scorer.validator
    def _validate_reassign(self, *args: Any) -> None:
        inp = update_arg(rc.ReassignScorerInput, args)
        self._check_reassign_scorer(inp)

    def _check_reassign_scorer(self, inp: rc.ReassignScorerInput) -> StepState:
        state = self._check_reassign(inp.step_id, inp.from_id, inp.to_id, inp.actor_id, inp.reason)
        if state.spec.answer_with.update != SCORE:
            raise refused(f"step {inp.step_id} is not a scoring step")
        return state

    # ----- the register ------------------------------------------------------------------------

    @workflow.signal
    def register_removed(self, *args: Any) -> None:
        """HR took a candidate off the register: they can no longer be selected here either."""
        inp = read_signal_or_log(er.RemoveInput, args, "register_removed")
        if inp is None:
            return
        candidate = self._candidates.get(inp.applicant_id)
        if candidate is None or inp.applicant_id not in self._certified:
            return
        self._certified.remove(inp.applicant_id)
        candidate.disposition = "withdrawn" if inp.reason == "withdrawn" else f"removed_{inp.reason}"
        self._refresh_visibility()

    # ----- selection, offer, background checks ---------------------------------------------------

    def _check_answer_extra(
        self, state: StepState, inp: DecisionInput, details: DecisionDetails | None
    ) -> None:
        if isinstance(details, Selection):
            self._require_certified(details.applicant_id)

    def _require_certified(self, aid: str) -> None:
        if aid not in self._certified:
            names = ", ".join(self._certified) or "nobody"
            raise DecisionRefused(f"{aid} is not certified to the department (certified: {names})")

    @workflow.update(name=MAKE_OFFER)
    async def make_offer(self, *args: Any) -> rc.OfferInput:
        """HR makes the conditional offer to the department's selection."""
        inp = update_arg(rc.OfferInput, args)
        self._check_offer(inp)
        state, answer = self._accept(MAKE_OFFER, self._offer_answer(inp))
        self._offer = inp
        await self._record_answer(state, answer)
        return inp

    @make_offer.validator
    def _validate_offer(self, *args: Any) -> None:
        inp = update_arg(rc.OfferInput, args)
        self._checked(MAKE_OFFER, self._offer_answer(inp))
        self._check_offer(inp)

    @staticmethod
    def _offer_answer(inp: rc.OfferInput) -> DecisionInput:
        return DecisionInput(
            actor_id=inp.actor_id, decision=rc.OFFERED, comment=f"{inp.applicant_id} start {inp.start_date}"
        )

    def _check_offer(self, inp: rc.OfferInput) -> None:
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

    @workflow.update(name=RECORD_CHECK)
    async def record_check(self, *args: Any) -> dict[str, str]:
        """HR records one background-check result; the step is done when all required are in."""
        inp = update_arg(rc.CheckResultInput, args)
        state, person_id = self._check_target(inp)
        self._checks[inp.check] = inp.result
        answer = None
        if all(c in self._checks for c in self._announcement.background_checks):
            answer = self._take(
                state,
                person_id,
                DecisionInput(actor_id=inp.actor_id, decision=rc.RECORDED, comment="all checks recorded"),
            )
        await run_activity(
            RecruitmentActivities.record_check,
            rc.CheckRecord(
                key=run_key(f"background-{self._round}", inp.applicant_id, inp.check),
                recruitment_id=self._inp.recruitment_id,
                applicant_id=inp.applicant_id,
                check=inp.check,
                result=inp.result,
                recorded_by=inp.actor_id,
                at=workflow.now(),
            ),
        )
        await audit(
            state.spec.step_id,
            inp.actor_id,
            f"check_{inp.result}",
            f"{inp.applicant_id} {inp.check}" + (f": {inp.comment}" if inp.comment else ""),
            event=f"check:{inp.check}",
        )
        if answer is not None:
            await self._record_answer(state, answer)
        return dict(self._checks)

    @record_check.validator
    def _validate_check(self, *args: Any) -> None:
        inp = update_arg(rc.CheckResultInput, args)
        self._check_target(inp)

    def _check_target(self, inp: rc.CheckResultInput) -> tuple[StepState, str]:
        """The background step and whom the actor records for; refuses a check out of place."""
        state, person_id, _ = self._checked(
            RECORD_CHECK, DecisionInput(actor_id=inp.actor_id, decision=rc.RECORDED, comment=inp.comment)
        )
        if self._offer is None or inp.applicant_id != self._offer.applicant_id:
            raise refused(f"{inp.applicant_id} has no accepted conditional offer; checks run only after one")
        try:
            check_result(inp.check, inp.result, self._announcement.background_checks)
        except RuleRefused as err:
            raise refused(str(err)) from None
        if inp.check in self._checks:
            raise refused(f"the {inp.check} check of {inp.applicant_id} is already recorded")
        return state, person_id

    # ----- notices to applicants ---------------------------------------------------------------

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
        info = workflow.info()
        base = {
            "workflow_id": info.workflow_id,
            "recruitment_id": self._inp.recruitment_id,
            "title": self._announcement.title,
            "class_code": self._announcement.class_code,
        }
        await run_activity(
            RecruitmentActivities.notify_applicants,
            rc.ApplicantNoticeInput(
                key=run_key("applicants", template, key),
                workflow_id=info.workflow_id,
                run_id=info.first_execution_run_id,
                recruitment_id=self._inp.recruitment_id,
                applicant_ids=sorted(set(applicant_ids)),
                template=template,
                params=base | (params or {}),
                per_applicant=per_applicant or {},
            ),
            **NOTICE_OPTIONS,
        )
