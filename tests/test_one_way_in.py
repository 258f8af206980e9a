"""Every step of both processes is answered one way only; every other way changes nothing.

A step answered by a dedicated Update (the offer, scores, background checks, the revised
announcement) refuses the generic ``decide`` (as an Update, with a reason that names the right
command, and as a plain signal, which is dropped), and every step refuses the other dedicated
Updates. Sent as the step's own participant, so the only thing wrong is the way.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from activities.seed_recruitment import demo_application, itat_announcement
from schemas import jd_review as jd
from schemas import recruitment as rc
from schemas.human_step import DecisionInput
from tests.recruitment_harness import HR_SUPERVISOR, Hiring, selection
from tests.review_harness import Review, approve_all, board_resolution, revised

HR_REVIEWER = "E1006"
REQUESTER = "E1008"
HIRING_MANAGER = "E1015"
PANEL_MEMBER = "E1010"
DEDICATED = ("make_offer", "record_check", "score", "revise_announcement")


async def _wrong_ways(hiring: Hiring, handle: WorkflowHandle, step_id: str, actor: str, right: str) -> None:
    """Sends every way but ``right`` to the open step ``step_id`` as ``actor``; each is refused
    with the step's command and nothing changes."""
    before = await hiring.status(handle)
    step = next(s for s in before.open_steps if s.step_id == step_id)
    expected = f"answer {step_id} with `{step.answer_with}`"
    decision = step.allowed[0]
    if right != "decide":
        # the generic decision as a plain signal first: dropped (the refused Updates below run
        # after it, so the status read at the end has seen it)
        await handle.signal("decide", DecisionInput(actor_id=actor, decision=decision, step_id=step_id))
    now = await hiring.env.get_current_time()
    attempts = {
        "decide": DecisionInput(actor_id=actor, decision=decision, step_id=step_id, comment="c"),
        "make_offer": rc.OfferInput(
            actor_id=actor, applicant_id="A001", start_date=now.date() + timedelta(days=30)
        ),
        "record_check": rc.CheckResultInput(
            actor_id=actor, applicant_id="A001", check="criminal", result="clear"
        ),
        "score": rc.ScoreInput(actor_id=actor, scores=[rc.CandidateScore(applicant_id="A001", score=80)]),
        "revise_announcement": rc.ReviseAnnouncementInput(
            actor_id=actor, announcement=itat_announcement(now + timedelta(days=20))
        ),
    }
    for way, arg in attempts.items():
        if way == right:
            continue
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await handle.execute_update(way, arg)
        assert str(err.value.cause).endswith(expected), (way, str(err.value.cause))
    after = await hiring.status(handle)
    assert after.open_steps == before.open_steps
    assert (after.offer, after.checks, after.selected) == (before.offer, before.checks, before.selected)
    assert [c.model_dump() for c in after.candidates] == [c.model_dump() for c in before.candidates]


async def test_every_recruitment_step_takes_its_own_way_only(hiring: Hiring):
    handle = await hiring.open(checks=["criminal"])
    await hiring.wait_for_step(handle, "announcement-1")
    await _wrong_ways(hiring, handle, "announcement-1", HR_SUPERVISOR, "decide")
    await hiring.decide(
        handle, HR_SUPERVISOR, "request_changes", comment="say hourly pay", step_id="announcement-1"
    )

    await hiring.wait_for_step(handle, "revision-1")
    await _wrong_ways(hiring, handle, "revision-1", REQUESTER, "revise_announcement")
    status = await hiring.status(handle)
    await handle.execute_update(
        "revise_announcement",
        rc.ReviseAnnouncementInput(actor_id=REQUESTER, announcement=itat_announcement(status.closes_at)),
    )
    await hiring.wait_for_step(handle, "announcement-2")
    await hiring.decide(handle, HR_SUPERVISOR, "approve", step_id="announcement-2")
    await hiring.wait_for_stage(handle, rc.ACCEPTING)
    await hiring.apply(handle, [demo_application(n) for n in range(1, 4)])
    await hiring.close_applications(handle)

    await hiring.wait_for_step(handle, "mq-review")
    await _wrong_ways(hiring, handle, "mq-review", HR_REVIEWER, "decide")
    await hiring.confirm_screen(handle)

    await hiring.wait_for_step(handle, "oral-board")
    await _wrong_ways(hiring, handle, "oral-board", PANEL_MEMBER, "score")
    await hiring.score_step(handle, "oral-board", {"A001": 90, "A002": 80, "A003": 70})

    await hiring.wait_for_step(handle, "selection-1")
    await _wrong_ways(hiring, handle, "selection-1", HIRING_MANAGER, "decide")
    await hiring.decide(handle, HIRING_MANAGER, rc.SELECT, details=selection("A001"))

    await hiring.wait_for_step(handle, "offer-1")
    await _wrong_ways(hiring, handle, "offer-1", HR_REVIEWER, "make_offer")
    now = await hiring.env.get_current_time()
    await handle.execute_update(
        "make_offer",
        rc.OfferInput(
            actor_id=HR_REVIEWER,
            applicant_id="A001",
            position_id="P-ITAT-02",
            start_date=now.date() + timedelta(days=30),
        ),
    )

    await hiring.wait_for_step(handle, "offer-answer-1")
    await _wrong_ways(hiring, handle, "offer-answer-1", HR_REVIEWER, "decide")
    await hiring.decide(handle, HR_REVIEWER, rc.ACCEPT, step_id="offer-answer-1")

    # the original defect: `decide recorded` on the background step hired with no check on record
    await hiring.wait_for_step(handle, "background-1")
    await _wrong_ways(hiring, handle, "background-1", HR_REVIEWER, "record_check")
    assert (await hiring.status(handle)).checks == {}
    await hiring.record_check(handle, "A001", "criminal", rc.POTENTIALLY_DISQUALIFYING)

    await hiring.wait_for_step(handle, "candidate-answer-1")
    await _wrong_ways(hiring, handle, "candidate-answer-1", HR_REVIEWER, "decide")
    await hiring.decide(handle, HR_REVIEWER, rc.RESPONDED, comment="the charge was dismissed")

    await hiring.wait_for_step(handle, "background-decision-1")
    await _wrong_ways(hiring, handle, "background-decision-1", HR_SUPERVISOR, "decide")
    await hiring.decide(handle, HR_SUPERVISOR, "proceed", comment="not job related")

    result = await handle.result()
    assert result.outcome == rc.HIRED and result.applicant_id == "A001"
    answers = [e for e in hiring.audit(handle.id) if e.action in ("offered", "recorded", "scored", "revise")]
    # each step's answer is on record once, from its own way
    assert sorted((e.step_id, e.action) for e in answers) == [
        ("background-1", "recorded"),
        ("offer-1", "offered"),
        ("oral-board", "scored"),
        ("oral-board", "scored"),
        ("oral-board", "scored"),
        ("revision-1", "revise"),
    ]


async def test_a_generic_step_refuses_a_dedicated_update_and_a_decision_of_the_wrong_shape(review: Review):
    """Every step kind of the review is answered with ``decide``: other Updates are not the
    review's at all, and a decision without its details, or with another step's, is refused
    (Update) or dropped (signal)."""
    handle = await review.start(draft=None)
    script = {
        "draft-1": (REQUESTER, "revise", {"comment": "the draft"}, revised("Human Resources Technician\n")),
        "review-1": ("E1005", "approve", {}, None),
        "union-1": ("E1009", "agreeable", {}, None),
        "signatures-1": ("E1004", "approve", {}, None),
        "board-1": ("E1003", "approve", {}, board_resolution("26-0412R")),
    }
    wrong_details = board_resolution("26-9999R")
    for step_id, (actor, decision, fields, details) in script.items():
        status = await review.wait_for_step(handle, step_id)
        before = next(s for s in status.open_steps if s.step_id == step_id)
        assert before.answer_with == "hr decide"
        bad = DecisionInput(
            actor_id=actor,
            decision=decision,
            step_id=step_id,
            details=wrong_details if details is None else None,
            **fields,
        )
        await handle.signal("decide", bad)
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await handle.execute_update("decide", bad)
        reason = "takes no details" if details is None else "needs"
        assert reason in str(err.value.cause)
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(
                "record_check",
                rc.CheckResultInput(actor_id=actor, applicant_id="A001", check="criminal", result="clear"),
            )
        after = next(s for s in (await review.status(handle)).open_steps if s.step_id == step_id)
        assert after == before
        if step_id == "review-1":  # the supervisor and both incumbents
            await review.drive(handle, approve_all, until_stage=jd.UNION)
        else:
            await review.decide(handle, actor, decision, step_id=step_id, details=details, **fields)
    result = await handle.result()
    assert result.outcome == jd.ADOPTED and result.resolution_number == "26-0412R"
