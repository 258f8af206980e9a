"""The eligibility register a recruitment leaves behind (DESIGN section 5; seed 001).

It is the one owner of the ranked list: it ranks the passing candidates it is given, certifies
names (for the recruitment's vacancies and later ones), takes hired or withdrawn candidates
off, and ends when its vacancies are filled, nobody is left on it, or it expires. The
recruitment asks it with Updates (``standing``, ``certify``, ``remove``, ``fill``) and acts on
the answer; HR does the same from the CLI. It continues as new whenever its history grows long,
carrying its whole state, so a register that lives for a year keeps a small history.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.directory import DirectoryActivities
    from activities.recruitment import RecruitmentActivities
    from schemas import eligibility_register as er
    from schemas.recruitment import REGISTER_ACTION_TYPE, CertificationRecord, recruitment_workflow_id
    from schemas.search_attributes import HR_ACTION_TYPE, HR_CLASS_CODE, HR_DEPARTMENT, HR_DUE_AT, HR_STAGE

from workflows.human_step import audit, refused, require_hr, run_activity, run_key, update_arg
from workflows.rules.recruitment import Scored, certify, rank

HR_STAFF_FROM_DIRECTORY = "hr-staff-from-directory"
"""``workflow.patched`` id: the register reads HR staff from the directory as each run starts."""


@workflow.defn(name="EligibilityRegister")
class EligibilityRegister:
    @workflow.init
    def __init__(self, inp: er.RegisterInput) -> None:
        self._s = inp.model_copy(deep=True)
        if not self._s.entries and self._s.candidates:
            self._s.entries = rank([Scored(**c.model_dump()) for c in self._s.candidates], self._s.plan)
        self._s.candidates = []  # ranked once; continue-as-new carries the entries
        self._outcome: str | None = None
        self._staff_looked_up = False

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
        if workflow.patched(HR_STAFF_FROM_DIRECTORY):
            # who is HR staff comes from the directory's roles, not from whoever started the run
            self._s.hr_staff = await run_activity(DirectoryActivities.current_hr_staff, "register")
            self._staff_looked_up = True
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
        await audit(
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
    def standing(self, *args: Any) -> list[er.RegisterEntry]:
        """The ranked list as it stands (the recruitment tells each candidate their rank)."""
        return self._s.entries

    @standing.validator
    def _validate_standing(self, *args: Any) -> None:
        """An Update sent with arguments is refused here with a reason, not failed later."""
        if args:
            raise refused("standing takes no argument")

    @workflow.update
    async def certify(self, *args: Any) -> er.Certification:
        """Certifies names for vacancies; the same request id gives the same answer."""
        inp = update_arg(er.CertifyInput, args)
        await self._hr_from_directory(inp.actor_id, "certify from this register")
        earlier = next((c for c in self._s.certifications if c.request_id == inp.request_id), None)
        if earlier is not None:
            return earlier
        names = certify(self._s.entries, inp.vacancies, self._s.plan, exclude=inp.passed_over)
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
        await run_activity(
            RecruitmentActivities.record_certification,
            CertificationRecord(
                key=run_key("certify", inp.request_id),
                recruitment_id=self._s.recruitment_id,
                request_id=inp.request_id,
                applicant_ids=names,
                vacancies=inp.vacancies,
                rule=cert.rule,
                certified_by=inp.actor_id,
                at=cert.at,
            ),
        )
        await audit(f"certify:{inp.request_id}", inp.actor_id, "certified", ", ".join(names) or "nobody")
        return cert

    @certify.validator
    def _validate_certify(self, *args: Any) -> None:
        inp = update_arg(er.CertifyInput, args)
        if any(c.request_id == inp.request_id for c in self._s.certifications):
            return  # a repeated request: the same answer
        self._require_hr(inp.actor_id, "certify from this register")
        self._require_open()
        if not any(e.status == er.ACTIVE for e in self._s.entries):
            raise refused("nobody is left on the register")
        open_vacancies = self._s.vacancies - len(self._s.filled)
        if inp.vacancies > open_vacancies:
            raise refused(f"the register has {open_vacancies} open vacancy(ies), not {inp.vacancies}")

    @workflow.update
    async def remove(self, *args: Any) -> er.RegisterEntry:
        """Takes a candidate off the register (withdrawn, declined, disqualified, unreachable).

        A running recruitment is told, so it no longer accepts a selection of them.
        """
        inp = update_arg(er.RemoveInput, args)
        await self._hr_from_directory(inp.actor_id, "change the register")
        entry = self._entry(inp.applicant_id)
        assert entry is not None
        if self._repeated(entry, inp.request_id):
            return entry
        entry.status = er.REMOVED
        entry.reason = inp.reason
        entry.request_id = inp.request_id
        self._show()
        await audit(f"remove:{inp.applicant_id}", inp.actor_id, f"removed_{inp.reason}", inp.comment)
        if inp.request_id is None:  # HR's removal, not the recruitment's own: tell it
            await self._tell_recruitment(inp)
        return entry

    @remove.validator
    def _validate_remove(self, *args: Any) -> None:
        inp = update_arg(er.RemoveInput, args)
        entry = self._entry(inp.applicant_id)
        if entry is not None and self._repeated(entry, inp.request_id):
            return
        self._require_hr(inp.actor_id, "change the register")
        self._require_open()
        if entry is None:
            raise refused(f"{inp.applicant_id} is not on the register")
        if entry.status != er.ACTIVE:
            raise refused(f"{inp.applicant_id} is already off the register ({entry.reason})")
        if inp.reason not in er.REMOVAL_REASONS or inp.reason == "hired":
            reasons = ", ".join(r for r in er.REMOVAL_REASONS if r != "hired")
            raise refused(f"reason must be one of {reasons}")

    @workflow.update
    async def fill(self, *args: Any) -> er.RegisterEntry:
        """A vacancy filled from the register: by the recruitment's hire, or HR's later one."""
        inp = update_arg(er.FillInput, args)
        await self._hr_from_directory(inp.actor_id, "fill a vacancy from this register")
        entry = self._entry(inp.applicant_id)
        assert entry is not None
        if self._repeated(entry, inp.request_id):
            return entry
        entry.status = er.HIRED
        entry.reason = "hired"
        entry.request_id = inp.request_id
        self._s.filled.append(inp.position_id)
        self._show()
        await audit(
            f"fill:{inp.applicant_id}", inp.actor_id, "filled", f"{inp.applicant_id} into {inp.position_id}"
        )
        return entry

    @fill.validator
    def _validate_fill(self, *args: Any) -> None:
        inp = update_arg(er.FillInput, args)
        entry = self._entry(inp.applicant_id)
        if entry is not None and self._repeated(entry, inp.request_id):
            return
        self._require_hr(inp.actor_id, "fill a vacancy from this register")
        self._require_open()
        if entry is None or entry.status != er.ACTIVE:
            raise refused(f"{inp.applicant_id} is not active on the register")
        if inp.position_id in self._s.filled:
            raise refused(f"{inp.position_id} was already filled from this register")

    # ----- helpers -----------------------------------------------------------------------------

    async def _tell_recruitment(self, inp: er.RemoveInput) -> None:
        """Tells the running recruitment of HR's removal; one that has ended needs no telling."""
        recruitment = workflow.get_external_workflow_handle(recruitment_workflow_id(self._s.recruitment_id))
        try:
            await recruitment.signal("register_removed", inp)
        except ApplicationError as err:
            if err.type != "ExternalWorkflowExecutionNotFound" and "not found" not in err.message.lower():
                raise
            workflow.logger.info("recruitment has ended; not told of the removal of %s", inp.applicant_id)

    @staticmethod
    def _repeated(entry: er.RegisterEntry, request_id: str | None) -> bool:
        return request_id is not None and entry.request_id == request_id

    def _entry(self, applicant_id: str) -> er.RegisterEntry | None:
        return next((e for e in self._s.entries if e.applicant_id == applicant_id), None)

    def _require_hr(self, actor_id: str, what: str) -> None:
        require_hr(self._s.hr_staff, actor_id, what)

    async def _hr_from_directory(self, actor_id: str, what: str) -> None:
        """An HR command's handler checks its actor again once the run has read the directory's
        HR staff (its validator may have run before, against the staff the run was started with)."""
        if workflow.patched(HR_STAFF_FROM_DIRECTORY):
            await workflow.wait_condition(lambda: self._staff_looked_up)
            self._require_hr(actor_id, what)

    def _require_open(self) -> None:
        if self._outcome is not None:
            raise refused(f"the register is closed ({self._outcome})")

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
