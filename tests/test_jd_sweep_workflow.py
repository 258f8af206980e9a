"""The review sweep starts a review for exactly the classifications that are due, once."""

from __future__ import annotations

from datetime import date

from temporalio.api.enums.v1 import EventType

from schemas import jd_review as jd
from tests.review_harness import Review

AS_OF = date(2026, 11, 23)


async def _sweep(review: Review, workflow_id: str, cycle: str) -> jd.SweepResult:
    return await review.client.execute_workflow(
        "JobDescriptionReviewSweep",
        jd.SweepInput(cycle=cycle, requested_by="E1008", as_of=AS_OF, batch_size=2),
        id=workflow_id,
        task_queue=review.task_queue,
        result_type=jd.SweepResult,
    )


async def test_sweep_starts_exactly_the_old_classifications_once(review: Review):
    cycle = f"sweep-{review.task_queue}"
    first = await _sweep(review, f"jd-sweep-{cycle}", cycle)
    # Seeded revision dates: AAC30 2003, AST12 2008 and 1821 2010 are over ten years old on
    # 2026-11-23; CI1659 (2023) and ITAT (2022) are not.
    assert sorted(first.started) == sorted(
        jd.review_workflow_id(code, cycle) for code in ("AAC30", "AST12", "1821")
    )
    assert first.already_started == []

    second = await _sweep(review, f"jd-sweep-{cycle}-again", cycle)
    assert second.started == [] and sorted(second.already_started) == sorted(first.started)

    for wf_id in first.started:
        handle = review.client.get_workflow_handle(wf_id)
        # No draft was given: HR drafts the revision first.
        status = await review.wait_for_step(handle, "draft-1")
        assert status.stage == jd.DRAFTING and status.open_steps[0].step_id == "draft-1"
        await handle.terminate("test over")


async def test_sweep_continues_as_new_and_still_starts_each_once(review: Review):
    cycle = f"can-{review.task_queue}"
    handle = await review.client.start_workflow(
        "JobDescriptionReviewSweep",
        jd.SweepInput(cycle=cycle, requested_by="E1008", as_of=AS_OF, batch_size=1, per_run_limit=1),
        id=f"jd-sweep-{cycle}",
        task_queue=review.task_queue,
        result_type=jd.SweepResult,
    )
    result = await handle.result()
    assert len(result.started) == 3 and len(set(result.started)) == 3
    first_run = review.client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
    first_events = [e async for e in first_run.fetch_history_events()]
    assert first_events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    for wf_id in result.started:
        await review.client.get_workflow_handle(wf_id).terminate("test over")
