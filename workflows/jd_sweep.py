"""The review sweep: a review for every classification whose description is too old.

The sweep pages through the classifications due for review in code order, a page at a time
after a cursor (the last code handled), and starts their children in bounded batches with
business-key ids, so a second sweep for the same cycle finds them already started and starts
nothing twice. After ``per_run_limit`` children (or when the server suggests it) the sweep
continues as new carrying only the cursor and two counts, so every run starts with an input of
the same small size and has a history of bounded size, however many classifications there are.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from workflows.human_step import ACTIVITY_OPTIONS

with workflow.unsafe.imports_passed_through():
    from activities.directory import DirectoryActivities
    from schemas import jd_review as jd
    from schemas.search_attributes import HR_ACTION_TYPE, HR_STAGE

REVIEW_WORKFLOW = "JobDescriptionReview"
"""The child, by name (workflows/jd_review.py), so that this module need not import it."""
PAGE_LIMIT = 100
"""At most this many codes per look-up, whatever ``per_run_limit`` is."""


@workflow.defn(name="JobDescriptionReviewSweep")
class JobDescriptionReviewSweep:
    @workflow.init
    def __init__(self, inp: jd.SweepInput) -> None:
        self._cycle = inp.cycle
        self._cursor = inp.cursor
        self._started = inp.started
        self._already = inp.already_started
        self._done = False

    @workflow.run
    async def run(self, inp: jd.SweepInput) -> jd.SweepResult:
        workflow.upsert_search_attributes(
            [HR_ACTION_TYPE.value_set(jd.SWEEP_ACTION_TYPE), HR_STAGE.value_set("starting_reviews")]
        )
        as_of = inp.as_of or workflow.now().date()
        batch_size = max(inp.batch_size, 1)
        per_run_limit = max(inp.per_run_limit, 1)
        handled_this_run = 0
        while True:
            suggested = handled_this_run > 0 and workflow.info().is_continue_as_new_suggested()
            if handled_this_run >= per_run_limit or suggested:
                workflow.continue_as_new(
                    inp.model_copy(
                        update={
                            "as_of": as_of,
                            "cursor": self._cursor,
                            "started": self._started,
                            "already_started": self._already,
                        }
                    )
                )
            page = await workflow.execute_activity_method(
                DirectoryActivities.find_stale_classifications,
                jd.StaleQuery(
                    older_than_years=inp.older_than_years,
                    as_of=as_of,
                    after=self._cursor,
                    limit=min(per_run_limit - handled_this_run, PAGE_LIMIT),
                ),
                **ACTIVITY_OPTIONS,
            )
            if not page:
                break
            for i in range(0, len(page), batch_size):
                if i and workflow.info().is_continue_as_new_suggested():
                    break  # the loop's head continues as new after the last code handled
                batch = page[i : i + batch_size]
                outcomes = await asyncio.gather(*(self._start_review(inp, code) for code in batch))
                started = sum(outcomes)
                self._started += started
                self._already += len(batch) - started
                self._cursor = batch[-1]
                handled_this_run += len(batch)
                workflow.set_current_details(self._details())
        self._done = True
        workflow.set_current_details(self._details())
        workflow.upsert_search_attributes([HR_STAGE.value_set("done")])
        return self.status()

    @workflow.query
    def status(self) -> jd.SweepResult:
        return jd.SweepResult(
            cycle=self._cycle,
            started=self._started,
            already_started=self._already,
            cursor=self._cursor,
            done=self._done,
        )

    async def _start_review(self, inp: jd.SweepInput, code: str) -> bool:
        """Starts one review; False when that classification's review for the cycle already exists."""
        try:
            await workflow.start_child_workflow(
                REVIEW_WORKFLOW,
                jd.StartReviewInput(class_code=code, cycle=inp.cycle, requested_by=inp.requested_by),
                id=jd.review_workflow_id(code, inp.cycle),
                result_type=jd.ReviewResult,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                static_summary=f"Job-description review {code} (cycle {inp.cycle}), from the sweep",
            )
            return True
        except WorkflowAlreadyStartedError:
            return False

    def _details(self) -> str:
        state = "done" if self._done else f"after {self._cursor}" if self._cursor else "starting"
        return (
            f"**Classifications handled:** {state}  \n"
            f"**Reviews started:** {self._started}  \n"
            f"**Already running or done:** {self._already}"
        )
