"""The review sweep starts a review for exactly the classifications that are due, once, and
carries only a cursor and counts across continue-as-new; its paged look-up of those due."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from activities.db import utcnow
from activities.directory import DirectoryActivities
from activities.seed import seed_city
from schemas import jd_review as jd
from schemas.tables import Classification, JobDescriptionVersion
from tests.review_harness import Review
from workflows.rules.deadlines import is_due_for_review, years_before

AS_OF = date(2026, 11, 23)
SEEDED_DUE = ("1821", "AAC30", "AST12")
"""Seeded revision dates: AAC30 2003, AST12 2008 and 1821 2010 are over ten years old on
2026-11-23; CI1659 (2023) and ITAT (2022) are not."""


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
    assert first == jd.SweepResult(cycle=cycle, started=3, already_started=0, cursor="AST12", done=True)
    children = [jd.review_workflow_id(code, cycle) for code in SEEDED_DUE]
    assert await _child_ids(review, f"jd-sweep-{cycle}") == sorted(children)

    second = await _sweep(review, f"jd-sweep-{cycle}-again", cycle)
    assert second == jd.SweepResult(cycle=cycle, started=0, already_started=3, cursor="AST12", done=True)

    for wf_id in children:
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
    assert result == jd.SweepResult(cycle=cycle, started=3, already_started=0, cursor="AST12", done=True)
    first_run = review.client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
    first_events = [e async for e in first_run.fetch_history_events()]
    assert first_events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    children = sorted(jd.review_workflow_id(code, cycle) for code in SEEDED_DUE)
    assert await _child_ids(review, handle.id) == children
    for wf_id in children:
        await review.client.get_workflow_handle(wf_id).terminate("test over")


async def _runs(review: Review, workflow_id: str) -> list[list]:
    """The history events of each run of a sweep, first run first: from the latest run back
    through each run's first event (``continued_execution_run_id``)."""
    runs: list[list] = []
    run_id: str | None = None
    while True:
        handle: WorkflowHandle = review.client.get_workflow_handle(workflow_id, run_id=run_id)
        events = list((await handle.fetch_history()).events)
        runs.insert(0, events)
        run_id = events[0].workflow_execution_started_event_attributes.continued_execution_run_id
        if not run_id:
            return runs


async def _child_ids(review: Review, workflow_id: str) -> list[str]:
    """The ids of the children every run of the sweep started, sorted, repeats kept."""
    return sorted(
        e.child_workflow_execution_started_event_attributes.workflow_execution.workflow_id
        for events in await _runs(review, workflow_id)
        for e in events
        if e.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED
    )


def _add_classification(session: Session, code: str, *versions: tuple[str, date | None]) -> None:
    """A classification of HR with the given (status, revised_on) versions."""
    session.add(Classification(code=code, title=f"Test class {code}", department_code="HR"))
    session.flush()
    for i, (status, revised_on) in enumerate(versions):
        session.add(
            JobDescriptionVersion(
                key=f"test:{code}:{i}",
                class_code=code,
                status=status,
                text=f"Test class {code}\n",
                revised_on=revised_on,
                created_at=utcnow(),
            )
        )


async def test_sweep_carries_a_cursor_and_counts_of_bounded_size(review: Review):
    """Many classifications, several continue-as-new runs: each due one gets exactly one review,
    and every run starts with an input of the same small size, however many were started."""
    old, recent = date(2004, 5, 1), date(2024, 5, 1)
    extra_due = [f"{'BMZ'[i % 3]}X{i:03d}" for i in range(25)]  # interleaved with the seeded codes
    with Session(review.engine) as session:
        for code in extra_due:
            _add_classification(session, code, ("current", old))
        _add_classification(session, "BY001", ("current", recent))  # not due
        _add_classification(session, "MY002", ("superseded", old), ("current", recent))  # not due
        session.commit()
    due = sorted([*SEEDED_DUE, *extra_due])
    not_due = ["BY001", "MY002", "CI1659", "ITAT"]

    cycle = f"bounded-{review.task_queue}"
    handle = await review.client.start_workflow(
        "JobDescriptionReviewSweep",
        jd.SweepInput(cycle=cycle, requested_by="E1008", as_of=AS_OF, batch_size=5, per_run_limit=5),
        id=jd.sweep_workflow_id(cycle),
        task_queue=review.task_queue,
        result_type=jd.SweepResult,
    )
    # The sweep needs no timer: keep the children's clocks (reminders, escalations) still.
    with review.env.auto_time_skipping_disabled():
        result = await handle.result()
    assert result == jd.SweepResult(
        cycle=cycle, started=len(due), already_started=0, cursor=due[-1], done=True
    )

    runs = await _runs(review, handle.id)
    assert len(runs) == 6  # 28 due, 5 per run
    first_run = review.client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
    assert [e async for e in first_run.fetch_history_events()] == runs[0]
    for events in runs[:-1]:
        assert events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert runs[-1][-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    input_bytes = [e[0].workflow_execution_started_event_attributes.input.ByteSize() for e in runs]
    print(f"\nsweep runs: input bytes {input_bytes}, events {[len(e) for e in runs]}")
    # The carried input is a cursor and two counts: small, and no bigger after 25 children than
    # after 5 (give or take a digit of a count and the length of a code).
    assert max(input_bytes) < 1024
    assert max(input_bytes[1:]) - min(input_bytes[1:]) <= 16
    assert max(len(e) for e in runs) < 100

    # Exactly one review per due classification, started by this sweep, none for the others.
    children = [jd.review_workflow_id(code, cycle) for code in due]
    assert await _child_ids(review, handle.id) == sorted(children)
    for wf_id in children:
        desc = await review.client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=review.client.namespace, execution=WorkflowExecution(workflow_id=wf_id)
            )
        )
        assert desc.workflow_execution_info.parent_execution.workflow_id == handle.id
    for code in not_due:
        with pytest.raises(RPCError) as err:
            await review.client.workflow_service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(
                    namespace=review.client.namespace,
                    execution=WorkflowExecution(workflow_id=jd.review_workflow_id(code, cycle)),
                )
            )
        assert err.value.status == RPCStatusCode.NOT_FOUND
    for wf_id in children:
        await review.client.get_workflow_handle(wf_id).terminate("test over")


def _page(engine: Engine, as_of: date, after: str | None = None, limit: int = 100, years: int = 10):
    return DirectoryActivities(engine).find_stale_classifications(
        jd.StaleQuery(older_than_years=years, as_of=as_of, after=after, limit=limit)
    )


def test_stale_classifications_come_a_page_at_a_time_after_the_cursor(engine: Engine):
    seed_city(engine)
    assert _page(engine, AS_OF) == list(SEEDED_DUE)
    assert _page(engine, AS_OF, limit=2) == ["1821", "AAC30"]
    assert _page(engine, AS_OF, after="AAC30", limit=2) == ["AST12"]
    assert _page(engine, AS_OF, after="AAC", limit=1) == ["AAC30"]  # a cursor need not be a code
    assert _page(engine, AS_OF, after="AST12") == []
    # Nothing due: every description is younger than 30 years; on 2016-01-01 only AAC30 (2003) is due.
    assert _page(engine, AS_OF, years=30) == []
    assert _page(engine, date(2016, 1, 1)) == ["AAC30"]
    assert _page(engine, date(2016, 1, 1), after="AAC30") == []


@pytest.mark.parametrize("as_of", [AS_OF, date(2028, 2, 29)])
def test_stale_classifications_follow_the_review_rule_at_the_age_boundary(engine: Engine, as_of: date):
    seed_city(engine)
    cutoff = years_before(as_of, 10)
    with Session(engine) as session:
        _add_classification(session, "EDGE0", ("current", cutoff))  # exactly ten years: not due
        _add_classification(session, "EDGE1", ("current", cutoff - timedelta(days=1)))  # due
        _add_classification(session, "EDGE2", ("current", cutoff + timedelta(days=1)))  # not due
        _add_classification(session, "EDGE3")  # never described: due
        _add_classification(session, "EDGE4", ("current", None))  # never revised: due
        _add_classification(session, "EDGE5", ("superseded", cutoff - timedelta(days=1)))  # no current
        _add_classification(session, "EDGE6", ("draft", date(1990, 1, 1)), ("current", cutoff))
        session.commit()
        expected = {"EDGE1", "EDGE3", "EDGE4", "EDGE5"}
        rule = {
            "EDGE0": cutoff,
            "EDGE1": cutoff - timedelta(days=1),
            "EDGE2": cutoff + timedelta(days=1),
            "EDGE3": None,
            "EDGE4": None,
            "EDGE5": None,
            "EDGE6": cutoff,
        }
    assert {code for code, revised in rule.items() if is_due_for_review(revised, as_of, 10)} == expected
    found = _page(engine, as_of, after="E")
    assert found == sorted(expected)
    # One at a time after the cursor, the same codes.
    paged: list[str] = []
    while page := _page(engine, as_of, after=paged[-1] if paged else "E", limit=1):
        paged += page
    assert paged == found
