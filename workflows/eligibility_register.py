"""The eligibility register a recruitment leaves behind (DESIGN section 5; seed 001).

It holds the ranked list, certifies names for later vacancies, removes hired or withdrawn
candidates, and ends when its vacancies are filled, nobody is left on it, or it expires.
It continues as new whenever its history grows long, carrying its whole state, so a register
that lives for a year keeps a small history.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordActivities
    from activities.recruitment import RecruitmentActivities
    from schemas import eligibility_register as er
    from schemas.human_step import AuditInput
    from schemas.recruitment import REGISTER_ACTION_TYPE, CertificationRecord, recruitment_workflow_id
    from schemas.search_attributes import HR_ACTION_TYPE, HR_CLASS_CODE, HR_DEPARTMENT, HR_DUE_AT, HR_STAGE
    from workflows.human_step import ACTIVITY_OPTIONS, refused
    from workflows.rules.recruitment import certify


@workflow.defn(name="EligibilityRegister")
class EligibilityRegister:
    @workflow.init
    def __init__(self, inp: er.RegisterInput) -> None:
        self._s = inp.model_copy(deep=True)
        self._outcome: str | None = None

    @workflow.run
    async def run(self, inp: er.RegisterInput) -> er.RegisterResult:
        workflow.upsert_search_attributes(
            [
                HR_ACTION_TYPE.value_set(REGISTER_ACTION_TYPE),
                HR_CLASS_CODE.value_set(inp.class_code),
                HR_DEPARTMENT.value_set(inp.department_code),
                HR_STAGE.value_set("open"),
                HR_DUE_AT.value_set(inp.expires_at),
            ]
        )
        self._show()
        while self._outcome is None:
            wait = (self._s.expires_at - workflow.now()).total_seconds()
            if wait <= 0:
                self._outcome = "expired"
                break
            try:
                await workflow.wait_condition(
                    lambda: self._over() is not None or self._history_long(), timeout=wait
                )
            except TimeoutError:
                self._outcome = "expired"
                break
            self._outcome = self._over()
            if self._outcome is None and self._history_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                self._s.generation += 1
                workflow.continue_as_new(self._s)
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.upsert_search_attributes([HR_STAGE.value_set(self._outcome), HR_DUE_AT.value_unset()])
        await self._audit(
            "register",
            "system",
            f"closed_{self._outcome}",
            f"filled {len(self._s.filled)} of {self._s.vacancies}",
        )
        self._show()
        return er.RegisterResult(
            recruitment_id=self._s.recruitment_id, outcome=self._outcome, filled=self._s.filled
        )

    # ----- handlers ----------------------------------------------------------------------------

    @workflow.query
    def status(self) -> er.RegisterStatus:
        s = self._s
        return er.RegisterStatus(
            recruitment_id=s.recruitment_id,
            class_code=s.class_code,
            open=self._outcome is None,
            vacancies=s.vacancies,
            filled=s.filled,
            expires_at=s.expires_at,
            entries=s.entries,
            certifications=s.certifications,
            generation=s.generation,
        )

    @workflow.update
    async def certify(self, inp: er.CertifyInput) -> er.Certification:
        """Certifies names for a later vacancy; the same request id gives the same answer."""
        earlier = next((c for c in self._s.certifications if c.request_id == inp.request_id), None)
        if earlier is not None:
            return earlier
        names = certify(self._s.entries, inp.vacancies, self._s.plan)
        cert = er.Certification(
            request_id=inp.request_id,
            applicant_ids=names,
            vacancies=inp.vacancies,
            rule=self._s.plan.certification_rule,
            certified_by=inp.actor_id,
            at=workflow.now(),
        )
        self._s.certifications.append(cert)
        for entry in self._s.entries:
            if entry.applicant_id in names:
                entry.times_certified += 1
        self._show()
        await workflow.execute_activity_method(
            RecruitmentActivities.record_certification,
            CertificationRecord(
                key=f"{workflow.info().workflow_id}:certify:{inp.request_id}",
                recruitment_id=self._s.recruitment_id,
                request_id=inp.request_id,
                applicant_ids=names,
                vacancies=inp.vacancies,
                rule=cert.rule,
                certified_by=inp.actor_id,
                at=cert.at,
            ),
            **ACTIVITY_OPTIONS,
        )
        await self._audit(f"certify:{inp.request_id}", inp.actor_id, "certified", ", ".join(names))
        return cert

    @certify.validator
    def _validate_certify(self, inp: er.CertifyInput) -> None:
        self._require_hr(inp.actor_id, "certify from this register")
        if self._outcome is not None:
            raise refused(f"the register is closed ({self._outcome})")
        if not any(e.status == er.ACTIVE for e in self._s.entries):
            raise refused("nobody is left on the register")
        open_vacancies = self._s.vacancies - len(self._s.filled)
        if inp.vacancies > open_vacancies and not any(
            c.request_id == inp.request_id for c in self._s.certifications
        ):
            raise refused(f"the register has {open_vacancies} open vacancy(ies), not {inp.vacancies}")

    @workflow.update(name="remove")
    async def remove(self, inp: er.RemoveInput) -> er.RegisterEntry:
        """HR takes a candidate off the register (withdrawn, declined, disqualified, unreachable).

        The recruitment, if it is still running, is told, so it certifies them no more.
        """
        entry = self._apply_remove(inp)
        await self._audit(f"remove:{inp.applicant_id}", inp.actor_id, f"removed_{inp.reason}", inp.comment)
        recruitment = workflow.get_external_workflow_handle(recruitment_workflow_id(self._s.recruitment_id))
        try:
            await recruitment.signal("register_removed", inp)
        except Exception as err:  # the recruitment has ended: nothing to tell it
            workflow.logger.info("recruitment not told of the removal: %s", type(err).__name__)
        return entry

    @workflow.signal(name="certified")
    def certified(self, cert: er.Certification) -> None:
        """A certification the recruitment made from this list, kept with the register's own."""
        if any(c.request_id == cert.request_id for c in self._s.certifications):
            return
        self._s.certifications.append(cert)
        for entry in self._s.entries:
            if entry.applicant_id in cert.applicant_ids:
                entry.times_certified += 1
        self._show()

    @workflow.update(name="fill")
    async def fill_update(self, inp: er.FillInput) -> er.RegisterEntry:
        """HR records a later vacancy filled from the register (the CLI's ``register fill``)."""
        await self.fill(inp)
        entry = self._entry(inp.applicant_id)
        assert entry is not None
        return entry

    @fill_update.validator
    def _validate_fill(self, inp: er.FillInput) -> None:
        self._require_hr(inp.actor_id, "fill a vacancy from this register")
        entry = self._entry(inp.applicant_id)
        if self._outcome is not None:
            raise refused(f"the register is closed ({self._outcome})")
        if entry is None or entry.status != er.ACTIVE:
            raise refused(f"{inp.applicant_id} is not active on the register")
        if inp.position_id in self._s.filled:
            raise refused(f"{inp.position_id} was already filled from this register")

    @remove.validator
    def _validate_remove(self, inp: er.RemoveInput) -> None:
        self._require_hr(inp.actor_id, "change the register")
        problem = self._remove_problem(inp)
        if problem:
            raise refused(problem)

    @workflow.signal(name="remove")
    async def remove_signal(self, inp: er.RemoveInput) -> None:
        problem = self._remove_problem(inp)
        if problem:
            workflow.logger.warning("register removal refused: %s", problem)
            return
        self._apply_remove(inp)
        await self._audit(f"remove:{inp.applicant_id}", inp.actor_id, f"removed_{inp.reason}", inp.comment)

    @workflow.signal(name="fill")
    async def fill(self, inp: er.FillInput) -> None:
        """A vacancy was filled from the register (sent by the recruitment on a hire)."""
        entry = self._entry(inp.applicant_id)
        if entry is None or entry.status != er.ACTIVE:
            workflow.logger.warning("fill ignored: %s is not active on the register", inp.applicant_id)
            return
        entry.status = er.HIRED
        entry.reason = "hired"
        self._s.filled.append(inp.position_id)
        self._show()
        await self._audit(
            f"fill:{inp.applicant_id}", inp.actor_id, "filled", f"{inp.applicant_id} into {inp.position_id}"
        )

    # ----- helpers -----------------------------------------------------------------------------

    def _remove_problem(self, inp: er.RemoveInput) -> str | None:
        if self._outcome is not None:
            return f"the register is closed ({self._outcome})"
        entry = self._entry(inp.applicant_id)
        if entry is None:
            return f"{inp.applicant_id} is not on the register"
        if entry.status != er.ACTIVE:
            return f"{inp.applicant_id} is already off the register ({entry.reason})"
        if inp.reason not in er.REMOVAL_REASONS or inp.reason == "hired":
            reasons = ", ".join(r for r in er.REMOVAL_REASONS if r != "hired")
            return f"reason must be one of {reasons}"
        return None

    def _apply_remove(self, inp: er.RemoveInput) -> er.RegisterEntry:
        entry = self._entry(inp.applicant_id)
        assert entry is not None
        entry.status = er.REMOVED
        entry.reason = inp.reason
        self._show()
        return entry

    def _entry(self, applicant_id: str) -> er.RegisterEntry | None:
        return next((e for e in self._s.entries if e.applicant_id == applicant_id), None)

    def _require_hr(self, actor_id: str, what: str) -> None:
        if actor_id not in self._s.hr_staff:
            raise refused(f"{actor_id} may not {what}")

    def _over(self) -> str | None:
        if len(self._s.filled) >= self._s.vacancies:
            return "filled"
        if not any(e.status == er.ACTIVE for e in self._s.entries):
            return "exhausted"
        return None

    def _history_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._s.max_history_events
        )

    def _show(self) -> None:
        s = self._s
        active = [e for e in s.entries if e.status == er.ACTIVE]
        lines = [
            f"**Register** {s.recruitment_id} ({s.class_code}): {len(active)} active of {len(s.entries)}; "
            f"vacancies filled {len(s.filled)}/{s.vacancies}; expires {s.expires_at:%Y-%m-%d}",
            "| rank | applicant | final | oral | status |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {e.rank} | {e.applicant_id} | {e.final:g} | {e.oral:g} | {e.status} |" for e in s.entries
        ]
        workflow.set_current_details("\n".join(lines))

    async def _audit(self, step_id: str, actor_id: str, action: str, comment: str | None) -> None:
        wf_id = workflow.info().workflow_id
        await workflow.execute_activity_method(
            RecordActivities.record_audit,
            AuditInput(
                key=f"{wf_id}:{step_id}:{action}",
                workflow_id=wf_id,
                step_id=step_id,
                actor_id=actor_id,
                action=action,
                comment=comment,
                at=workflow.now(),
            ),
            **ACTIVITY_OPTIONS,
        )
