"""Fuzzing the other inputs of the workflows (Hypothesis): the recruitment's Updates, the
register's, the human step's HR commands, and a signal's arguments.

Each contract is given raw JSON-like payloads (valid fields mixed with hostile ones, missing and
extra fields, wrong types) and validated as the CLI builds it (Python) and as an Update decodes
it (JSON): it yields a model, whose text holds no NUL and which validates again to itself, or a
``ValidationError`` whose ``reason()`` is one line that does not repeat the input. A signal's
arguments of any number and shape are read by ``read_argument``: a model or a one-line
``ValueError``, never anything else.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from schemas import eligibility_register as er
from schemas import jd_review as jd
from schemas import recruitment as rc
from schemas.human_step import DecisionInput, DelegationRequest, ExtendDueInput, WithdrawInput
from schemas.limits import read_argument, reason
from tests.fuzz_support import (
    CANARY,
    UNICODE,
    check_refusal,
    count,
    days,
    fuzz_settings,
    hostile_values,
    long_strings,
    maybe,
    moments,
    numbers,
    one_line_problem,
    payloads,
    plain_ids,
    texts,
)
from tests.test_fuzz_decisions import decision_payloads

pytest_plugins = ["tests.fuzz_support"]

# ----- valid-ish values (each mixed with hostile ones by ``payloads``) ---------------------------------

ids = st.one_of(st.sampled_from(["E1005", "E1006", "A001", "A1000", "P-ITAT-02", "criminal"]), plain_ids())
keys = st.one_of(ids, st.just("recruitment-R1:0b3a-77:certification-1"), long_strings())
comments = st.one_of(
    st.sampled_from(["Checked with the panel.", f"line one\r\nline two {CANARY}", "", " ", *UNICODE]),
    texts(),
)
lines = st.sampled_from(["Avery Lindqvist", f"Avery {CANARY}", '=HYPERLINK("http://x","y")', *UNICODE])
in_range_moments = st.datetimes(datetime(2000, 1, 2), datetime(2099, 12, 30), timezones=st.just(timezone.utc))
in_range_days = st.dates(date(2000, 1, 1), date(2099, 12, 31))
counts = st.one_of(st.integers(1, 50), st.integers(1, 50), st.sampled_from([0, 50, 51, 1000, 1001, -1]))
pay = st.one_of(st.floats(1, 200), st.floats(1, 200), numbers())
years = st.one_of(st.floats(0, 80), st.floats(0, 80), numbers())
valid_moments = st.one_of(*[in_range_moments.map(datetime.isoformat)] * 3, moments())
valid_days = st.one_of(*[in_range_days.map(date.isoformat)] * 3, days())
EDUCATION = st.sampled_from([*rc.EDUCATION_LEVELS, "High School", "phd"])

experience = payloads({"area": lines, "years": years}, wrong_type=False)
application = payloads(
    {
        "name": lines,
        "email": st.one_of(st.just("avery@example.org"), st.just(f"{CANARY}@example.org"), texts()),
        "education": EDUCATION,
        "experience": st.dictionaries(
            st.one_of(st.sampled_from(["bookkeeping", "clerical"]), texts()),
            years,
            max_size=3,
        ),
        "supplemental_answers": st.lists(comments, max_size=3),
    }
)
announcement = payloads(
    {
        "class_code": ids,
        "title": lines,
        "department_code": ids,
        "vacancies": counts,
        "position_ids": st.lists(ids, max_size=3),
        "pay_min": pay,
        "pay_max": pay,
        "pay_unit": ids,
        "start_step": counts,
        "closes_at": valid_moments,
        "minimum_qualifications": payloads(
            {"education": EDUCATION, "experience": st.lists(experience, max_size=2)}, wrong_type=False
        ),
        "supplemental_questions": st.lists(comments, max_size=2),
        "background_checks": st.lists(st.sampled_from([*rc.BACKGROUND_CHECKS, "credit"]), max_size=3),
        "advertisements": st.lists(lines, max_size=2),
    }
)

CONTRACTS: dict[type[BaseModel], st.SearchStrategy[Any]] = {
    rc.ScoreInput: payloads(
        {
            "actor_id": ids,
            "scores": st.lists(payloads({"applicant_id": ids, "score": pay}), max_size=3),
            "step_id": maybe(ids),
            "comment": maybe(comments),
        }
    ),
    rc.OfferInput: payloads(
        {
            "actor_id": ids,
            "applicant_id": ids,
            "position_id": maybe(ids),
            "start_date": valid_days,
            "pay_step": counts,
        }
    ),
    rc.CheckResultInput: payloads(
        {
            "actor_id": ids,
            "applicant_id": ids,
            "check": st.one_of(st.sampled_from(rc.BACKGROUND_CHECKS), ids),
            "result": st.one_of(st.sampled_from(rc.CHECK_RESULTS), ids),
            "comment": maybe(comments),
        }
    ),
    rc.ReviseAnnouncementInput: payloads(
        {"actor_id": ids, "announcement": announcement, "comment": maybe(comments)}
    ),
    rc.ScreenOverrideInput: payloads(
        {
            "actor_id": ids,
            "applicant_id": ids,
            "qualified": st.one_of(st.booleans(), st.sampled_from(["yes", "no", "true", 0, 1, 2])),
            "reason": comments,
        }
    ),
    rc.ReassignScorerInput: payloads(
        {"actor_id": ids, "step_id": ids, "from_id": ids, "to_id": ids, "reason": comments}
    ),
    rc.Application: application,
    rc.ApplyInput: payloads(
        {"actor_id": ids, "applications": st.lists(application, max_size=3), "source": maybe(lines)}
    ),
    ExtendDueInput: payloads(
        {
            "actor_id": ids,
            "step_id": ids,
            "new_due_at": valid_moments,
            "reason": comments,
        }
    ),
    WithdrawInput: payloads({"actor_id": ids, "reason": comments}),
    er.CertifyInput: payloads(
        {"actor_id": ids, "request_id": keys, "vacancies": counts, "passed_over": st.lists(ids, max_size=3)}
    ),
    er.RemoveInput: payloads(
        {
            "actor_id": ids,
            "applicant_id": ids,
            "reason": st.one_of(st.sampled_from(er.REMOVAL_REASONS), ids),
            "comment": maybe(comments),
            "request_id": maybe(keys),
        }
    ),
    er.FillInput: payloads(
        {"actor_id": ids, "applicant_id": ids, "position_id": ids, "request_id": maybe(keys)}
    ),
    DelegationRequest: payloads(
        {
            "delegator_id": ids,
            "delegate_id": ids,
            "starts_on": valid_days,
            "ends_on": st.one_of(
                valid_days, st.integers(-2, 400).map(lambda n: date(2026, 1, 1) + timedelta(n))
            ),
            "reason": comments,
        }
    ),
    jd.StartReviewInput: payloads(
        {
            "class_code": ids,
            "cycle": ids,
            "requested_by": ids,
            "draft_text": maybe(st.one_of(comments, long_strings())),
            "review_days": counts,
            "max_rounds": counts,
        }
    ),
}


def _as_json(payload: Any) -> str | None:
    try:
        return json.dumps(payload)
    except (TypeError, ValueError):  # a date object: the Python path only
        return None


@pytest.mark.parametrize("model", list(CONTRACTS), ids=lambda m: m.__name__)
@fuzz_settings(200)
@given(data=st.data())
def test_a_contract_of_any_shape_is_read_or_refused_in_one_line(model: type[BaseModel], data: st.DataObject):
    payload = data.draw(CONTRACTS[model], label="payload")
    prop = f"contract {model.__name__}"
    attempts = [lambda: model.model_validate(payload)]
    text = _as_json(payload)
    if text is not None:
        attempts.append(lambda: model.model_validate_json(text))
    for attempt in attempts:
        try:
            value = attempt()
        except ValidationError as err:
            check_refusal(prop, reason(err), payload, echo_free=True)
            continue
        count(prop, "accepted")
        dumped = value.model_dump_json()
        assert "\\u0000" not in dumped, "a NUL was accepted (PostgreSQL cannot store it)"
        assert model.model_validate_json(dumped) == value, "an accepted value does not read back as itself"


@fuzz_settings(1000)
@given(args=st.lists(st.one_of(decision_payloads, hostile_values()), max_size=3))
def test_a_signal_of_any_arguments_is_read_or_refused_in_one_line(args: list[Any]) -> None:
    try:
        inp = read_argument(DecisionInput, tuple(args))
    except Exception as err:  # noqa: BLE001 (the property: nothing but a one-line ValueError)
        assert type(err) is ValueError, f"{type(err).__name__}: {err}"
        check_refusal("read_argument(DecisionInput)", str(err), args, echo_free=True)
    else:
        count("read_argument(DecisionInput)", "accepted")
        assert len(args) == 1 and isinstance(inp, DecisionInput)


# ----- what the fuzzing found, fixed: refusals name no key, kind or check ---------------------------

APPLICANT = {"name": "Avery Lindqvist", "email": "avery@example.org", "education": "vocational"}


def test_found_f_s1_an_experience_area_is_not_repeated():
    with pytest.raises(ValidationError) as err:
        rc.Application.model_validate(APPLICANT | {"experience": {"clerical\x1b[2J": 2}})
    assert one_line_problem(reason(err.value)) is None


def test_found_f_s3_a_negative_experience_does_not_repeat_the_area():
    with pytest.raises(ValidationError) as err:
        rc.Application.model_validate(APPLICANT | {"experience": {f"clerical\u2028{CANARY}": -1}})
    assert one_line_problem(reason(err.value)) is None and CANARY not in reason(err.value)


def test_found_f_s4_an_unknown_background_check_is_not_repeated():
    ok = {"class_code": "ITAT", "title": "T", "department_code": "FIN", "vacancies": 1, "pay_min": 1}
    ok |= {"pay_max": 2, "closes_at": "2030-01-01T00:00:00Z"}
    with pytest.raises(ValidationError) as err:
        rc.Announcement.model_validate(ok | {"background_checks": [CANARY * 40]})
    assert CANARY not in reason(err.value)
