"""The yearly review sweep a Temporal Schedule starts (service/schedules.py).

A schedule's action has a fixed input, but each year's sweep is a review cycle of its own (the
year). This small workflow reads the year from the moment it runs (``workflow.now()``, the
schedule's fire time) and runs ``JobDescriptionReviewSweep`` for that cycle as a child with the
sweep's business id (``jd-sweep-<year>``), so a sweep of that year started by hand
(``hr review sweep``) and the scheduled one never both run: the second finds the first.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from schemas import jd_review as jd
    from schemas.schedules import SCHEDULED_SWEEP_WORKFLOW, ScheduledSweepInput, ScheduledSweepResult
    from schemas.search_attributes import HR_ACTION_TYPE, HR_STAGE

SWEEP_WORKFLOW = "JobDescriptionReviewSweep"


@workflow.defn(name=SCHEDULED_SWEEP_WORKFLOW)
class ScheduledReviewSweep:
    @workflow.run
    async def run(self, inp: ScheduledSweepInput) -> ScheduledSweepResult:
        cycle = str(workflow.now().year)
        child_id = jd.sweep_workflow_id(cycle)
        workflow.upsert_search_attributes(
            [HR_ACTION_TYPE.value_set(jd.SWEEP_ACTION_TYPE), HR_STAGE.value_set("sweeping")]
        )
        workflow.set_current_details(f"**Cycle:** {cycle}  \n**Sweep:** {child_id}")
        try:
            await workflow.execute_child_workflow(
                SWEEP_WORKFLOW,
                jd.SweepInput(
                    cycle=cycle,
                    requested_by=inp.requested_by,
                    older_than_years=inp.older_than_years,
                    batch_size=inp.batch_size,
                ),
                id=child_id,
                result_type=jd.SweepResult,
                static_summary=f"Job-description review sweep (cycle {cycle}, older than "
                f"{inp.older_than_years} years), from the yearly schedule",
            )
            started_here = True
        except WorkflowAlreadyStartedError:
            started_here = False
        workflow.upsert_search_attributes([HR_STAGE.value_set("done")])
        return ScheduledSweepResult(cycle=cycle, sweep_workflow_id=child_id, started_here=started_here)
