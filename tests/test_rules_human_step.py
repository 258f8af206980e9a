"""Who may answer a step, and with what (pure rules, no Temporal)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from schemas.decision_details import BoardResolution, Selection
from schemas.human_step import (
    DECIDE,
    Answer,
    AnswerWay,
    DecisionInput,
    DuePolicy,
    Participant,
    StepSpec,
    StepState,
)
from workflows.rules.human_step import (
    DecisionRefused,
    check_answer,
    escalation_targets,
    is_complete,
    pending,
    require_staff,
    select_step,
)

T0 = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)


def _state(
    mode: str = "all", delegates: dict[str, list[str]] | None = None, closed: bool = False
) -> StepState:
    spec = StepSpec(
        step_id="review-1",
        title="Review",
        mode=mode,  # type: ignore[arg-type]
        participants=[
            Participant(person_id="S1", role="supervisor"),
            Participant(person_id="I1", role="incumbent"),
            Participant(person_id="I2", role="incumbent"),
        ],
        allowed=["approve", "request_changes"],
        comment_required=["request_changes"],
        due_at=T0,
        delegates=delegates or {},
        requester_id="HR1",
    )
    return StepState(spec=spec, opened_at=T0, closed=closed)


def _answer(state: StepState, person: str, decision: str = "approve") -> None:
    state.answers[person] = Answer(person_id=person, actor_id=person, decision=decision, at=T0)


def check_decision(state: StepState, inp: DecisionInput) -> str:
    """The generic decision's check: the participant answered for."""
    person_id, _ = check_answer(state, inp, DECIDE)
    return person_id


def test_a_participant_answers_for_themselves():
    assert check_decision(_state(), DecisionInput(actor_id="I1", decision="approve")) == "I1"


@pytest.mark.parametrize(
    ("inp", "reason"),
    [
        (DecisionInput(actor_id="X9", decision="approve"), "X9 is not a respondent of step review-1"),
        (DecisionInput(actor_id="I1", decision="reject"), "decision 'reject' is not allowed"),
        (DecisionInput(actor_id="I1", decision="request_changes"), "needs a comment"),
        (DecisionInput(actor_id="I1", decision="request_changes", comment="  "), "needs a comment"),
    ],
)
def test_bad_decisions_are_refused_with_a_reason(inp: DecisionInput, reason: str):
    with pytest.raises(DecisionRefused, match=reason):
        check_decision(_state(), inp)


def test_nobody_answers_twice():
    state = _state()
    _answer(state, "I1")
    with pytest.raises(DecisionRefused, match="I1 has already answered"):
        check_decision(state, DecisionInput(actor_id="I1", decision="approve"))


def test_a_closed_step_takes_no_answer():
    with pytest.raises(DecisionRefused, match="is closed"):
        check_decision(_state(closed=True), DecisionInput(actor_id="I1", decision="approve"))


def test_the_requester_may_not_approve_their_own_request():
    state = _state()
    state.spec.participants.append(Participant(person_id="HR1", role="incumbent"))
    with pytest.raises(DecisionRefused, match="may not approve their own request"):
        check_decision(state, DecisionInput(actor_id="HR1", decision="approve"))
    # Asking for changes is still theirs to do.
    assert (
        check_decision(state, DecisionInput(actor_id="HR1", decision="request_changes", comment="c")) == "HR1"
    )


def test_a_delegate_answers_on_behalf_of_the_delegator():
    state = _state(delegates={"D1": ["S1"]})
    assert check_decision(state, DecisionInput(actor_id="D1", decision="approve")) == "S1"
    _answer(state, "S1")
    with pytest.raises(DecisionRefused, match="S1 already answered"):
        check_decision(state, DecisionInput(actor_id="D1", decision="approve"))


def test_a_delegate_of_two_people_must_say_for_whom():
    state = _state(delegates={"D1": ["I1", "I2"]})
    with pytest.raises(DecisionRefused, match="say on behalf of whom"):
        check_decision(state, DecisionInput(actor_id="D1", decision="approve"))
    assert check_decision(state, DecisionInput(actor_id="D1", decision="approve", on_behalf_of="I2")) == "I2"
    with pytest.raises(DecisionRefused, match="no active delegation from S1"):
        check_decision(state, DecisionInput(actor_id="D1", decision="approve", on_behalf_of="S1"))


def test_all_mode_waits_for_everyone_any_mode_for_one():
    every, anyone = _state("all"), _state("any")
    for state in (every, anyone):
        assert not is_complete(state.spec, state.answers)
        _answer(state, "I1")
    assert pending(every.spec, every.answers) == ["S1", "I2"]
    assert not is_complete(every.spec, every.answers)
    assert is_complete(anyone.spec, anyone.answers)
    _answer(every, "S1")
    _answer(every, "I2", "no_response")
    assert is_complete(every.spec, every.answers)


def test_select_step_finds_the_actors_open_step_or_explains():
    review = _state()
    union = _state()
    union.spec = union.spec.model_copy(
        update={"step_id": "union-1", "participants": [Participant(person_id="U1", role="union")]}
    )
    steps = {"review-1": review, "union-1": union}
    assert select_step(steps, DecisionInput(actor_id="U1", decision="approve"), DECIDE) is union
    assert select_step(steps, DecisionInput(actor_id="I1", decision="approve"), DECIDE) is review
    with pytest.raises(DecisionRefused, match="not a respondent of any open step"):
        select_step(steps, DecisionInput(actor_id="X9", decision="approve"), DECIDE)
    with pytest.raises(DecisionRefused, match="unknown step 'board-1'"):
        select_step(steps, DecisionInput(actor_id="I1", decision="approve", step_id="board-1"), DECIDE)
    review.closed = True
    with pytest.raises(DecisionRefused, match="step review-1 is closed"):
        select_step(steps, DecisionInput(actor_id="I1", decision="approve", step_id="review-1"), DECIDE)


def test_escalation_goes_to_each_persons_target_else_the_fallback_but_never_to_themselves():
    spec = StepSpec(
        step_id="oral-board",
        title="Score",
        participants=[
            Participant(person_id="P1", role="panel"),
            Participant(person_id="HRS", role="panel"),  # the HR supervisor on the panel
            Participant(person_id="I1", role="incumbent", escalate_to="S1"),
            Participant(person_id="P2", role="panel"),
        ],
        allowed=["scored"],
        due_at=T0,
        policy=DuePolicy(fallback_approver_id="HRS"),
    )
    assert escalation_targets(spec, ["P1", "HRS", "I1", "P2"]) == {"HRS": ["P1", "P2"], "S1": ["I1"]}
    assert escalation_targets(spec, ["HRS"]) == {}
    assert escalation_targets(spec, []) == {}


# ----- each step has one way in ---------------------------------------------------------------------


def _offer_step() -> StepState:
    spec = StepSpec(
        step_id="offer-1",
        title="Make the offer",
        participants=[Participant(person_id="HR2", role="hr_reviewer")],
        allowed=["offered"],
        answer_with=AnswerWay(update="make_offer", command="hr recruitment offer"),
        due_at=T0,
    )
    return StepState(spec=spec, opened_at=T0)


def test_a_step_answered_by_a_dedicated_update_refuses_the_generic_decision_naming_its_command():
    offer = _offer_step()
    with pytest.raises(DecisionRefused, match="^answer offer-1 with `hr recruitment offer`$"):
        check_answer(offer, DecisionInput(actor_id="HR2", decision="offered"), DECIDE)
    assert check_answer(offer, DecisionInput(actor_id="HR2", decision="offered"), "make_offer") == (
        "HR2",
        None,
    )


def test_a_generic_step_refuses_a_dedicated_update():
    with pytest.raises(DecisionRefused, match="^answer review-1 with `hr decide`$"):
        check_answer(_state(), DecisionInput(actor_id="I1", decision="approve"), "record_check")


def test_without_a_step_id_the_step_answered_that_way_is_chosen_else_the_right_way_is_named():
    review, offer = _state(), _offer_step()
    offer.spec.participants.append(Participant(person_id="I1", role="hr_reviewer"))
    steps = {"review-1": review, "offer-1": offer}
    assert select_step(steps, DecisionInput(actor_id="I1", decision="approve"), DECIDE) is review
    assert select_step(steps, DecisionInput(actor_id="I1", decision="offered"), "make_offer") is offer
    chosen = select_step(steps, DecisionInput(actor_id="HR2", decision="offered"), DECIDE)
    with pytest.raises(DecisionRefused, match="answer offer-1 with `hr recruitment offer`"):
        check_answer(chosen, DecisionInput(actor_id="HR2", decision="offered"), DECIDE)


def _board_step() -> StepState:
    spec = StepSpec(
        step_id="board-1",
        title="Board",
        participants=[Participant(person_id="B1", role="civil_service_board")],
        allowed=["approve", "reject", "table"],
        details={"approve": "board_resolution"},
        due_at=T0,
    )
    return StepState(spec=spec, opened_at=T0)


def test_details_are_read_as_the_kind_the_decision_asks_for():
    inp = DecisionInput(
        actor_id="B1",
        decision="approve",
        details={"kind": "board_resolution", "resolution_number": " 26-0412R ", "meeting_date": "2026-12-01"},
    )
    person, details = check_answer(_board_step(), inp, DECIDE)
    assert person == "B1" and isinstance(details, BoardResolution)
    assert details.resolution_number == "26-0412R" and str(details.meeting_date) == "2026-12-01"


@pytest.mark.parametrize(
    ("decision", "details", "reason"),
    [
        ("approve", None, "needs board_resolution details"),
        (
            "approve",
            {"kind": "selection", "applicant_id": "A001"},
            "needs board_resolution details, not selection",
        ),
        ("approve", {"kind": "board_resolution", "resolution_number": ""}, "resolution_number"),
        ("approve", {"kind": "board_resolution"}, "resolution_number: Field required"),
        ("approve", {"kind": "board_resolution", "resolution_number": "1", "x": 1}, "Extra inputs"),
        ("approve", {"kind": "no such kind"}, "unknown kind \\(expected"),
        ("approve", {"resolution_number": "26-1"}, "no kind given"),
        (
            "table",
            {"kind": "board_resolution", "resolution_number": "26-1"},
            "'table' at step board-1 takes no details",
        ),
    ],
)
def test_bad_details_are_refused_with_a_reason(decision: str, details: dict | None, reason: str):
    with pytest.raises(DecisionRefused, match=reason):
        check_answer(_board_step(), DecisionInput(actor_id="B1", decision=decision, details=details), DECIDE)


def test_a_selection_names_an_applicant_id():
    assert Selection(applicant_id="A1000").applicant_id == "A1000"
    with pytest.raises(ValueError):
        Selection(applicant_id="Jane Doe")


def test_a_step_of_one_answer_gives_it_and_only_it():
    state = _state("any")
    with pytest.raises(ValueError, match="has 0 answers"):
        state.answer()
    _answer(state, "I1")
    assert state.answer().person_id == "I1"
    _answer(state, "I2")
    with pytest.raises(ValueError, match="has 2 answers"):
        state.answer()


def test_only_staff_give_hr_commands():
    require_staff({"HR1"}, "HR1", "withdraw this process")
    with pytest.raises(DecisionRefused, match="^I1 may not withdraw this process$"):
        require_staff({"HR1"}, "I1", "withdraw this process")
