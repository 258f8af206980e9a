"""Civil-service recruitment, from announcement to hire (DESIGN section 5; seeds 001, 000, 004).

Announcement approved → posted → applications until the close → minimum-qualification screen
→ supplemental review (7 or more qualified) → oral board → final scores and the eligibility
register → certification → the department selects → conditional offer → background checks
→ hire. Each wait for people is one human step; the rules are in ``workflows/rules``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from activities.recruitment import RecruitmentActivities
    from schemas import eligibility_register as er
    from schemas import recruitment as rc
    from schemas.human_step import APPROVE, REJECT, REQUEST_CHANGES, REVISE, AnswerWay, Participant
    from schemas.search_attributes import HR_ACTION_TYPE, HR_CLASS_CODE, HR_DEPARTMENT

from workflows.human_step import Withdrawn, audit, run_activity
from workflows.recruitment_hiring import RecruitmentHiring
from workflows.recruitment_inputs import REVISE_ANNOUNCEMENT
from workflows.rules import recruitment as rules

ON_REGISTER = ("on_register", "certified", "hired")
"""Dispositions of a ranked candidate still counted on the register (the hired too)."""


@workflow.defn(name="Recruitment")
class Recruitment(RecruitmentHiring):
    @workflow.init
    def __init__(self, inp: rc.OpenRecruitmentInput) -> None:
        self._inp = inp
        self._init_steps(hr_staff=set())  # HR staff come from the directory's roles
        self._announcement = inp.announcement
        self._plan = inp.plan
        self._candidates = {}
        self._facts = {}
        self._fingerprints = {}
        self._accepting = False
        self._assigned = {}
        self._scores = {}
        self._certified = []
        self._selected = None
        self._offer = None
        self._checks = {}
        self._round = 0
        self._ann_round = 0
        self._overrides = []
        self._offer_step = ""
        self._passed_over = set()
        self._register_problems = []
        self._qualified_count = 0
        self._hr_supervisor = inp.approver_id or ""
        self._outcome: str | None = None
        self._hired: list[tuple[str, str]] = []
        self._register_started = False

    @workflow.run
    async def run(self, inp: rc.OpenRecruitmentInput) -> rc.RecruitmentResult:
        a = inp.announcement
        workflow.upsert_search_attributes(
            [
                HR_ACTION_TYPE.value_set(rc.ACTION_TYPE),
                HR_CLASS_CODE.value_set(a.class_code),
                HR_DEPARTMENT.value_set(a.department_code),
            ]
        )
        self._set_stage(rc.ANNOUNCEMENT)
        people = self._inp.raters + self._inp.panel
        participants = await run_activity(
            RecruitmentActivities.resolve_recruitment_participants,
            rc.ResolveRecruitmentInput(
                person_ids=sorted({inp.requested_by, inp.hr_reviewer_id, inp.hiring_manager_id, *people}),
                hr_person_ids=sorted({inp.requested_by, inp.hr_reviewer_id}),
                department_code=a.department_code,
                class_code=a.class_code,
                position_ids=a.position_ids,
            ),
        )
        self._hr_supervisor = inp.approver_id or participants.hr_supervisor_id
        self._hr_staff |= set(participants.hr_staff)
        try:
            if await self._announcement_approved():
                await self._post()
                await self._accept_applications()
                await self._select_and_hire()
            else:
                self._outcome = rc.NOT_APPROVED
        except Withdrawn:
            self._outcome = rc.WITHDRAWN
        except (asyncio.CancelledError, ActivityError) as err:
            if not is_cancelled_exception(err):
                raise
            # A Temporal cancel (not HR's audited withdraw): still leave the record complete.
            self._outcome = rc.CANCELLED
            await self._close()
            raise
        await self._close()
        await workflow.wait_condition(workflow.all_handlers_finished)
        hired = self._hired[0] if self._hired else (None, None)
        return rc.RecruitmentResult(
            recruitment_id=inp.recruitment_id,
            outcome=self._outcome or rc.FAILED_SEARCH,
            applicant_id=hired[0],
            employee_id=hired[1],
            register_workflow_id=rc.register_workflow_id(inp.recruitment_id)
            if self._register_started
            else None,
        )

    @workflow.query
    def status(self) -> rc.RecruitmentStatus:
        steps = [self._snapshot(s) for s in self._steps.values()]
        return rc.RecruitmentStatus(
            workflow_id=workflow.info().workflow_id,
            recruitment_id=self._inp.recruitment_id,
            class_code=self._announcement.class_code,
            stage=self._stage,
            closes_at=self._announcement.closes_at,
            counts=self._counts(),
            open_steps=[s for s in steps if not s.closed],
            candidates=list(self._candidates.values()),
            assignments=self._assigned,
            certified=list(self._certified),
            selected=self._selected,
            offer=self._offer,
            checks=self._checks,
            outcome=self._outcome,
            employee_id=self._hired[0][1] if self._hired else None,
            register_problems=list(self._register_problems),
        )

    def _finished(self) -> bool:
        return self._outcome is not None

    # ----- the story ---------------------------------------------------------------------------

    async def _announcement_approved(self) -> bool:
        """The HR supervisor approves the announcement; changes go back to HR (bounded rounds).

        An announcement whose closing time has passed (or passes before it is approved) also
        goes back to HR for a new one.
        """
        for ann_round in range(1, self._plan.max_announcement_rounds + 1):
            self._ann_round = ann_round
            why = "The closing time has passed: set a new one"
            if self._announcement.closes_at > workflow.now():
                last = ann_round == self._plan.max_announcement_rounds
                allowed = [APPROVE, REJECT] if last else [APPROVE, REQUEST_CHANGES, REJECT]
                step = await self.run_step(
                    self._step(
                        f"announcement-{ann_round}",
                        f"Approve the announcement for {self._announcement.class_code}",
                        [Participant(person_id=self._hr_supervisor, role="hr_supervisor")],
                        allowed,
                        workflow.now() + timedelta(days=self._plan.approval_days),
                        comment_required=[REQUEST_CHANGES, REJECT],
                        requester_id=self._inp.requested_by,
                    )
                )
                decision = step.answer().decision
                if decision == REJECT:
                    return False
                if decision == APPROVE and self._announcement.closes_at > workflow.now():
                    return True
                if decision == REQUEST_CHANGES:
                    why = "Revise the announcement as the HR supervisor asked"
            if ann_round == self._plan.max_announcement_rounds:
                break
            self._set_stage(rc.REVISING)
            # HR sends the revised announcement (or withdraws the recruitment: ``hr cancel``).
            await self.run_step(
                self._step(
                    f"revision-{ann_round}",
                    why,
                    [Participant(person_id=self._inp.requested_by, role="hr")],
                    [REVISE],
                    workflow.now() + timedelta(days=self._plan.approval_days),
                    answer_with=AnswerWay(update=REVISE_ANNOUNCEMENT, command="hr recruitment revise"),
                )
            )
            self._set_stage(rc.ANNOUNCEMENT)
        return False

    async def _post(self) -> None:
        """The plan is frozen from here on and kept on record with the posting and its ads."""
        approver = self._steps[f"announcement-{self._ann_round}"].answer().actor_id
        info = workflow.info()
        await run_activity(
            RecruitmentActivities.record_posting,
            rc.PostingInput(
                recruitment_id=self._inp.recruitment_id,
                workflow_id=info.workflow_id,
                run_id=info.first_execution_run_id,
                requested_by=self._inp.requested_by,
                approved_by=approver,
                announcement=self._announcement,
                plan=self._plan,
                posted_at=workflow.now(),
            ),
        )
        await audit(
            "posting",
            self._inp.requested_by,
            "posted",
            "advertised: " + ", ".join(self._announcement.advertisements),
        )

    async def _accept_applications(self) -> None:
        self._accepting = True
        self._set_stage(rc.ACCEPTING)
        wait = (self._announcement.closes_at - workflow.now()).total_seconds()
        if wait > 0:
            try:
                await workflow.wait_condition(lambda: self._withdrawal is not None, timeout=wait)
            except TimeoutError:
                pass
        self._accepting = False
        if self._withdrawal is not None:
            raise Withdrawn()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await audit("applications", "system", "closed", f"{len(self._candidates)} application(s) received")

    async def _select_and_hire(self) -> None:
        qualified = await self._screen()
        if not qualified:
            return
        invitees = qualified
        if rules.needs_supplemental(len(qualified), self._plan):
            invitees = await self._supplemental_review(qualified)
        await self._oral_board(invitees, invite_all=invitees == qualified)
        await self._establish_register(invitees)
        await self._fill_vacancies()

    async def _screen(self) -> list[str]:
        """Seed 001: the automatic screen, confirmed or overridden by an HR reviewer."""
        self._set_stage(rc.SCREENING)
        if not self._candidates:
            return []
        for aid, candidate in self._candidates.items():
            education, experience = self._facts[aid]
            reasons = rules.screen(self._announcement.minimum_qualifications, education, experience)
            candidate.qualified = not reasons
            candidate.screen_reasons = reasons
        await self._save_candidates(fields={"qualified", "screen_reasons"})
        close = self._announcement.closes_at
        await self.run_step(
            self._step(
                "mq-review",
                "Confirm the minimum-qualification screen (override with a reason where needed)",
                [Participant(person_id=self._inp.hr_reviewer_id, role="hr_reviewer")],
                [rc.CONFIRM],
                rules.not_before(rules.screening_due(close, self._plan), workflow.now(), 1),
                answer_with=AnswerWay(command="hr recruitment confirm-screen"),
            )
        )
        qualified = [a for a, c in self._candidates.items() if c.qualified]
        not_qualified = [a for a, c in self._candidates.items() if not c.qualified]
        for aid in not_qualified:
            self._candidates[aid].disposition = "not_qualified"
        await self._save_candidates(
            fields={"qualified", "override_reason", "disposition"}, only=[*self._overrides, *not_qualified]
        )
        await self._tell(qualified, "mq_qualified", "screen")
        await self._tell(
            not_qualified,
            "mq_not_qualified",
            "screen",
            per_applicant={a: {"reasons": self._reasons(a)} for a in not_qualified},
        )
        self._qualified_count = len(qualified)
        self._refresh_visibility()
        return qualified

    async def _supplemental_review(self, qualified: list[str]) -> list[str]:
        """Seed 001: raters score the supplemental answers; the top six go to the oral board."""
        self._set_stage(rc.SUPPLEMENTAL)
        raters = self._inp.raters or [self._hr_supervisor]
        self._assigned["supplemental"] = rules.assign_raters(
            qualified, raters, self._plan.raters_per_candidate
        )
        await self._scoring_step(
            "supplemental",
            "Score the supplemental question answers (0-100)",
            raters,
            "rater",
            rules.supplemental_due(self._announcement.closes_at, self._plan),
        )
        means = rules.mean_scores(self._scores["supplemental"])
        for aid in qualified:
            self._candidates[aid].supplemental = means.get(aid)
        applied = {a: self._candidates[a].applied_at for a in qualified}
        invitees = rules.oral_board_invitees(qualified, means, applied, self._plan)
        left_out = [a for a in qualified if a not in invitees]
        for aid in left_out:
            self._candidates[aid].disposition = "not_invited_to_oral_board"
        await self._save_candidates(fields={"supplemental", "disposition"}, only=qualified)
        due = rules.oral_board_due(self._announcement.closes_at, self._plan)
        await self._tell(
            invitees,
            "supplemental_invited",
            "supplemental",
            {"oral_board_by": f"{due:%Y-%m-%d}"},
            {a: {"supplemental": f"{means.get(a, 0):g}"} for a in invitees},
        )
        await self._tell(
            left_out,
            "supplemental_not_invited",
            "supplemental",
            per_applicant={a: {"supplemental": f"{means.get(a, 0):g}"} for a in left_out},
        )
        return invitees

    async def _oral_board(self, invitees: list[str], invite_all: bool) -> None:
        """Seed 001: each panel member scores each candidate; the oral score is the panel mean."""
        self._set_stage(rc.ORAL_BOARD)
        panel = self._inp.panel or [self._hr_supervisor]
        self._assigned["oral-board"] = {member: list(invitees) for member in panel}
        due = rules.oral_board_due(self._announcement.closes_at, self._plan)
        if invite_all:
            await self._tell(invitees, "oral_board_invited", "oral", {"oral_board_by": f"{due:%Y-%m-%d}"})
        await self._scoring_step("oral-board", "Score the oral board interviews (0-100)", panel, "panel", due)
        means = rules.mean_scores(self._scores["oral-board"])
        for aid in invitees:
            self._candidates[aid].oral = means.get(aid, 0.0)

    async def _establish_register(self, invitees: list[str]) -> None:
        """Final scores; the register ranks those who pass; every candidate told score and rank."""
        scored: list[er.ScoredCandidate] = []
        for aid in invitees:
            c = self._candidates[aid]
            c.final = rules.final_score(c.oral or 0.0, c.supplemental, self._qualified_count, self._plan)
            scored.append(
                er.ScoredCandidate(
                    applicant_id=aid, final=c.final, oral=c.oral or 0.0, applied_at=c.applied_at
                )
            )
        standing: list[er.RegisterEntry] = []
        if any(rules.passes(s.final, self._plan) for s in scored):
            standing = await self._start_register(scored)
        ranks = {e.applicant_id: e.rank for e in standing}
        for aid in invitees:
            c = self._candidates[aid]
            c.rank = ranks.get(aid)
            c.disposition = "on_register" if c.rank else "did_not_pass"
        await self._save_candidates(fields={"oral", "final", "rank", "disposition"}, only=invitees)
        passed = [a for a in invitees if a in ranks]
        await self._tell(
            passed,
            "final_passed",
            "final",
            {"register_size": str(len(ranks))},
            {a: {"final": f"{self._candidates[a].final:g}", "rank": str(ranks[a])} for a in passed},
        )
        failed = [a for a in invitees if a not in ranks]
        await self._tell(
            failed,
            "final_not_passed",
            "final",
            {"pass_point": f"{self._plan.pass_point:g}"},
            {a: {"final": f"{self._candidates[a].final:g}"} for a in failed},
        )

    async def _close(self) -> None:
        """Every candidate leaves with a disposition; a search without a hire is a failed search."""
        if self._outcome is None:
            self._outcome = rc.HIRED if self._hired else rc.FAILED_SEARCH
        ended_early = self._outcome in (rc.WITHDRAWN, rc.CANCELLED)
        undecided = [a for a, c in self._candidates.items() if c.disposition is None]
        for aid in undecided:
            self._candidates[aid].disposition = "withdrawn" if ended_early else "not_qualified"
        self._set_stage(self._outcome)
        if undecided:
            await self._save_candidates(fields={"disposition"}, only=undecided)
        if self._outcome == rc.FAILED_SEARCH:
            unplaced = [
                a for a, c in self._candidates.items() if c.disposition not in ("on_register", "hired")
            ]
            await self._tell(
                unplaced,
                "recruitment_closed",
                "closed",
                per_applicant={a: {"disposition": self._candidates[a].disposition or ""} for a in unplaced},
            )
        await run_activity(
            RecruitmentActivities.record_outcome,
            rc.RecruitmentOutcomeInput(
                recruitment_id=self._inp.recruitment_id, status=self._outcome, finished_at=workflow.now()
            ),
        )
        await audit("process", "system", self._outcome, self._outcome_note(), event="outcome")

    # ----- helpers -------------------------------------------------------------------------------

    def _reasons(self, aid: str) -> str:
        c = self._candidates[aid]
        return c.override_reason or "; ".join(c.screen_reasons)

    def _counts(self) -> rc.RecruitmentCounts:
        interviewed = {c for cands in self._assigned.get("oral-board", {}).values() for c in cands}
        return rc.RecruitmentCounts(
            applied=len(self._candidates),
            qualified=sum(1 for c in self._candidates.values() if c.qualified),
            oral_board=len(interviewed),
            on_register=sum(1 for c in self._candidates.values() if c.rank and c.disposition in ON_REGISTER),
        )

    def _outcome_note(self) -> str:
        if self._hired:
            return "hired " + ", ".join(f"{a} as {e}" for a, e in self._hired)
        applied, registered = len(self._candidates), sum(1 for c in self._candidates.values() if c.rank)
        return f"{applied} applied, {self._qualified_count} qualified, {registered} on register"

    def _details(self) -> str:
        """The UI's current details: stage, counts and due dates (ids and codes only)."""
        c = self._counts()
        lines = [
            super()._details(),
            f"**Counts:** applied {c.applied} · qualified {c.qualified} · oral board {c.oral_board} · "
            f"on register {c.on_register}",
            f"**Applications close:** {self._announcement.closes_at:%Y-%m-%d %H:%M} UTC",
        ]
        lines += [f"**Register problem:** {problem}" for problem in self._register_problems]
        return "\n".join(lines)
