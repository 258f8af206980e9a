"""Fuzzing every decision payload (Hypothesis): accepted, or refused with one line; a refusal
changes nothing.

Raw JSON-like payloads for ``DecisionInput`` (with ``details`` of every kind) are validated as
the CLI builds them (Python) and as an Update decodes them (JSON); those that validate go through
``select_step`` and ``check_answer`` against a set of synthetic steps (open, answered in part,
closed, answered by a dedicated Update), which must return or raise ``DecisionRefused`` with one
line and leave every step as it was. Details of any shape are read by ``parse_details``: a typed
payload or a one-line ``ValueError``. (A signal's arguments: ``tests/test_fuzz_contracts.py``.)
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas.decision_details import as_sent, parse_details
from schemas.human_step import (
    DECIDE,
    Answer,
    AnswerWay,
    DecisionInput,
    Participant,
    StepSpec,
    StepState,
)
from schemas.limits import reason
from tests.fuzz_support import (
    CANARY,
    anything,
    check_refusal,
    count,
    days,
    fuzz_settings,
    long_strings,
    maybe,
    one_line_problem,
    payloads,
    plain_ids,
    texts,
)
from workflows.rules.human_step import DecisionRefused, check_answer, select_step

pytest_plugins = ["tests.fuzz_support"]

T0 = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)
PEOPLE = ["S1", "I1", "I2", "D1", "D2", "HR1", "HRS", "B1", "HM1", "HR2", "U1", "X9"]
DECISIONS = [
    "approve",
    "request_changes",
    "reject",
    "table",
    "revise",
    "proceed",
    "withdraw",
    "select",
    "none_suitable",
    "offered",
    "agreeable",
    "no_response",
]
STEP_IDS = ["review-1", "board-1", "draft-1", "selection-1", "offer-1", "union-0", "nope-1"]
WAYS = [DECIDE, "make_offer", "record_check"]


def _step(step_id: str, people: list[str], allowed: list[str], **spec: Any) -> StepState:
    closed = spec.pop("closed", False)
    answered = spec.pop("answered", [])
    state = StepState(
        spec=StepSpec(
            step_id=step_id,
            title=step_id,
            participants=[Participant(person_id=p, role="r") for p in people],
            allowed=allowed,
            due_at=T0,
            **spec,
        ),
        opened_at=T0,
        closed=closed,
    )
    for person in answered:
        state.answers[person] = Answer(person_id=person, actor_id=person, decision=allowed[0], at=T0)
    return state


def _steps() -> dict[str, StepState]:
    steps = [
        _step(
            "review-1",
            ["S1", "I1", "I2"],
            ["approve", "request_changes"],
            comment_required=["request_changes"],
            delegates={"D1": ["S1"], "D2": ["I1", "I2"]},
            requester_id="HR1",
            answered=["I2"],
        ),
        _step("board-1", ["B1"], ["approve", "reject", "table"], details={"approve": "board_resolution"}),
        _step(
            "draft-1",
            ["HR1", "HRS"],
            ["revise", "proceed", "withdraw"],
            mode="any",
            details={"revise": "revised_text"},
            comment_required=["withdraw"],
        ),
        _step("selection-1", ["HM1"], ["select", "none_suitable"], details={"select": "selection"}),
        _step(
            "offer-1",
            ["HR2", "HM1"],
            ["offered"],
            answer_with=AnswerWay(update="make_offer", command="hr recruitment offer"),
        ),
        _step("union-0", ["U1"], ["agreeable", "objection"], closed=True),
    ]
    return {s.spec.step_id: s for s in steps}


def _scenarios() -> list[dict[str, StepState]]:
    """Every step at once, each alone, the generic ones only, and nothing open."""
    every = _steps()
    alone = [{k: v} for k, v in _steps().items()]
    generic = {k: v for k, v in _steps().items() if k != "offer-1"}
    return [every, *alone, generic]


SCENARIOS = _scenarios()

# ----- strategies ----------------------------------------------------------------------------------

people = st.one_of(st.sampled_from(PEOPLE), plain_ids())
details_payloads = st.one_of(
    payloads(
        {"kind": st.just("revised_text"), "text": st.one_of(texts(), long_strings(), st.just("Text.\n"))}
    ),
    payloads(
        {
            "kind": st.just("board_resolution"),
            "resolution_number": st.one_of(st.just(" 26-0412R "), plain_ids(), texts()),
            "meeting_date": maybe(days()),
        }
    ),
    payloads(
        {
            "kind": st.just("selection"),
            "applicant_id": st.one_of(st.from_regex(r"A\d{3,6}", fullmatch=True), texts()),
        }
    ),
    payloads({"kind": st.one_of(texts(), st.sampled_from(["", "RevisedText", "board_resolution "]))}),
)
VALID_DETAILS = {
    "revised_text": st.just({"kind": "revised_text", "text": "Human Resources Technician\n"}),
    "board_resolution": st.builds(
        lambda n, d: {"kind": "board_resolution", "resolution_number": n, "meeting_date": d},
        plain_ids(),
        maybe(st.dates(date(2000, 1, 1), date(2099, 12, 31)).map(date.isoformat)),
    ),
    "selection": st.from_regex(r"A\d{3,6}", fullmatch=True).map(
        lambda a: {"kind": "selection", "applicant_id": a}
    ),
}


@st.composite
def answers(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed answer to one of the steps, by a participant or a delegate (mostly accepted)."""
    spec = draw(st.sampled_from([s.spec for s in _steps().values()]))
    delegates = [d for d, people in spec.delegates.items() for _ in people]
    actor = draw(st.sampled_from([p.person_id for p in spec.participants] + delegates))
    decision = draw(st.sampled_from(spec.allowed))
    kind = spec.details.get(decision)
    out: dict[str, Any] = {"actor_id": actor, "decision": decision, "comment": draw(maybe(texts()))}
    if draw(st.booleans()):
        out["step_id"] = spec.step_id
    if actor in spec.delegates and draw(st.booleans()):
        out["on_behalf_of"] = draw(st.sampled_from(spec.delegates[actor]))
    if kind is not None:
        out["details"] = draw(VALID_DETAILS[kind])
    return out


decision_payloads = st.one_of(
    answers(),
    payloads(
        {
            "actor_id": people,
            "decision": st.one_of(st.sampled_from(DECISIONS), plain_ids()),
            "step_id": maybe(st.sampled_from(STEP_IDS)),
            "on_behalf_of": st.one_of(st.none(), st.none(), people),
            "comment": maybe(st.one_of(st.just("looks right"), st.just("  "), texts())),
            "details": st.one_of(st.none(), st.none(), details_payloads),
        }
    ),
)


def _as_json(payload: Any) -> str | None:
    try:
        return json.dumps(payload)
    except (TypeError, ValueError):  # a date object: the Python path only
        return None


def _validate(prop: str, payload: Any) -> list[DecisionInput]:
    """The payload read as the CLI reads it (Python) and as an Update decodes it (JSON)."""
    models: list[DecisionInput] = []
    attempts = [lambda: DecisionInput.model_validate(payload)]
    text = _as_json(payload)
    if text is not None:
        attempts.append(lambda: DecisionInput.model_validate_json(text))
    for attempt in attempts:
        try:
            models.append(attempt())
            count(prop, "accepted")
        except ValidationError as err:
            check_refusal(prop, reason(err), payload, echo_free=True)
    return models


# ----- properties ------------------------------------------------------------------------------------


@fuzz_settings(2000)
@given(payload=decision_payloads, scenario=st.sampled_from(range(len(SCENARIOS))), way=st.sampled_from(WAYS))
def test_a_decision_of_any_shape_is_taken_or_refused_in_one_line_and_a_refusal_changes_nothing(
    payload: Any, scenario: int, way: str
) -> None:
    steps = SCENARIOS[scenario]
    for inp in _validate("DecisionInput validation", payload):
        before = {k: s.model_dump() for k, s in steps.items()}
        try:
            state = select_step(steps, inp, way)
            person_id, details = check_answer(state, inp, way)
        except DecisionRefused as err:
            check_refusal("select_step + check_answer", str(err), payload)
        else:
            count("select_step + check_answer", "accepted")
            assert person_id in {p.person_id for p in state.spec.participants}
            assert inp.decision in state.spec.allowed and not state.closed
            assert (details is None) == (state.spec.details.get(inp.decision) is None)
        after = {k: s.model_dump() for k, s in steps.items()}
        if after != before:
            count("select_step + check_answer", "state_changes")
        assert after == before, "a checked answer changed a step"


@fuzz_settings(1500)
@given(raw=st.one_of(details_payloads, anything()))
def test_details_of_any_shape_are_read_or_refused_in_one_line(raw: Any) -> None:
    try:
        details = parse_details(raw)
    except Exception as err:  # noqa: BLE001
        assert type(err) is ValueError, f"{type(err).__name__}: {err}"
        check_refusal("parse_details", str(err), raw, echo_free=True)
    else:
        count("parse_details", "accepted")
        assert details.kind == raw["kind"]
        assert parse_details(as_sent(details)) == details, "accepted details do not read back as themselves"


# ----- what the fuzzing found, fixed: refusals name no key, kind or check ---------------------------


def test_found_f_s1_an_extra_field_of_details_is_not_repeated():
    with pytest.raises(ValueError) as err:
        parse_details({"kind": "board_resolution", "resolution_number": "26-1", "x\n\x1b[31m": 1})
    assert one_line_problem(str(err.value)) is None


def test_found_f_s2_an_unknown_kind_is_not_repeated():
    with pytest.raises(ValueError) as err:
        parse_details({"kind": f"x\n{CANARY}"})
    assert one_line_problem(str(err.value)) is None and CANARY not in str(err.value)
