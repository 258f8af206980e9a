"""Signed starts: a process starts only with the credential of the person its input names as the
starter, who must be HR staff (or the employee, for what they may start for themself); a refused
start fails with ``StartRefused`` before anything is written. Children and runs continued as new
are the service's own starts and are not checked.

On the time-skipping server with the real activities, SQLite/PostgreSQL and SMTP.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import Engine, func
from sqlmodel import Session, SQLModel, select
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError

import worker
from schemas import jd_review as jd
from schemas import leave as lv
from schemas.credentials import START_REFUSED
from service.signing import SigningInterceptor
from tests.conftest import _city_at_work
from tests.leave_harness import EMPLOYEE, SUPERVISOR, Leaves
from tests.review_harness import Review
from tests.signing import token_for, unsigned
from workflows.rules.starts import START_RULES, start_refusal, starter_of

AS_OF = date(2026, 11, 23)


@pytest_asyncio.fixture(loop_scope="session")
async def leaves(time_skipping_env, engine, db_url, smtp):
    async with _city_at_work(time_skipping_env, engine, db_url, smtp) as parts:
        yield Leaves(**parts)


def with_token(client: Client, token: str | None) -> Client:
    """The connection, sending ``token`` with every start whoever its input names."""
    config = client.config()
    config["interceptors"] = [SigningInterceptor(lambda _person: token)]
    return Client(**config)


def row_counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        return {
            name: s.exec(select(func.count()).select_from(table)).one()
            for name, table in SQLModel.metadata.tables.items()
        }


async def start_review(review: Review, client: Client, requested_by: str) -> WorkflowHandle:
    inp = jd.StartReviewInput(
        class_code="1821", cycle=f"t{uuid.uuid4().hex[:8]}", requested_by=requested_by, draft_text="A draft."
    )
    return await client.start_workflow(
        "JobDescriptionReview",
        inp,
        id=jd.review_workflow_id("1821", inp.cycle),
        task_queue=review.task_queue,
        result_type=jd.ReviewResult,
    )


async def refused(handle: WorkflowHandle) -> str:
    with pytest.raises(WorkflowFailureError) as err:
        await handle.result()
    cause = err.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == START_REFUSED and cause.non_retryable
    return cause.message


async def test_refused_starts_change_nothing(review: Review):
    before = row_counts(review.engine)
    cases = [
        (unsigned(review.client), "E1008", "start refused: the start carries no credential"),
        (
            with_token(review.client, token_for("E1005")),
            "E1008",
            "start refused: the credential is not E1008's",
        ),
        (
            with_token(review.client, token_for("E1008", workflow_id="jd-review-other")),
            "E1008",
            "start refused: the credential is for another workflow",
        ),
        (
            review.client,
            "E1004",
            "start refused: E1004 has no HR role and may not request a job-description review",
        ),
    ]
    for client, requested_by, reason in cases:
        handle = await start_review(review, client, requested_by)
        message = await refused(handle)
        assert message.startswith(reason), message
        assert "ey" not in message.split(":", 1)[1][:4]  # nothing of a token (JWTs start "ey")
        assert review.audit(handle.id) == [] and review.outbox(handle.id) == []
        events = [e async for e in handle.fetch_history_events()]
        kinds = {e.WhichOneof("attributes") for e in events}
        activities = [
            e.activity_task_scheduled_event_attributes.activity_type.name
            for e in events
            if e.HasField("activity_task_scheduled_event_attributes")
        ]
        assert activities == ["verify_start"]  # the check, and no step after it
        assert "start_child_workflow_execution_initiated_event_attributes" not in kinds
        assert "marker_recorded_event_attributes" in kinds  # the patch only: no local activity
    assert row_counts(review.engine) == before


async def test_an_hr_starter_is_accepted(review: Review):
    handle = await start_review(review, review.client, "E1008")
    status = await review.wait_for_step(handle, "review-1")
    assert status.open_steps[0].step_id == "review-1"
    await handle.terminate("test over")


async def test_an_employee_may_start_their_own_leave_only(leaves: Leaves):
    today = await leaves.today()
    leaves.eligible(EMPLOYEE, today)
    own = await leaves.start(today + timedelta(days=3), today + timedelta(days=10), requested_by=EMPLOYEE)
    status = await leaves.wait_for(own, lambda s: bool(s.open_steps))
    assert status.open_steps and leaves.request_row(own.id) is not None
    await own.terminate("test over")

    later = today + timedelta(days=30)
    other = await leaves.start(later, later + timedelta(days=10), requested_by=SUPERVISOR)
    assert (await refused(other)) == (
        f"start refused: {SUPERVISOR} has no HR role and may not request a leave;"
        " an employee may start only their own leave"
    )
    assert leaves.request_row(other.id) is None


async def test_children_and_runs_continued_as_new_are_not_refused(review: Review):
    cycle = f"can-{review.task_queue}"
    handle = await review.client.start_workflow(
        "JobDescriptionReviewSweep",
        jd.SweepInput(cycle=cycle, requested_by="E1008", as_of=AS_OF, batch_size=1, per_run_limit=1),
        id=f"jd-sweep-{cycle}",
        task_queue=review.task_queue,
        result_type=jd.SweepResult,
    )
    result = await handle.result()  # three runs: the later ones continued as new, unsigned
    assert result.started == 3 and result.done
    latest = await review.client.get_workflow_handle(handle.id).describe()
    assert latest.run_id != handle.first_execution_run_id
    for code in ("1821", "AAC30", "AST12"):  # the children, started by the sweep, unsigned
        child = review.client.get_workflow_handle(jd.review_workflow_id(code, cycle))
        status = await review.wait_for_step(child, "draft-1")
        assert status.stage == jd.DRAFTING
        await child.terminate("test over")


def test_every_process_of_the_worker_is_in_the_table():
    types = {w.__temporal_workflow_definition.name for w in worker.WORKFLOWS}  # type: ignore[attr-defined]
    assert types == set(START_RULES)


def test_who_may_start_what():
    hr = ["E1008"]
    review = {"requested_by": "E1004", "class_code": "1821"}
    assert starter_of("JobDescriptionReview", [review]) == "E1004"
    assert starter_of("EligibilityRegister", [{"recruitment_id": "R1"}]) is None  # a recruitment's child
    assert starter_of("SomethingElse", [review]) is None
    assert start_refusal("JobDescriptionReview", review, "E1008", hr) is None
    assert start_refusal("JobDescriptionReview", review, "E1004", hr) == (
        "E1004 has no HR role and may not request a job-description review"
    )
    resignation = {"employee_id": "E1016", "kind": "resignation"}
    assert start_refusal("PersonnelAction", resignation, "E1016", hr) is None
    assert start_refusal("PersonnelAction", resignation, "E1015", hr) is not None
    assert start_refusal("PersonnelAction", {"employee_id": "E1016", "kind": "termination"}, "E1016", hr)
    assert start_refusal("Leave", {"employee_id": "E1025"}, "E1025", hr) is None
    life = {"employee_id": "E1025", "event": "life_event"}
    assert start_refusal("BenefitsEnrollment", life, "E1025", hr) is None
    assert start_refusal("BenefitsEnrollment", {**life, "event": "new_hire"}, "E1025", hr)
    assert start_refusal("EligibilityRegister", {"requested_by": "E1008"}, "E1008", hr) is None
    assert starter_of("EligibilityRegister", [{"requested_by": "E1008"}]) == "E1008"
    assert start_refusal("EligibilityRegister", {"requested_by": "E1004"}, "E1004", hr) == (
        "E1004 has no HR role and may not open an eligibility register"
    )
    assert lv.LEAVE_WORKFLOW in START_RULES
