"""A recruitment's deadlines and refusals: late raters, the background answer window, bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError

from activities.db import utcnow
from activities.seed_recruitment import demo_application, itat_announcement
from schemas import recruitment as rc
from schemas.eligibility_register import FillInput, RegisterStatus, RemoveInput
from schemas.tables import Applicant, Delegation, Recruitment
from tests.harness_common import poll_until
from tests.recruitment_harness import HR_SUPERVISOR, Hiring, selection


async def _to_register(hiring: Hiring, oral: dict[str, float], **open_kw) -> WorkflowHandle:
    """A recruitment of len(oral) qualified applicants, scored by the panel, at selection."""
    handle = await hiring.open(**open_kw)
    await hiring.approve_and_post(handle)
    await hiring.apply(handle, [demo_application(n) for n in range(1, len(oral) + 1)])
    await hiring.close_applications(handle)
    await hiring.confirm_screen(handle)
    await hiring.score_step(handle, "oral-board", oral)
    await hiring.wait_for_step(handle, "selection-1")
    return handle


async def _refused(call, match: str) -> None:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await call
    assert match in str(err.value.cause)


async def test_a_rater_who_misses_the_deadline_is_reminded_then_escalated_to_the_hr_supervisor(
    hiring: Hiring,
):
    handle = await hiring.open()
    await hiring.approve_and_post(handle)
    await hiring.apply(handle, [demo_application(n) for n in range(1, 8)])
    await hiring.close_applications(handle)
    await hiring.confirm_screen(handle)
    scores = {f"A00{n}": 70.0 for n in range(1, 8)}
    await hiring.score_step(handle, "supplemental", scores, skip={"E1017"})
    status = await hiring.status(handle)
    step = next(s for s in status.open_steps if s.step_id == "supplemental")
    assert step.pending == ["E1017"]

    # the seed's timeline: supplemental results 12 days after the close; skip past the due date
    now = await hiring.env.get_current_time()
    await hiring.env.sleep(step.due_at - now + timedelta(hours=1))
    await hiring.wait_for(handle, lambda s: HR_SUPERVISOR in [e for e in _escalations(hiring, handle)])
    rows = hiring.outbox(handle.id)
    to_rater = [
        r.key.split(":supplemental:")[1].split(":")[0]
        for r in rows
        if r.recipient_id == "E1017" and ":supplemental:" in r.key
    ]
    assert to_rater.count("reminder") == 2 and "overdue" in to_rater
    assert not any(r.recipient_id == "E1011" and ":supplemental:reminder" in r.key for r in rows)
    escalation = next(
        r for r in rows if r.recipient_id == HR_SUPERVISOR and ":supplemental:escalation" in r.key
    )
    assert "E1017" in escalation.body
    assert any(e.action == "escalated" and "E1017" in (e.comment or "") for e in hiring.audit(handle.id))

    # the rater still answers late; the process goes on to the oral board
    await hiring.score(handle, "E1017", scores, step_id="supplemental")
    await hiring.wait_for_step(handle, "oral-board")


def _escalations(hiring: Hiring, handle: WorkflowHandle) -> list[str]:
    return [r.recipient_id for r in hiring.outbox(handle.id) if ":escalation:" in r.key]


async def test_background_answer_window_expires_then_hr_disqualifies_and_the_next_name_is_certified(
    hiring: Hiring,
):
    oral = {"A001": 90.0, "A002": 80.0, "A003": 70.0, "A004": 65.0}
    handle = await _to_register(hiring, oral)
    await hiring.select_offer_accept(handle, "A001")
    await hiring.wait_for_step(handle, "background-1")
    checks = await hiring.record_check(handle, "A001", "criminal", rc.POTENTIALLY_DISQUALIFYING)
    assert checks == {"criminal": rc.POTENTIALLY_DISQUALIFYING}
    status = await hiring.wait_for_step(handle, "candidate-answer-1")
    window = next(s for s in status.open_steps if s.step_id == "candidate-answer-1")
    notices = hiring.notices(handle.id, status.recruitment_id)
    assert notices["A001"][-1] == "background_pre_adverse"

    # nobody records an answer from the candidate; the window closes after 10 days
    now = await hiring.env.get_current_time()
    assert window.due_at - now >= timedelta(days=9, hours=23)
    await hiring.env.sleep(window.due_at - now + timedelta(hours=1))
    await hiring.wait_for_step(handle, "background-decision-1")
    defaulted = [
        e for e in hiring.audit(handle.id) if e.step_id == "candidate-answer-1" and e.action == "no_response"
    ]
    assert len(defaulted) == 1 and defaulted[0].actor_id == "system"

    await _refused(hiring.decide(handle, HR_SUPERVISOR, rc.DISQUALIFY), "needs a comment")
    await hiring.decide(
        handle, HR_SUPERVISOR, rc.DISQUALIFY, comment="conviction directly related to the duties"
    )
    status = await hiring.wait_for_step(handle, "selection-2")
    assert status.certified == ["A002", "A003", "A004"]
    by_id = {c.applicant_id: c for c in status.candidates}
    assert by_id["A001"].disposition == "disqualified_background"
    assert hiring.notices(handle.id, status.recruitment_id)["A001"][-1] == "background_disqualified"

    await _refused(
        hiring.decide(handle, "E1015", rc.SELECT, details=selection("A001")),
        "A001 is not certified to the department",
    )
    await hiring.select_offer_accept(handle, "A002", round_=2)
    await hiring.wait_for_step(handle, "background-2")
    await hiring.record_check(handle, "A002", "criminal")
    result = await handle.result()
    assert (result.outcome, result.applicant_id) == (rc.HIRED, "A002")


async def test_applications_refused_when_late_duplicate_or_entered_by_someone_outside_hr(hiring: Hiring):
    handle = await hiring.open()
    await _refused(hiring.apply(handle, [demo_application(1)]), "applications are not being accepted")
    await hiring.approve_and_post(handle)
    await hiring.apply(handle, [demo_application(1), demo_application(2)])
    dup = demo_application(1).model_copy(update={"email": "Applicant01@EXAMPLE.org"})
    await _refused(hiring.apply(handle, [dup]), "duplicate application: this applicant is A001")
    await _refused(
        hiring.apply(handle, [demo_application(3), demo_application(4), demo_application(3)]),
        "row 3: duplicate application: the same applicant as row 1",
    )
    await _refused(
        hiring.apply(handle, [demo_application(5)], actor="E1016"), "E1016 may not enter applications"
    )
    assert (await hiring.status(handle)).counts.applied == 2  # the refused batches changed nothing

    await hiring.close_applications(handle)
    await _refused(hiring.apply(handle, [demo_application(6)]), "applications are not being accepted")


async def test_scores_refused_out_of_range_unassigned_twice_or_after_the_step_closed(hiring: Hiring):
    oral = {"A001": 80.0, "A002": 70.0}
    handle = await hiring.open()
    await hiring.approve_and_post(handle)
    await hiring.apply(handle, [demo_application(1), demo_application(2), demo_application(3, clerical=0)])
    await hiring.close_applications(handle)
    await hiring.confirm_screen(handle)
    await hiring.wait_for_step(handle, "oral-board")

    await _refused(hiring.score(handle, "E1010", {"A001": 101}), "101 is outside 0-100")
    await _refused(
        hiring.score(handle, "E1010", {"A001": 80, "A002": -5}), "score 2 (A002): -5 is outside 0-100"
    )
    await _refused(hiring.score(handle, "E1010", {"A003": 80}), "A003 is not assigned to E1010")
    await _refused(
        hiring.score(handle, "E1011", {"A001": 80}), "E1011 is not a respondent of step oral-board"
    )
    receipt = await hiring.score(handle, "E1010", {"A001": 80})
    assert receipt.remaining == ["A002"]
    await _refused(hiring.score(handle, "E1010", {"A001": 85}), "E1010 has already scored A001")
    status = await hiring.status(handle)
    assert next(s for s in status.open_steps if s.step_id == "oral-board").pending == [
        "E1010",
        "E1015",
        "E1016",
    ]

    await hiring.score(handle, "E1010", {"A002": 70})
    await hiring.score_step(handle, "oral-board", oral, skip={"E1010"})
    await hiring.wait_for_step(handle, "selection-1")
    await _refused(
        hiring.score(handle, "E1015", {"A001": 90}, step_id="oral-board"), "step oral-board is closed"
    )


async def test_offer_refused_for_a_candidate_not_certified_or_not_selected(hiring: Hiring):
    oral = {f"A00{n}": 90.0 - 5 * n for n in range(1, 6)}  # 85, 80, 75, 70, 65: top three certified
    handle = await _to_register(hiring, oral)
    status = await hiring.status(handle)
    assert status.certified == ["A001", "A002", "A003"]
    await hiring.decide(handle, "E1015", rc.SELECT, details=selection("A002"))
    await hiring.wait_for_step(handle, "offer-1")
    start = (await hiring.env.get_current_time()).date() + timedelta(days=20)

    def offer(aid: str):
        return handle.execute_update(
            "make_offer",
            rc.OfferInput(actor_id="E1006", applicant_id=aid, start_date=start),
            result_type=rc.OfferInput,
        )

    await _refused(offer("A004"), "A004 is not certified to the department (certified: A001, A002, A003)")
    await _refused(offer("A003"), "the department selected A002, not A003")
    status = await hiring.status(handle)
    assert status.offer is None and any(s.step_id == "offer-1" and s.pending for s in status.open_steps)
    await offer("A002")
    await hiring.wait_for_step(handle, "offer-answer-1")


async def test_a_withdrawn_recruitment_records_a_disposition_for_every_candidate(hiring: Hiring):
    handle = await hiring.open()
    await hiring.approve_and_post(handle)
    await hiring.apply(handle, [demo_application(1), demo_application(2)])
    await handle.execute_update(
        "withdraw", rc_withdraw("budget for the position was frozen"), result_type=str
    )
    result = await handle.result()
    assert result.outcome == rc.WITHDRAWN
    status = await hiring.status(handle)
    assert {c.disposition for c in status.candidates} == {"withdrawn"}


def rc_withdraw(reason: str):
    from schemas.human_step import WithdrawInput

    return WithdrawInput(actor_id="E1008", reason=reason)


async def test_hr_supervisor_asks_for_changes_and_approves_the_revised_announcement(hiring: Hiring):
    handle = await hiring.open()
    await hiring.wait_for_step(handle, "announcement-1")
    await _refused(hiring.decide(handle, "E1008", "approve"), "E1008 is not a respondent")
    await _refused(hiring.decide(handle, HR_SUPERVISOR, "request_changes"), "needs a comment")
    await hiring.decide(handle, HR_SUPERVISOR, "request_changes", comment="close on a Friday at 4:30 PM")
    await hiring.wait_for_step(handle, "revision-1")
    status = await hiring.status(handle)
    revised = itat_announcement(status.closes_at + timedelta(days=2))

    def revise(actor: str):
        inp = rc.ReviseAnnouncementInput(actor_id=actor, announcement=revised)
        return handle.execute_update("revise_announcement", inp, result_type=str)

    await _refused(revise("E1016"), "E1016 is not a respondent of step revision-1")
    await revise("E1008")
    await hiring.wait_for_step(handle, "announcement-2")
    await hiring.decide(handle, HR_SUPERVISOR, "approve", step_id="announcement-2")
    status = await hiring.wait_for_stage(handle, rc.ACCEPTING)
    assert status.closes_at == revised.closes_at
    actions = [(e.step_id, e.action) for e in hiring.audit(handle.id)]
    assert ("announcement-1", "request_changes") in actions and ("revision-1", "revise") in actions
    assert ("posting", "posted") in actions


async def test_a_failed_search_gives_every_candidate_a_disposition_and_a_notice(hiring: Hiring):
    handle = await hiring.open()
    await hiring.approve_and_post(handle)
    await hiring.apply(handle, [demo_application(1), demo_application(2, education="none")])
    await hiring.close_applications(handle)
    await hiring.confirm_screen(handle)
    await hiring.score_step(handle, "oral-board", {"A001": 59.99})  # just under the pass point
    result = await handle.result()
    assert result.outcome == rc.FAILED_SEARCH and result.register_workflow_id is None
    status = await hiring.status(handle)
    assert {c.applicant_id: c.disposition for c in status.candidates} == {
        "A001": "did_not_pass",
        "A002": "not_qualified",
    }
    notices = hiring.notices(handle.id, status.recruitment_id)
    assert notices["A001"][-2:] == ["final_not_passed", "recruitment_closed"]
    assert notices["A002"][-1] == "recruitment_closed"
    with Session(hiring.engine) as s:
        row = s.get(Recruitment, status.recruitment_id)
        dispositions = {a.applicant_id: a.disposition for a in s.exec(select(Applicant)).all()}
    assert row is not None and row.status == rc.FAILED_SEARCH and row.finished_at is not None
    assert dispositions == {"A001": "did_not_pass", "A002": "not_qualified"}


async def test_a_temporal_cancel_still_closes_the_record(hiring: Hiring):
    handle = await hiring.open()
    await hiring.approve_and_post(handle)
    await hiring.apply(handle, [demo_application(1)])
    await handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    status = await hiring.status(handle)
    assert status.stage == rc.CANCELLED and status.candidates[0].disposition == "withdrawn"
    assert any(e.action == rc.CANCELLED for e in hiring.audit(handle.id))


async def test_a_delegate_approves_the_announcement_on_behalf_of_the_hr_supervisor(hiring: Hiring):
    today = (await hiring.env.get_current_time()).date()
    with Session(hiring.engine) as s:
        s.add(
            Delegation(
                delegator_id=HR_SUPERVISOR,
                delegate_id="E1004",
                starts_on=today - timedelta(days=1),
                ends_on=today + timedelta(days=14),
                reason="annual leave",
                created_at=utcnow(),
            )
        )
        s.commit()
    handle = await hiring.open()
    await hiring.wait_for_step(handle, "announcement-1")
    receipt = await hiring.decide(handle, "E1004", "approve")
    assert (receipt.person_id, receipt.actor_id) == (HR_SUPERVISOR, "E1004")
    await hiring.wait_for_stage(handle, rc.ACCEPTING)
    approval = next(
        e for e in hiring.audit(handle.id) if e.step_id == "announcement-1" and e.action == "approve"
    )
    assert (approval.actor_id, approval.on_behalf_of) == ("E1004", HR_SUPERVISOR)


async def test_an_offer_into_a_filled_position_goes_back_to_hr_and_the_register_hears_of_it(hiring: Hiring):
    oral = {"A001": 90.0, "A002": 80.0, "A003": 70.0}
    handle = await _to_register(hiring, oral, positions=["P-ITAT-01", "P-ITAT-02"])
    status = await hiring.status(handle)
    register = hiring.client.get_workflow_handle(rc.register_workflow_id(status.recruitment_id))
    # HR takes A003 off the register directly; the recruitment stops certifying them too
    await register.execute_update(
        "remove", RemoveInput(actor_id="E1006", applicant_id="A003", reason="withdrawn")
    )
    await hiring.wait_for(handle, lambda s: "A003" not in s.certified)
    reg = await register.query("status", result_type=RegisterStatus)
    assert {e.applicant_id: e.times_certified for e in reg.entries} == {"A001": 1, "A002": 1, "A003": 1}

    await hiring.decide(handle, "E1015", rc.SELECT, details=selection("A001"))
    await hiring.wait_for_step(handle, "offer-1")
    start = (await hiring.env.get_current_time()).date() + timedelta(days=20)
    filled = rc.OfferInput(actor_id="E1006", applicant_id="A001", position_id="P-ITAT-01", start_date=start)
    await handle.execute_update("make_offer", filled, result_type=rc.OfferInput)
    await hiring.wait_for_step(handle, "offer-1-2")  # P-ITAT-01 has an incumbent (E1016): made again
    refused = [e for e in hiring.audit(handle.id) if e.action == "offer_refused"]
    assert len(refused) == 1 and "P-ITAT-01 is filled" in (refused[0].comment or "")
    assert "conditional_offer" not in hiring.notices(handle.id, status.recruitment_id)["A001"]
    vacant = filled.model_copy(update={"position_id": "P-ITAT-02"})
    await handle.execute_update("make_offer", vacant, result_type=rc.OfferInput)
    await hiring.wait_for_step(handle, "offer-answer-1")


async def test_an_announcement_approved_after_its_closing_time_goes_back_for_a_new_one(hiring: Hiring):
    handle = await hiring.open(closes_in=timedelta(hours=1))
    await hiring.wait_for_step(handle, "announcement-1")
    await hiring.env.sleep(timedelta(hours=2))
    await hiring.decide(handle, HR_SUPERVISOR, "approve")
    status = await hiring.wait_for_step(handle, "revision-1")
    assert next(s for s in status.open_steps if s.step_id == "revision-1").title.startswith(
        "The closing time has passed"
    )
    assert status.stage == rc.REVISING
    now = await hiring.env.get_current_time()
    revised = itat_announcement(now + timedelta(days=10))
    await handle.execute_update(
        "revise_announcement",
        rc.ReviseAnnouncementInput(actor_id="E1008", announcement=revised),
        result_type=str,
    )
    await hiring.wait_for_step(handle, "announcement-2")
    await hiring.decide(handle, HR_SUPERVISOR, "approve")
    await hiring.wait_for_stage(handle, rc.ACCEPTING)


def test_an_announcement_closing_time_needs_a_time_zone():
    from datetime import datetime

    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="timezone"):
        itat_announcement(datetime(2026, 12, 4, 16, 30))


async def test_the_recruitment_goes_on_when_its_register_has_already_closed(hiring: Hiring):
    handle = await _to_register(hiring, {"A001": 90.0, "A002": 80.0})
    status = await hiring.status(handle)
    register = hiring.client.get_workflow_handle(rc.register_workflow_id(status.recruitment_id))
    fill = FillInput(actor_id="E1006", applicant_id="A002", position_id="P-ITAT-99")
    await register.execute_update("fill", fill)
    assert (await register.result())["outcome"] == "filled"
    await hiring.select_offer_accept(handle, "A001")
    await hiring.wait_for_step(handle, "background-1")
    await hiring.record_check(handle, "A001", "criminal")
    result = await handle.result()  # telling the closed register of the hire fails quietly
    assert (result.outcome, result.applicant_id) == (rc.HIRED, "A001")


async def test_hr_hands_a_late_raters_candidates_to_another_rater(hiring: Hiring):
    handle = await hiring.open()
    await hiring.approve_and_post(handle)
    await hiring.apply(handle, [demo_application(n) for n in range(1, 8)])
    await hiring.close_applications(handle)
    await hiring.confirm_screen(handle)
    scores = {f"A00{n}": 60.0 + n for n in range(1, 8)}
    await hiring.score_step(handle, "supplemental", scores, skip={"E1017"})
    await hiring.score(handle, "E1017", {"A001": 61.0}, step_id="supplemental")  # then falls ill

    def reassign(actor: str, to: str, reason: str = "on sick leave"):
        inp = rc.ReassignScorerInput(
            actor_id=actor, step_id="supplemental", from_id="E1017", to_id=to, reason=reason
        )
        return handle.execute_update("reassign_scorer", inp, result_type=rc.ScoreReceipt)

    await _refused(reassign("E1016", "E1015"), "E1016 may not reassign a step")
    await _refused(reassign(HR_SUPERVISOR, "E1011"), "E1011 already takes part in step supplemental")
    await _refused(reassign(HR_SUPERVISOR, "E9999"), "'E9999' is not an active person")
    await _refused(reassign(HR_SUPERVISOR, "E1015", reason=" "), "needs a reason")
    receipt = await reassign(HR_SUPERVISOR, "E1015")
    status = await hiring.status(handle)
    assert status.assignments["supplemental"]["E1017"] == ["A001"]
    # two raters each score all seven: E1017 had scored A001 only
    expected = [f"A00{n}" for n in range(2, 8)]
    assert receipt.remaining == status.assignments["supplemental"]["E1015"] == expected
    step = next(s for s in status.open_steps if s.step_id == "supplemental")
    assert step.pending == ["E1015"]
    assert any(
        r.recipient_id == "E1015" and ":supplemental:step_opened:" in r.key for r in hiring.outbox(handle.id)
    )
    reassigned = [e for e in hiring.audit(handle.id) if e.action == "reassigned"]
    assert len(reassigned) == 1 and reassigned[0].actor_id == HR_SUPERVISOR
    assert reassigned[0].comment == "E1017 to E1015: on sick leave"

    await hiring.score(handle, "E1015", {a: scores[a] for a in receipt.remaining}, step_id="supplemental")
    status = await hiring.wait_for_step(handle, "oral-board")
    by_id = {c.applicant_id: c for c in status.candidates}
    assert by_id["A001"].supplemental == 61.0 and by_id["A007"].supplemental == 67.0


async def test_the_department_passes_over_the_certified_names_and_the_next_ones_are_certified(hiring: Hiring):
    oral = {f"A00{n}": 90.0 - 5 * n for n in range(1, 6)}  # 85, 80, 75, 70, 65
    handle = await _to_register(hiring, oral)
    await _refused(hiring.decide(handle, "E1015", rc.NONE_SUITABLE), "needs a comment")
    await hiring.decide(handle, "E1015", rc.NONE_SUITABLE, comment="none has telephone-billing experience")
    status = await hiring.wait_for_step(handle, "selection-2")
    assert status.certified == ["A004", "A005"]
    await _refused(
        hiring.decide(handle, "E1015", rc.SELECT, details=selection("A001")),
        "A001 is not certified to the department",
    )
    await hiring.decide(handle, "E1015", rc.NONE_SUITABLE, comment="still no billing experience")
    result = await handle.result()
    assert result.outcome == rc.FAILED_SEARCH and result.register_workflow_id is not None
    status = await hiring.status(handle)
    assert {c.disposition for c in status.candidates} == {"on_register"}  # they stay for other vacancies
    passed = [e for e in hiring.audit(handle.id) if e.action == rc.NONE_SUITABLE]
    assert [e.step_id for e in passed] == ["selection-1", "selection-2"]


async def test_scores_as_a_plain_signal_are_checked_the_same_way(hiring: Hiring):
    handle = await hiring.open()
    await hiring.approve_and_post(handle)
    await hiring.apply(handle, [demo_application(1), demo_application(2)])
    await hiring.close_applications(handle)
    await hiring.confirm_screen(handle)
    await hiring.wait_for_step(handle, "oral-board")

    def scores(**by_applicant: float) -> rc.ScoreInput:
        entries = [rc.CandidateScore(applicant_id=a, score=v) for a, v in by_applicant.items()]
        return rc.ScoreInput(actor_id="E1010", scores=entries)

    await handle.signal("score", scores(A001=80, A002=120))  # refused whole: logged, nothing changes
    await handle.signal("score", scores(A001=80, A002=70))
    status = await hiring.wait_for(
        handle, lambda s: "E1010" not in next(st for st in s.open_steps if st.step_id == "oral-board").pending
    )

    async def recorded() -> list:
        rows = hiring.audit(handle.id)
        return [e for e in rows if e.step_id == "oral-board" and e.action == "scores_recorded"]

    rows = await poll_until(recorded, bool, timeout=10)
    assert len(rows) == 1 and rows[0].comment == "2: A001, A002"
    assert status.stage == rc.ORAL_BOARD


async def test_a_register_that_has_closed_is_recorded_and_shown_and_the_hire_stands(hiring: Hiring):
    handle = await _to_register(hiring, {"A001": 90.0, "A002": 80.0, "A003": 70.0}, checks=[])
    status = await hiring.status(handle)
    register_id = rc.register_workflow_id(status.recruitment_id)
    await hiring.client.get_workflow_handle(register_id).terminate("closed by operations")

    await hiring.select_offer_accept(handle, "A001")
    result = await handle.result()
    assert result.outcome == rc.HIRED and result.employee_id is not None
    status = await hiring.status(handle)
    assert status.register_problems == [f"fill A001: the register {register_id} has closed"]
    problems = [e for e in hiring.audit(handle.id) if e.action == "register_problem"]
    assert [(e.step_id, e.comment) for e in problems] == [("register", status.register_problems[0])]
