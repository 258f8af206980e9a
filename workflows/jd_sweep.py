"""The review sweep: a review for every classification whose description is too old.

Children start in bounded batches with business-key ids, so a second sweep for the same cycle
finds them already started and starts nothing twice. After ``per_run_limit`` children the sweep
continues as new, so its history stays small however many classifications there are.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.directory import DirectoryActivities
    from schemas import jd_review as jd
    from schemas.search_attributes import HR_ACTION_TYPE, HR_STAGE
    from workflows.human_step import ACTIVITY_OPTIONS
    from workflows.jd_review import JobDescriptionReview


@workflow.defn(name="JobDescriptionReviewSweep")
class JobDescriptionReviewSweep:
    @workflow.init
    def __init__(self, inp: jd.SweepInput) -> None:
        self._started = list(inp.started)
        self._already = list(inp.already_started)

    @workflow.run
    async def run(self, inp: jd.SweepInput) -> jd.SweepResult:
        workflow.upsert_search_attributes(
            [HR_ACTION_TYPE.value_set(jd.SWEEP_ACTION_TYPE), HR_STAGE.value_set("starting_reviews")]
        )
        as_of = inp.as_of or workflow.now().date()
        remaining = inp.remaining
        if remaining is None:
            remaining = await workflow.execute_activity_method(
                DirectoryActivities.find_stale_classifications,
                jd.StaleQuery(older_than_years=inp.older_than_years, as_of=as_of),
                **ACTIVITY_OPTIONS,
            )
        started_this_run = 0
        while remaining:
            if started_this_run >= inp.per_run_limit:
                workflow.continue_as_new(
                    inp.model_copy(
                        update={
                            "as_of": as_of,
                            "remaining": remaining,
                            "started": self._started,
                            "already_started": self._already,
                        }
                    )
                )
            batch, remaining = remaining[: max(inp.batch_size, 1)], remaining[max(inp.batch_size, 1) :]
            outcomes = await asyncio.gather(*(self._start_review(inp, code) for code in batch))
            for code, started in zip(batch, outcomes, strict=True):
                (self._started if started else self._already).append(jd.review_workflow_id(code, inp.cycle))
            started_this_run += len(batch)
            workflow.set_current_details(self._details(len(remaining)))
        workflow.upsert_search_attributes([HR_STAGE.value_set("done")])
        return self.status()

    @workflow.query
    def status(self) -> jd.SweepResult:
        info = workflow.info()
        cycle = info.workflow_id.removeprefix("jd-sweep-")
        return jd.SweepResult(cycle=cycle, started=self._started, already_started=self._already)

    async def _start_review(self, inp: jd.SweepInput, code: str) -> bool:
        """Starts one review; False when that classification's review for the cycle already exists."""
        try:
            await workflow.start_child_workflow(
                JobDescriptionReview.run,
                jd.StartReviewInput(class_code=code, cycle=inp.cycle, requested_by=inp.requested_by),
                id=jd.review_workflow_id(code, inp.cycle),
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                static_summary=f"Job-description review {code} (cycle {inp.cycle}), from the sweep",
            )
            return True
        except WorkflowAlreadyStartedError:
            return False

    def _details(self, remaining: int) -> str:
        return (
            f"**Classifications still to start:** {remaining}  \n"
            f"**Reviews started:** {len(self._started)}  \n"
            f"**Already running or done:** {len(self._already)}"
        )
