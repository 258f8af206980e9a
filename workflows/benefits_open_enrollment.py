"""Open enrollment for a coverage year: one child enrollment per eligible employee (issue 10).

``OpenEnrollment`` (``open-enrollment-<year>``), started by ``hr benefits open-enrollment`` or
the yearly schedule, pages through the eligible employees in id order and starts one
``BenefitsEnrollment`` each (``benefits-<employee>-open-<year>``, never started twice: an id
already used, by this run or an earlier one, is counted and skipped). At most ``window`` starts
are in flight at once (a sliding window: as one child has started, the next starts), so the
server is never flooded; the parent does not wait for the children's elections. Every
``per_run_limit`` children it continues as new, carrying only the cursor (the last employee id
handled) and its counts, so each run's history stays bounded however many employees there are.
HR may pause it (no new child starts; those in flight finish starting) and resume it.

Once every child has started, it reads the year's outcomes from the store every
``poll_every`` seconds (elected, defaulted, open) until no enrollment is open, then ends with
its counts. Progress is in its ``status`` query and the UI's current details.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.benefits import BenefitsActivities
    from schemas import benefits as bn
    from schemas.search_attributes import HR_ACTION_TYPE, HR_STAGE

from workflows.human_step import ACTIVITY_OPTIONS, refused, require_hr, update_arg
from workflows.rules.benefits import OPEN_ENROLLMENT_DAYS
from workflows.rules.deadlines import end_of_day


async def run_local(method: Any, arg: Any) -> Any:
    return await workflow.execute_local_activity_method(method, arg, **ACTIVITY_OPTIONS)


@workflow.defn(name=bn.OPEN_ENROLLMENT_WORKFLOW)
class OpenEnrollment:
    @workflow.init
    def __init__(self, inp: bn.OpenEnrollmentInput) -> None:
        self._inp = inp
        self._year: int = inp.year or 0
        """The coverage year; the schedule leaves it to the run: the year after it starts."""
        self._cursor = inp.cursor
        self._started = inp.started
        self._already = inp.already
        self._failed = inp.failed
        self._paused = inp.paused
        self._closes_at = inp.closes_at
        self._stage = bn.STARTING
        self._in_flight = 0
        self._counts = bn.EnrollmentCounts()
        self._hr_staff: set[str] = set()
        self._staff_read = False
        """Whether this run has read HR staff (a run continued as new reads them again)."""
        self._shown: tuple[str, bool] | None = None

    @workflow.run
    async def run(self, inp: bn.OpenEnrollmentInput) -> bn.OpenEnrollmentProgress:
        if not self._year:
            self._year = workflow.now().year + 1
        if self._closes_at is None:
            self._closes_at = end_of_day(workflow.now().date() + timedelta(days=OPEN_ENROLLMENT_DAYS))
        facts: bn.OpenEnrollmentFacts = await run_local(
            BenefitsActivities.open_enrollment_facts, bn.ProgressQuery(year=self._year)
        )
        self._hr_staff = set(facts.hr_staff)
        self._staff_read = True
        self._show()
        started_here = 0
        while True:
            room = inp.per_run_limit - started_here
            if room <= 0:
                await workflow.wait_condition(lambda: self._in_flight == 0)
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._carried())
            page: list[str] = await run_local(
                BenefitsActivities.eligible_employees,
                bn.EligiblePage(after=self._cursor, limit=min(inp.page_size, room)),
            )
            if not page:
                break
            for employee_id in page:
                await workflow.wait_condition(lambda: not self._paused and self._in_flight < inp.window)
                self._in_flight += 1
                asyncio.ensure_future(self._start_child(employee_id))
                self._cursor = employee_id
                started_here += 1
            self._show()
        await workflow.wait_condition(lambda: self._in_flight == 0)
        self._stage = bn.WAITING
        self._show()
        if inp.wait_for_outcomes:
            while True:
                self._counts = await run_local(
                    BenefitsActivities.enrollment_counts, bn.ProgressQuery(year=self._year)
                )
                self._show()
                counted = self._counts.elected + self._counts.defaulted
                if self._counts.open == 0 and counted >= self._started:
                    break
                await workflow.sleep(timedelta(seconds=inp.poll_every), summary="progress")
        self._stage = bn.DONE
        self._show()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _start_child(self, employee_id: str) -> None:
        inp = self._inp
        try:
            await workflow.start_child_workflow(
                bn.BENEFITS_WORKFLOW,
                bn.EnrollmentInput(
                    employee_id=employee_id,
                    event=bn.OPEN_ENROLLMENT,
                    event_on=date(self._year, 1, 1),
                    requested_by=inp.requested_by,
                    year=self._year,
                    closes_at=self._closes_at,
                    parent_id=workflow.info().workflow_id,
                ),
                id=bn.enrollment_workflow_id(
                    employee_id, bn.OPEN_ENROLLMENT, date(self._year, 1, 1), self._year
                ),
                parent_close_policy=ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=f"Open enrollment {self._year} of {employee_id}",
            )
            self._started += 1
        except WorkflowAlreadyStartedError:
            self._already += 1
        finally:
            self._in_flight -= 1

    def _carried(self) -> bn.OpenEnrollmentInput:
        return self._inp.model_copy(
            update={
                "year": self._year,
                "cursor": self._cursor,
                "started": self._started,
                "already": self._already,
                "failed": self._failed,
                "runs": self._inp.runs + 1,
                "paused": self._paused,
                "closes_at": self._closes_at,
            }
        )

    # ----- pause and resume (HR) ---------------------------------------------------------------

    @workflow.update
    async def pause(self, *args: Any) -> bn.OpenEnrollmentProgress:
        """HR pauses the run: no new child starts until it is resumed."""
        inp = update_arg(bn.PauseInput, args)
        await self._hr_checked(inp, "pause open enrollment")
        self._paused = True
        self._show()
        return self.status()

    @pause.validator
    def _validate_pause(self, *args: Any) -> None:
        inp = update_arg(bn.PauseInput, args)
        if self._staff_read:  # else the handler checks, once this run has read HR staff
            require_hr(self._hr_staff, inp.actor_id, "pause open enrollment")
        if self._stage != bn.STARTING:
            raise refused(f"open enrollment {self._year} has started every enrollment; nothing to pause")
        if self._paused:
            raise refused(f"open enrollment {self._year} is already paused")

    @workflow.update
    async def resume(self, *args: Any) -> bn.OpenEnrollmentProgress:
        """HR resumes a paused run."""
        inp = update_arg(bn.PauseInput, args)
        await self._hr_checked(inp, "resume open enrollment")
        self._paused = False
        self._show()
        return self.status()

    @resume.validator
    def _validate_resume(self, *args: Any) -> None:
        inp = update_arg(bn.PauseInput, args)
        if self._staff_read:  # else the handler checks, once this run has read HR staff
            require_hr(self._hr_staff, inp.actor_id, "resume open enrollment")
        if not self._paused:
            raise refused(f"open enrollment {self._year} is not paused")

    async def _hr_checked(self, inp: bn.PauseInput, what: str) -> None:
        """An Update that came in before this run read HR staff (just after it continued as new)
        waits for them and is checked then; one the validator checked goes on at once."""
        if self._staff_read:
            return
        await workflow.wait_condition(lambda: self._staff_read)
        require_hr(self._hr_staff, inp.actor_id, what)

    # ----- progress ------------------------------------------------------------------------------

    def _stage_shown(self) -> str:
        return bn.PAUSED if self._paused and self._stage == bn.STARTING else self._stage

    @workflow.query
    def status(self) -> bn.OpenEnrollmentProgress:
        return bn.OpenEnrollmentProgress(
            workflow_id=workflow.info().workflow_id,
            year=self._year,
            stage=self._stage_shown(),
            paused=self._paused,
            closes_at=self._closes_at,
            cursor=self._cursor,
            started=self._started,
            already_started=self._already,
            failed=self._failed,
            elected=self._counts.elected,
            defaulted=self._counts.defaulted,
            open=self._counts.open,
            runs=self._inp.runs + 1,
            in_flight=self._in_flight,
        )

    def _show(self) -> None:
        """``HrStage`` when it changes; the UI's details with the counts every time."""
        stage = self._stage_shown()
        if self._shown != (stage, True):
            workflow.upsert_search_attributes(
                [HR_ACTION_TYPE.value_set(bn.OPEN_ENROLLMENT_ACTION_TYPE), HR_STAGE.value_set(stage)]
            )
            self._shown = (stage, True)
        c = self._counts
        workflow.set_current_details(
            f"**Open enrollment {self._year}:** {stage} (run {self._inp.runs + 1})\n"
            f"- started {self._started}, already started {self._already}, failed {self._failed}, "
            f"in flight {self._in_flight}, last employee {self._cursor or '-'}\n"
            f"- elected {c.elected}, defaulted {c.defaulted}, open {c.open}\n"
            f"- windows close {self._closes_at:%Y-%m-%d %H:%M} UTC"
            if self._closes_at
            else f"**Open enrollment {self._year}:** {stage}"
        )
