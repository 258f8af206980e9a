"""Who may answer a step, and with what (pure rules, no Temporal)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from schemas.human_step import Answer, DecisionInput, DuePolicy, Participant, StepSpec, StepState
from workflows.rules.human_step import (
    DecisionRefused,
    check_decision,
    escalation_targets,
    is_complete,
    pending,
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
        required_fields={"request_changes": ["comment"]},
        due_at=T0,
        delegates=delegates or {},
        requester_id="HR1",
    )
    return StepState(spec=spec, opened_at=T0, closed=closed)


def _answer(state: StepState, person: str, decision: str = "approve") -> None:
    state.answers[person] = Answer(person_id=person, actor_id=person, decision=decision, at=T0)


def test_a_participant_answers_for_themselves():
    assert check_decision(_state(), DecisionInput(actor_id="I1", decision="approve")) == "I1"


@pytest.mark.parametrize(
    ("inp", "reason"),
    [
        (DecisionInput(actor_id="X9", decision="approve"), "X9 is not a respondent of step review-1"),
        (DecisionInput(actor_id="I1", decision="reject"), "decision 'reject' is not allowed"),
        (DecisionInput(actor_id="I1", decision="request_changes"), "needs comment"),
        (DecisionInput(actor_id="I1", decision="request_changes", comment="  "), "needs comment"),
        (DecisionInput(actor_id="I1", decision="approve", comment="x" * 5000), "longer than"),
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
    assert select_step(steps, DecisionInput(actor_id="U1", decision="approve")) is union
    assert select_step(steps, DecisionInput(actor_id="I1", decision="approve")) is review
    with pytest.raises(DecisionRefused, match="not a respondent of any open step"):
        select_step(steps, DecisionInput(actor_id="X9", decision="approve"))
    with pytest.raises(DecisionRefused, match="unknown step 'board-1'"):
        select_step(steps, DecisionInput(actor_id="I1", decision="approve", step_id="board-1"))
    review.closed = True
    with pytest.raises(DecisionRefused, match="step review-1 is closed"):
        select_step(steps, DecisionInput(actor_id="I1", decision="approve", step_id="review-1"))


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
