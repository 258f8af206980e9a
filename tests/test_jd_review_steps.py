"""Human-step details in the review: delegation, moved due dates, withdrawal, objection, cancel."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import pytest
from sqlmodel import Session, select
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.db import utcnow
from activities.notifications import outbox_for
from cli.demo import start_review
from schemas import jd_review as jd
from schemas.human_step import DecisionInput, ExtendDueInput, WithdrawInput
from schemas.tables import Delegation, Document, JobDescriptionVersion, Signature
from service.settings import Settings
from tests.harness_common import cycle_rows, delivered, mail_arrived
from tests.review_harness import Review, approve_all


async def test_a_delegate_answers_and_is_recorded_on_behalf_of_the_supervisor(review: Review):
    probe = await review.start()
    supervisor = (await review.wait_for_step(probe, "review-1")).open_steps[0].pending[0]
    await probe.terminate("probe")
    with Session(review.engine) as s:
        s.add(
            Delegation(
                delegator_id=supervisor,
                delegate_id="E1030",
                starts_on=date.today() - timedelta(days=1),
                ends_on=date.today() + timedelta(days=60),
                reason="on leave",
                created_at=utcnow(),
            )
        )
        s.commit()

    handle = await review.start()
    await review.wait_for_step(handle, "review-1")
    receipt = await review.decide(handle, "E1030", "approve", comment="for my supervisor")
    assert receipt.person_id == supervisor and receipt.actor_id == "E1030"
    await review.drive(handle, approve_all)
    result = await handle.result()
    rows = [e for e in review.audit(handle.id) if e.actor_id == "E1030"]
    assert [(r.action, r.on_behalf_of) for r in rows] == [("approve", supervisor)]
    with Session(review.engine) as s:
        sig = s.exec(
            select(Signature).where(
                Signature.version_id == result.adopted_version_id, Signature.role == "supervisor"
            )
        ).one()
        assert (sig.person_id, sig.on_behalf_of) == ("E1030", supervisor)


async def test_a_delegation_made_while_the_review_runs_counts_for_the_steps_opened_after_it(review: Review):
    handle = await review.start()
    await review.wait_for_step(handle, "review-1")
    today = (await review.env.get_current_time()).date()
    with Session(review.engine) as s:
        s.add(
            Delegation(
                delegator_id="E1004",  # the department director, who signs at signatures-1
                delegate_id="E1030",
                starts_on=today,
                ends_on=today + timedelta(days=90),
                reason="director on leave",
                created_at=utcnow(),
            )
        )
        s.commit()
    await review.drive(handle, approve_all, until_stage=jd.SIGNATURES)
    await review.wait_for_step(handle, "signatures-1")
    receipt = await review.decide(handle, "E1030", "approve", step_id="signatures-1")
    assert (receipt.person_id, receipt.actor_id) == ("E1004", "E1030")
    await handle.terminate("test over")


async def test_hr_moves_a_due_date_and_the_reminders_follow(review: Review):
    handle = await review.start()
    status = await review.wait_for_step(handle, "review-1")
    step = status.open_steps[0]
    new_due = step.due_at + timedelta(days=10)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            "extend_due",
            ExtendDueInput(actor_id="E1004", step_id="review-1", new_due_at=new_due, reason="x"),
        )
    assert "E1004 may not extend a due date" in str(refused.value.cause)  # a director, not HR staff

    await handle.execute_update(
        "extend_due",
        ExtendDueInput(actor_id="E1008", step_id="review-1", new_due_at=new_due, reason="staff on vacation"),
    )
    assert (await review.status(handle)).open_steps[0].due_at == new_due

    # Day 9: the original first reminder (day 7) must not come; the moved one is at day 17.
    await review.env.sleep(timedelta(days=9))
    await review.status(handle)
    mail = await delivered(review.engine, review.smtp, handle.id)
    assert not any(str(m["Subject"]).startswith("Reminder") for m in mail)
    await review.env.sleep(timedelta(days=9))
    await review.wait_for(handle, lambda s: True)

    def reminded(mail: list) -> list:
        return [m for m in mail if str(m["Subject"]).startswith("Reminder")]

    await mail_arrived(review.smtp, lambda mail: len(reminded(mail)) >= 3)
    reminders = reminded(await delivered(review.engine, review.smtp, handle.id))
    assert len(reminders) == 3  # one per reviewer, from the moved schedule
    actions = [(e.actor_id, e.action, e.comment) for e in review.audit(handle.id)]
    assert ("E1008", "due_extended", "staff on vacation") in actions
    await handle.terminate("test over")


async def test_hr_withdraws_and_the_draft_is_closed(review: Review):
    handle = await review.start()
    await review.wait_for_step(handle, "review-1")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update("withdraw", WithdrawInput(actor_id="E1004", reason="no"))
    assert "E1004 may not withdraw" in str(refused.value.cause)  # a director, not HR staff
    await handle.execute_update("withdraw", WithdrawInput(actor_id="E1008", reason="reorganisation"))
    result = await handle.result()
    assert result.outcome == jd.WITHDRAWN
    with Session(review.engine) as s:
        draft = s.exec(
            select(JobDescriptionVersion).where(JobDescriptionVersion.workflow_id == handle.id)
        ).one()
        assert draft.status == "withdrawn"
        current = s.exec(
            select(JobDescriptionVersion).where(
                JobDescriptionVersion.class_code == "1821", JobDescriptionVersion.status == "current"
            )
        ).one()
        assert current.key == "seed:1821:current"
        (cycle,) = cycle_rows(review.engine, handle.id)
        assert cycle is not None and cycle.status == jd.WITHDRAWN


async def test_a_withdrawn_review_started_again_under_its_id_keeps_each_runs_records_apart(review: Review):
    settings = Settings(task_queue=review.task_queue)
    cycle = f"again{uuid.uuid4().hex[:6]}"
    first = await start_review(
        review.client,
        settings,
        class_code="1821",
        cycle=cycle,
        requested_by="E1008",
        draft_text="FIRST TEXT\n",
    )
    await review.wait_for_step(first, "review-1")
    await first.execute_update("withdraw", WithdrawInput(actor_id="E1008", reason="wrong draft sent"))
    assert (await first.result()).outcome == jd.WITHDRAWN

    second = await start_review(
        review.client,
        settings,
        class_code="1821",
        cycle=cycle,
        requested_by="E1008",
        draft_text="SECOND TEXT\n",
    )
    assert second.id == first.id and second.first_execution_run_id != first.first_execution_run_id
    status = await review.wait_for_step(second, "review-1")
    with Session(review.engine) as s:
        drafts = s.exec(
            select(JobDescriptionVersion)
            .where(JobDescriptionVersion.workflow_id == first.id)
            .order_by(JobDescriptionVersion.id)  # type: ignore[arg-type]
        ).all()
        assert [(d.text, d.status) for d in drafts] == [
            ("FIRST TEXT\n", "withdrawn"),
            ("SECOND TEXT\n", "draft"),
        ]
        assert status.draft_version_id == drafts[1].id
        assert [d.run_id for d in drafts] == [first.first_execution_run_id, second.first_execution_run_id]

    rows = await review.wait_for_audit(first.id, 3)
    by_run = {
        run: [(e.step_id, e.action) for e in rows if e.run_id == run]
        for run in (first.first_execution_run_id, second.first_execution_run_id)
    }
    assert by_run[first.first_execution_run_id] == [
        ("review-1", "opened"),
        ("process", "withdrawn"),
    ]
    assert by_run[second.first_execution_run_id] == [("review-1", "opened")]
    assert [(c.run_id, c.status) for c in cycle_rows(review.engine, first.id)] == [
        (first.first_execution_run_id, jd.WITHDRAWN),
        (second.first_execution_run_id, "in_progress"),
    ]
    # a review that ended otherwise (here: still running) is not started again
    with pytest.raises(WorkflowAlreadyStartedError):
        await start_review(review.client, settings, class_code="1821", cycle=cycle, requested_by="E1008")
    await second.terminate("test over")


async def test_a_union_objection_goes_to_hr_who_may_proceed_and_the_memo_says_so(review: Review):
    handle = await review.start()

    def objecting_union(step_id: str, person: str) -> DecisionInput | None:
        if step_id.startswith("union-"):
            return DecisionInput(actor_id=person, decision="objection", comment="wants a pay review first")
        if step_id.startswith("hr-"):
            return None
        return approve_all(step_id, person)

    status = await review.drive(handle, objecting_union, until_stage=jd.HR_DECISION)
    assert status.open_steps[0].step_id == "hr-1-union"
    await review.decide(handle, "E1005", "proceed", comment="pay is a separate matter")
    await review.drive(handle, approve_all)
    assert (await handle.result()).outcome == jd.ADOPTED
    with Session(review.engine) as s:
        memo = s.exec(
            select(Document).where(Document.workflow_id == handle.id, Document.kind == "memo")
        ).one()
        assert "objected: wants a pay review first" in memo.text


@pytest.mark.parametrize("when", ["while_an_activity_may_run", "while_waiting_for_people"])
async def test_a_cancelled_review_is_recorded_as_cancelled(review: Review, when: str):
    handle = await review.start()
    # Past the start's check (signed starts): a cancel during the check ends a run that never
    # began, with nothing recorded; after it, the review's own activities may be running.
    await review.wait_for(handle, lambda s: s.stage != "started")
    if when == "while_waiting_for_people":
        await review.wait_for_step(handle, "review-1")
        await review.wait_for_audit(handle.id, 1)
        deadline = asyncio.get_running_loop().time() + 10
        while len(outbox_for(review.engine, handle.id)) < 3 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
    await handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    (cycle,) = cycle_rows(review.engine, handle.id)
    assert cycle.status == jd.CANCELLED and cycle.finished_at is not None
