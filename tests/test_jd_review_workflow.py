"""The review cycle on the time-skipping server, with real activities, store and SMTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select
from temporalio.client import WorkflowUpdateFailedError

from schemas import jd_review as jd
from schemas.human_step import DecisionInput
from schemas.tables import Document, JobDescriptionVersion, Position, Signature
from tests.harness_common import cycle_rows, delivered
from tests.review_harness import Review, approve_all, board_resolution
from tests.review_harness import revised as as_revised


async def test_happy_path_adopts_the_new_version_with_every_signature(review: Review):
    handle = await review.start()
    status = await review.wait_for_step(handle, "review-1")
    reviewers = status.open_steps[0].pending
    assert len(reviewers) == 3  # the supervisor and both incumbents of 1821, in parallel

    final = await review.drive(handle, approve_all)
    result = await handle.result()

    assert result.outcome == jd.ADOPTED and result.rounds == 1
    assert result.resolution_number == "26-0412R"
    assert final.stage == jd.ADOPTED
    with Session(review.engine) as s:
        versions = s.exec(
            select(JobDescriptionVersion).where(JobDescriptionVersion.class_code == "1821")
        ).all()
        current = [v for v in versions if v.status == "current"]
        assert len(current) == 1 and current[0].id == result.adopted_version_id
        assert "Coordinate and conduct benefit orientations." in current[0].text
        assert current[0].resolution_number == "26-0412R" and current[0].board_date is not None
        assert current[0].revised_on == current[0].board_date
        assert [v.status for v in versions if v.key == "seed:1821:current"] == ["superseded"]
        roles = sorted(
            sig.role for sig in s.exec(select(Signature).where(Signature.version_id == current[0].id))
        )
        assert roles == [
            "civil_service_board",
            "department_director",
            "employee_services_director",
            "incumbent",
            "incumbent",
            "supervisor",
        ]
        memo = s.exec(
            select(Document).where(Document.workflow_id == handle.id, Document.kind == "memo")
        ).one()
        assert "TO: Civil Service Board" in memo.text
        assert "SUBJECT: Revised Job Classification of Human Resources Technician" in memo.text
        assert "last revised in 2010" in memo.text and "agreeable" in memo.text
        redline = s.exec(
            select(Document).where(Document.workflow_id == handle.id, Document.kind == "redline")
        ).one()
        assert "{+" in redline.text and "[-" in redline.text
        (cycle,) = cycle_rows(review.engine, handle.id)
        assert cycle is not None and cycle.status == jd.ADOPTED and cycle.finished_at is not None

    actions = [(e.step_id, e.actor_id, e.action) for e in review.audit(handle.id)]
    for person in reviewers:
        assert ("review-1", person, "approve") in actions
    # Every reviewer was asked by e-mail, and told the outcome.
    await delivered(review.engine, review.smtp, handle.id)
    for person in reviewers:
        subjects = review.smtp.subjects_to(review.email(person))
        assert len(subjects) >= 2, subjects


async def test_changes_requested_start_a_second_round(review: Review):
    handle = await review.start()
    status = await review.wait_for_step(handle, "review-1")
    objector = status.open_steps[0].pending[-1]

    def round_one(step_id: str, person: str) -> DecisionInput | None:
        if step_id == "review-1" and person == objector:
            return DecisionInput(
                actor_id=person,
                decision="request_changes",
                comment="Duty 7 should name the Employee Benefits Representative.",
            )
        return approve_all(step_id, person)

    status = await review.drive(handle, round_one, until_stage=jd.HR_DECISION)
    hr_step = status.open_steps[0]
    assert hr_step.step_id == "hr-1-review" and "revise" in hr_step.allowed
    revised = (
        "Human Resources Technician\n\n"
        "Revised after review: refer difficult cases to the Employee Benefits Representative.\n"
    )
    await review.decide(handle, "E1008", "revise", details=as_revised(revised))

    await review.wait_for_step(handle, "review-2")
    await review.drive(handle, approve_all)
    result = await handle.result()
    assert result.outcome == jd.ADOPTED and result.rounds == 2
    with Session(review.engine) as s:
        drafts = {
            v.round: v
            for v in s.exec(
                select(JobDescriptionVersion).where(JobDescriptionVersion.workflow_id == handle.id)
            )
        }
        assert drafts[1].status == "replaced"
        assert drafts[2].status == "current" and drafts[2].text == revised
    comments = [e.comment for e in review.audit(handle.id) if e.action == "request_changes"]
    assert comments == ["Duty 7 should name the Employee Benefits Representative."]


async def test_an_incumbent_who_never_answers_is_reminded_escalated_and_recorded(review: Review):
    handle = await review.start()
    status = await review.wait_for_step(handle, "review-1")
    silent = status.open_steps[0].pending[-1]

    for person in status.open_steps[0].pending:
        if person != silent:
            await review.decide(handle, person, "approve")
    assert (await review.status(handle)).open_steps[0].pending == [silent]

    # Due in 14 days: reminders 7 and 2 days before, escalation at the due date, "no response"
    # three days later; all of it in skipped time.
    await review.env.sleep(timedelta(days=18))
    status = await review.wait_for_step(handle, "union-1")
    closed = {s.step_id: s for s in status.closed_steps}["review-1"]
    defaulted = [a for a in closed.answers if a.person_id == silent]
    assert defaulted and defaulted[0].decision == "no_response" and defaulted[0].source == "default"

    await delivered(review.engine, review.smtp, handle.id)
    subjects = review.smtp.subjects_to(review.email(silent))
    assert sum("Reminder" in s for s in subjects) == 2, subjects
    actions = [(e.actor_id, e.action) for e in review.audit(handle.id) if e.step_id == "review-1"]
    assert ("system", "escalated") in actions
    assert ("system", "no_response") in actions
    with Session(review.engine) as s:
        position = s.exec(select(Position).where(Position.incumbent_id == silent)).one()
    escalated = review.smtp.subjects_to(review.email(position.supervisor_id))
    assert any(s.startswith("Escalated to you") for s in escalated), escalated

    await review.drive(handle, approve_all)
    result = await handle.result()
    assert result.outcome == jd.ADOPTED
    with Session(review.engine) as s:
        memo = s.exec(
            select(Document).where(Document.workflow_id == handle.id, Document.kind == "memo")
        ).one()
        assert "No response was received" in memo.text


async def test_wrong_answers_are_refused_and_change_nothing(review: Review):
    handle = await review.start()
    status = await review.wait_for_step(handle, "review-1")
    reviewer = status.open_steps[0].pending[0]
    before = len(await review.wait_for_audit(handle.id, 1))  # the step's "opened" row

    refusals = [
        (dict(actor="E1030", decision="approve"), "is not a respondent"),
        (dict(actor=reviewer, decision="reject"), "is not allowed"),
        (dict(actor=reviewer, decision="request_changes"), "needs a comment"),
        (dict(actor=reviewer, decision="approve", step_id="board-9"), "unknown step"),
    ]
    for args, reason in refusals:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await review.decide(handle, args.pop("actor"), args.pop("decision"), **args)
        assert reason in str(refused.value.cause), str(refused.value.cause)

    # A plain signal takes the same path: a wrong one is dropped, a right one is recorded.
    await handle.signal("decide", DecisionInput(actor_id="E1030", decision="approve"))
    await handle.signal("decide", DecisionInput(actor_id=reviewer, decision="approve"))
    status = await review.wait_for(handle, lambda s: reviewer not in s.open_steps[0].pending)
    assert len(status.open_steps[0].pending) == 2
    answers = status.open_steps[0].answers
    assert [(a.person_id, a.source) for a in answers] == [(reviewer, "signal")]
    audit = await review.wait_for_audit(handle.id, before + 1)
    assert len(audit) == before + 1 and audit[-1].actor_id == reviewer

    # Once the step is closed, a decision on it is refused.
    await review.drive(handle, approve_all, until_stage=jd.UNION)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await review.decide(handle, reviewer, "approve", step_id="review-1")
    assert "step review-1 is closed" in str(refused.value.cause)
    await handle.terminate("test over")


async def test_the_board_tables_then_approves_at_its_next_meeting(review: Review):
    handle = await review.start()
    status = await review.drive(handle, approve_all, until_stage=jd.BOARD)
    status = await review.wait_for_step(handle, "board-1")
    first = status.open_steps[0]
    secretary = first.pending[0]
    await review.decide(handle, secretary, "table", comment="Board asks for the union's letter")
    status = await review.wait_for_step(handle, "board-2")
    second = status.open_steps[0]
    assert second.due_at > first.due_at
    assert second.due_at.weekday() == 1 and second.due_at.day <= 7  # a first Tuesday

    await review.decide(handle, secretary, "approve", details=board_resolution("26-0501R"))
    result = await handle.result()
    assert result.outcome == jd.ADOPTED and result.resolution_number == "26-0501R"
    with Session(review.engine) as s:
        version = s.get(JobDescriptionVersion, result.adopted_version_id)
        assert version is not None and version.board_date == second.due_at.date()
    actions = [(e.step_id, e.action) for e in review.audit(handle.id)]
    assert ("board-1", "table") in actions and ("board-2", "approve") in actions


async def test_a_malformed_payload_is_refused_and_the_review_goes_on(review: Review):
    handle = await review.start()
    status = await review.wait_for_step(handle, "review-1")
    before = len(await review.wait_for_audit(handle.id, 1))  # the step's "opened" row
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update("decide", {"decision": "approve", "actor": 42}, result_type=dict)
    await handle.signal("decide", {"decision": ["approve"]})  # dropped by the worker, logged
    reviewer = status.open_steps[0].pending[0]
    await review.decide(handle, reviewer, "approve")  # the workflow still takes good answers
    after = await review.wait_for(handle, lambda s: reviewer not in s.open_steps[0].pending)
    assert [a.person_id for a in after.open_steps[0].answers] == [reviewer]
    assert len(await review.wait_for_audit(handle.id, before + 1)) == before + 1
    await handle.terminate("test over")
