"""Job-description review cycle (DESIGN section 5; seeds 003 and 002).

Draft → supervisor and incumbents in parallel → union → director and Employee Services sign
→ memo to the Civil Service Board → the Board decides → the new version becomes current.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from activities.directory import DirectoryActivities
    from activities.records import RecordActivities
    from schemas import jd_review as jd
    from schemas.decision_details import BoardResolution, DecisionDetails, RevisedText
    from schemas.human_step import (
        AGREEABLE,
        APPROVE,
        DECIDE,
        NO_RESPONSE,
        OBJECTION,
        PROCEED,
        REJECT,
        REQUEST_CHANGES,
        REVISE,
        TABLE,
        WITHDRAW,
        Answer,
        DecisionInput,
        DuePolicy,
        Participant,
        StepSpec,
        StepState,
    )
    from schemas.search_attributes import HR_ACTION_TYPE, HR_CLASS_CODE, HR_DEPARTMENT

from workflows.human_step import HumanSteps, Withdrawn, details_of, run_key
from workflows.rules.deadlines import due_after, meeting_due_at, next_board_meeting
from workflows.rules.review import hr_choices

DRAFT_BY_REFERENCE = "draft-by-reference"
"""``workflow.patched`` id: the start input's draft is saved by reference (``save_start_draft``
reads it from the history), not sent again as an activity's input."""
REVISED_DRAFT_BY_REFERENCE = "revised-draft-by-reference"
"""``workflow.patched`` id: HR's revised (or first) draft, answered ``revise`` by the ``decide``
Update or signal, is saved by reference (``save_start_draft`` reads it from that event and
checks it), not sent again as an activity's input."""


@workflow.defn(name="JobDescriptionReview")
class JobDescriptionReview(HumanSteps):
    COALESCED = True  # one upsert per workflow task, one local activity per step moment

    @workflow.init
    def __init__(self, inp: jd.StartReviewInput) -> None:
        self._inp = inp
        self._init_steps()  # HR staff come from the directory's roles
        self._round = 0
        self._draft_version_id: int | None = None
        self._redline_id: int | None = None
        self._memo_id: int | None = None
        self._adopted_version_id: int | None = None
        self._outcome: str | None = None
        self._p: jd.ReviewParticipants | None = None
        self._board_decided = False
        self._drafts_in_history: dict[tuple[str, str], jd.DraftInHistory] = {}
        """(step, person) -> where that person's ``revise`` answer is in the history."""

    @workflow.run
    async def run(self, inp: jd.StartReviewInput) -> jd.ReviewResult:
        self._set_attributes(
            [HR_ACTION_TYPE.value_set(jd.ACTION_TYPE), HR_CLASS_CODE.value_set(inp.class_code)]
        )
        self._set_stage(jd.DRAFTING)
        resolution: str | None = None
        try:
            self._p = await self._activity(
                DirectoryActivities.resolve_review_participants,
                jd.ResolveInput(class_code=inp.class_code, requested_by=inp.requested_by),
            )
            self._hr_staff |= set(self._p.hr_staff)
            self._set_attributes([HR_DEPARTMENT.value_set(self._p.department_code)])
            await self._record_cycle("in_progress")
            try:
                review, signatures, board = await self._review_until_board_decides()
                if board.decision == APPROVE:
                    resolution = details_of(board, BoardResolution).resolution_number
                    await self._adopt(review, signatures, board)
                    self._outcome = jd.ADOPTED
                else:
                    await self._close_draft("rejected")
                    self._outcome = jd.REJECTED
            except Withdrawn:
                await self._close_draft("withdrawn")
                self._outcome = jd.WITHDRAWN
        except (asyncio.CancelledError, ActivityError) as err:
            if not is_cancelled_exception(err):
                raise
            # Cancelled while waiting on a person or on an activity: record it, then end cancelled.
            self._outcome = jd.CANCELLED
            self._set_stage(jd.CANCELLED)
            await self._record_cycle(jd.CANCELLED, final=True)
            raise
        self._set_stage(self._outcome)
        await self._record_cycle(self._outcome, final=True)
        await self._notify(
            None,
            "outcome",
            self._everyone(),
            self._outcome,
            extra={"outcome": self._outcome, "class_code": inp.class_code},
        )
        self._flush_visibility()
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._flush_visibility()
        return jd.ReviewResult(
            workflow_id=workflow.info().workflow_id,
            class_code=inp.class_code,
            outcome=self._outcome,
            rounds=self._round,
            adopted_version_id=self._adopted_version_id,
            resolution_number=resolution,
        )

    @workflow.query
    def status(self) -> jd.ReviewStatus:
        steps = [self._snapshot(s) for s in self._steps.values()]
        return jd.ReviewStatus(
            workflow_id=workflow.info().workflow_id,
            class_code=self._inp.class_code,
            cycle=self._inp.cycle,
            stage=self._stage,
            round=self._round,
            requested_by=self._inp.requested_by,
            draft_version_id=self._draft_version_id,
            memo_document_id=self._memo_id,
            adopted_version_id=self._adopted_version_id,
            outcome=self._outcome,
            open_steps=[s for s in steps if not s.closed],
            closed_steps=[s for s in steps if s.closed],
        )

    def _finished(self) -> bool:
        return self._board_decided or self._outcome is not None

    # ----- the story ---------------------------------------------------------------------------

    async def _review_until_board_decides(self) -> tuple[StepState, StepState, Answer]:
        """Runs review rounds until every party has signed off, then the memo and the Board.

        Returns the last round's review and signature steps and the Board's answer (an approval
        carries its resolution and the date of the meeting that decided).
        """
        draft = self._inp.draft_text
        from_start = draft is not None
        where: jd.DraftInHistory | None = None  # where HR's revised text is in the history
        if draft is None:
            drafted = await self._hr_step("draft-1", "Draft the revised description", [REVISE, WITHDRAW])
            draft, where = self._revision_or_withdraw(drafted)
        self._round = 1
        while True:
            await self._save_draft(draft, from_start, where)
            from_start = False
            self._set_stage(jd.REVIEW)
            review = await self.run_step(self._review_spec())
            if self._answers_with(review, REQUEST_CHANGES):
                if (revision := await self._hr_decides("review")) is not None:
                    draft, where = revision
                    continue
            union = await self._consult_union()
            if union is not None and self._answers_with(union, OBJECTION):
                if (revision := await self._hr_decides("union")) is not None:
                    draft, where = revision
                    continue
            self._set_stage(jd.SIGNATURES)
            signatures = await self.run_step(self._signature_spec())
            if self._answers_with(signatures, REQUEST_CHANGES):
                if (revision := await self._hr_decides("signatures")) is not None:
                    draft, where = revision
                    continue
            break
        await self._write_memo(review, union)
        board = await self._board_decides()
        self._board_decided = True
        return review, signatures, board

    async def _consult_union(self) -> StepState | None:
        p = self._require_participants()
        if p.union_rep_id is None:
            return None
        self._set_stage(jd.UNION)
        return await self.run_step(
            self._step(
                f"union-{self._round}",
                f"Bargaining unit consultation ({p.bargaining_unit})",
                [Participant(person_id=p.union_rep_id, role="union", escalate_to=p.hr_supervisor_id)],
                [AGREEABLE, OBJECTION],
                due_after(workflow.now(), self._inp.union_days),
                comment_required=[OBJECTION],
                requester_id=self._inp.requested_by,
            )
        )

    async def _board_decides(self) -> Answer:
        p = self._require_participants()
        self._set_stage(jd.BOARD)
        meeting = next_board_meeting(workflow.now().date())
        sitting = 1
        while True:
            step = await self.run_step(
                self._step(
                    f"board-{sitting}",
                    f"Civil Service Board meeting of {meeting.isoformat()}",
                    [
                        Participant(
                            person_id=p.board_secretary_id,
                            role="civil_service_board",
                            escalate_to=p.hr_supervisor_id,
                        )
                    ],
                    [APPROVE, REJECT, TABLE],
                    meeting_due_at(meeting),
                    details={APPROVE: "board_resolution"},
                    requester_id=self._inp.requested_by,
                )
            )
            answer = step.answer()
            if answer.decision == APPROVE:
                resolution = details_of(answer, BoardResolution)
                if resolution.meeting_date is None:
                    answer.details = resolution.model_copy(update={"meeting_date": meeting})
            if answer.decision != TABLE:
                return answer
            meeting = next_board_meeting(meeting + timedelta(days=1), agenda_lead_days=0)
            sitting += 1

    async def _hr_decides(self, after: str) -> tuple[str, jd.DraftInHistory | None] | None:
        """HR answers requested changes or an objection: revise (new round), proceed, or withdraw.

        Returns the revised text and where it is in the history, or None to proceed. Rounds are
        bounded by ``max_rounds``.
        """
        allowed = hr_choices(self._round, self._inp.max_rounds)
        step = await self._hr_step(f"hr-{self._round}-{after}", f"Respond to the {after} comments", allowed)
        if step.answer().decision == PROCEED:
            return None
        revision = self._revision_or_withdraw(step)
        await self._close_draft("replaced")
        self._round += 1
        return revision

    async def _hr_step(self, step_id: str, title: str, allowed: list[str]) -> StepState:
        p = self._require_participants()
        self._set_stage(jd.HR_DECISION if step_id.startswith("hr-") else jd.DRAFTING)
        people = [Participant(person_id=self._inp.requested_by, role="hr", escalate_to=p.hr_supervisor_id)]
        if p.hr_supervisor_id != self._inp.requested_by:
            people.append(Participant(person_id=p.hr_supervisor_id, role="hr_supervisor"))
        return await self.run_step(
            self._step(
                step_id,
                title,
                people,
                allowed,
                due_after(workflow.now(), self._inp.hr_days),
                comment_required=[PROCEED, WITHDRAW],
                details={REVISE: "revised_text"},
                mode="any",
                requester_id=self._inp.requested_by,
            )
        )

    def _revision_or_withdraw(self, step: StepState) -> tuple[str, jd.DraftInHistory | None]:
        """HR's revised text, and where its answer is in the history (None: not known)."""
        answer = step.answer()
        if answer.decision == WITHDRAW:
            raise Withdrawn()
        text = details_of(answer, RevisedText).text
        return text, self._drafts_in_history.get((step.spec.step_id, answer.person_id))

    def _take(
        self,
        state: StepState,
        person_id: str,
        inp: DecisionInput,
        details: DecisionDetails | None = None,
        source: str = "update",
    ) -> Answer:
        """Takes an answer (``HumanSteps._take``); for a ``revise`` by the ``decide`` Update or
        signal, notes where its text is in the history (the Update's id, or the signal), so the
        draft is saved by reference (``REVISED_DRAFT_BY_REFERENCE``). No command, no I/O."""
        answer = super()._take(state, person_id, inp, details, source)
        if isinstance(details, RevisedText):
            update = workflow.current_update_info()
            by_update = source == "update" and update is not None and update.name == DECIDE
            if by_update or source == "signal":
                self._drafts_in_history[(state.spec.step_id, person_id)] = jd.DraftInHistory(
                    run_id=workflow.info().run_id,
                    step_id=state.spec.step_id,
                    update_id=update.id if by_update and update is not None else None,
                    sha256=hashlib.sha256(details.text.encode("utf-8")).hexdigest(),
                )
        return answer

    # ----- step specifications -----------------------------------------------------------------

    def _due_policy(self) -> DuePolicy:
        """The review's policy; overdue people without a supervisor go to the HR supervisor."""
        policy = self._inp.policy.model_copy()
        policy.fallback_approver_id = (
            policy.fallback_approver_id or self._require_participants().hr_supervisor_id
        )
        return policy

    def _review_spec(self) -> StepSpec:
        """Seed 003: reviewed by both the supervisor of the position and the incumbent(s)."""
        p = self._require_participants()
        people = [
            Participant(person_id=s, role="supervisor", escalate_to=p.hr_supervisor_id)
            for s in p.supervisor_ids
        ] + [
            Participant(
                person_id=i,
                role="incumbent",
                default_decision=NO_RESPONSE,
                escalate_to=p.incumbent_supervisors.get(i, p.hr_supervisor_id),
            )
            for i in p.incumbent_ids
            if i not in p.supervisor_ids
        ]
        return self._step(
            f"review-{self._round}",
            f"Review the draft (round {self._round})",
            people,
            [APPROVE, REQUEST_CHANGES],
            due_after(workflow.now(), self._inp.review_days),
            comment_required=[REQUEST_CHANGES],
            requester_id=self._inp.requested_by,
        )

    def _signature_spec(self) -> StepSpec:
        """Seed 002: Department Director/Designee and Employee Services Director/Designee sign."""
        p = self._require_participants()
        people = [Participant(person_id=p.department_director_id, role="department_director")]
        if p.employee_services_director_id != p.department_director_id:
            people.append(
                Participant(person_id=p.employee_services_director_id, role="employee_services_director")
            )
        return self._step(
            f"signatures-{self._round}",
            "Director and Employee Services sign-off",
            people,
            [APPROVE, REQUEST_CHANGES],
            due_after(workflow.now(), self._inp.signature_days),
            comment_required=[REQUEST_CHANGES],
            requester_id=self._inp.requested_by,
        )

    # ----- records -----------------------------------------------------------------------------

    async def _save_draft(
        self, text: str, from_start: bool = False, where: jd.DraftInHistory | None = None
    ) -> None:
        info = workflow.info()
        inp = jd.SaveDraftInput(
            key=run_key(f"round-{self._round}"),
            workflow_id=info.workflow_id,
            run_id=info.first_execution_run_id,
            class_code=self._inp.class_code,
            round=self._round,
            text=text,
        )
        if from_start and workflow.patched(DRAFT_BY_REFERENCE):
            inp.text, inp.text_from_start = None, True
            saved = await self._activity(RecordActivities.save_start_draft, inp)
        elif where is not None and workflow.patched(REVISED_DRAFT_BY_REFERENCE):
            # ``save_start_draft`` reads any text already in the history: here HR's answer.
            inp.text, inp.text_in_history = None, where
            saved = await self._activity(RecordActivities.save_start_draft, inp)
        else:
            saved = await self._activity(RecordActivities.save_draft, inp)
        self._draft_version_id = saved.version_id
        self._redline_id = saved.redline_document_id

    async def _close_draft(self, status: str) -> None:
        if self._draft_version_id is not None:
            await self._activity(
                RecordActivities.set_version_status,
                jd.VersionStatusInput(version_id=self._draft_version_id, status=status),
            )

    async def _write_memo(self, review: StepState, union: StepState | None) -> None:
        p = self._require_participants()
        self._set_stage(jd.MEMO)
        union_answer = union.answer() if union else None
        info = workflow.info()
        assert self._draft_version_id is not None
        self._memo_id = await self._activity(
            RecordActivities.generate_memo,
            jd.MemoInput(
                key=run_key(f"round-{self._round}"),
                workflow_id=info.workflow_id,
                run_id=info.first_execution_run_id,
                class_code=self._inp.class_code,
                version_id=self._draft_version_id,
                facts=jd.MemoFacts(
                    memo_date=workflow.now().date(),
                    hr_supervisor_id=p.hr_supervisor_id,
                    supervisors_approved=self._who(review, APPROVE, "supervisor"),
                    incumbents_approved=self._who(review, APPROVE, "incumbent"),
                    no_response=self._who(review, NO_RESPONSE, "incumbent"),
                    union_position=union_answer.decision if union_answer else None,
                    union_comment=union_answer.comment if union_answer else None,
                    rounds=self._round,
                    redline_document_id=self._redline_id,
                ),
            ),
        )

    async def _adopt(self, review: StepState, signatures: StepState, board: Answer) -> None:
        """Seed 002's signature block, plus the Board's resolution, on record with their dates."""
        p = self._require_participants()
        wf_id = workflow.info().workflow_id
        facts: list[jd.SignatureFact] = []
        for state in (review, signatures):
            roles = {part.person_id: part.role for part in state.spec.participants}
            for answer in self._answers_with(state, APPROVE):
                facts.append(self._signature(roles[answer.person_id], answer))
                if (
                    roles[answer.person_id] == "department_director"
                    and p.employee_services_director_id == p.department_director_id
                ):
                    facts.append(self._signature("employee_services_director", answer))
        facts.append(self._signature("civil_service_board", board))
        resolution = details_of(board, BoardResolution)
        assert self._draft_version_id is not None and resolution.meeting_date is not None
        result = await self._activity(
            RecordActivities.adopt_version,
            jd.AdoptInput(
                key=run_key("adopt"),
                workflow_id=wf_id,
                class_code=self._inp.class_code,
                version_id=self._draft_version_id,
                board_date=resolution.meeting_date,
                resolution_number=resolution.resolution_number,
                signatures=facts,
            ),
        )
        self._adopted_version_id = result.version_id

    @staticmethod
    def _signature(role: str, answer: Answer) -> jd.SignatureFact:
        return jd.SignatureFact(
            role=role,
            person_id=answer.actor_id,
            on_behalf_of=answer.person_id if answer.actor_id != answer.person_id else None,
            decision=answer.decision,
            signed_at=answer.at,
        )

    async def _record_cycle(self, status: str, final: bool = False) -> None:
        await self._activity(
            RecordActivities.record_cycle,
            jd.CycleRecordInput(
                workflow_id=workflow.info().workflow_id,
                run_id=workflow.info().first_execution_run_id,
                class_code=self._inp.class_code,
                cycle=self._inp.cycle,
                requested_by=self._inp.requested_by,
                status=status,
                at=workflow.now(),
                adopted_version_id=self._adopted_version_id,
                final=final,
            ),
        )

    # ----- helpers -----------------------------------------------------------------------------

    def _require_participants(self) -> jd.ReviewParticipants:
        assert self._p is not None, "participants are resolved first"
        return self._p

    @staticmethod
    def _answers_with(state: StepState, decision: str) -> list[Answer]:
        return [a for a in state.answers.values() if a.decision == decision]

    @staticmethod
    def _who(state: StepState, decision: str, role: str) -> list[str]:
        roles = {part.person_id: part.role for part in state.spec.participants}
        return [
            a.person_id
            for a in state.answers.values()
            if a.decision == decision and roles[a.person_id] == role
        ]

    def _everyone(self) -> list[str]:
        p = self._p
        if p is None:
            return [self._inp.requested_by]
        people = {
            self._inp.requested_by,
            *p.supervisor_ids,
            *p.incumbent_ids,
            p.department_director_id,
            p.employee_services_director_id,
            p.hr_supervisor_id,
            p.board_secretary_id,
        }
        if p.union_rep_id:
            people.add(p.union_rep_id)
        return sorted(people)
