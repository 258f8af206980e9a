"""Fuzzing a running review with raw decisions (Hypothesis), in SQLite and PostgreSQL.

One ``JobDescriptionReview`` per database, at its ``review-1`` step (real activities, a seeded
store, SMTP); then, for each generated example, the raw payload is sent as the ``decide`` Update
(with the wrong number of arguments now and then) and as the ``decide`` signal (with zero to
three arguments). Each Update returns a receipt or fails with ``WorkflowUpdateFailedError``
whose reason is one line; a signal is taken or dropped. When nothing was taken, the workflow's
state (its ``status`` query) and its audit rows in the store are exactly as before; the history
never has a failed workflow task.

How the examples are driven: ``@given`` on the ``async def`` test. pytest-asyncio runs each
Hypothesis example's coroutine on the session's event loop (its ``AsyncHypothesisTest`` item), the
loop the worker, the client and the test server's fixtures live on, so the examples run one after
the other against the one workflow the function-scoped fixture opened (hence the suppressed
``function_scoped_fixture`` health check: sharing it is the point). The property-level rigour
(thousands of examples) is in the pure tests; this is the end-to-end check, 60 examples per database.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest_asyncio
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from schemas import jd_review as jd
from schemas.human_step import DecisionReceipt
from tests.fuzz_support import check_refusal, count, fuzz_settings, hostile_values, maybe, payloads, texts
from tests.review_harness import Review
from tests.test_fuzz_decisions import details_payloads

pytest_plugins = ["tests.fuzz_support"]

REVIEWERS = ["E1005", "E1006", "E1007"]
"""review-1 of 1821: the HR supervisor and the two incumbents."""
OTHERS = ["E1008", "E1009", "E1029", "X9"]
"""The requester, the union's representative, someone else, nobody. The directors who sign are
left out so that the review stays short of its end whatever is taken."""
DECISIONS = ["approve", "request_changes", "reject", "agreeable", "table", "no_response"]
BARRIER = {"actor_id": "X0", "decision": "approve", "step_id": "no-such-step"}
"""Always refused: sent after a signal, its answer means the signal has been handled."""


def _sendable(value: Any) -> bool:
    """The client can encode it (a lone surrogate is no text at all: nothing to send)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError):  # UnicodeEncodeError is a ValueError
        return False
    return True


raw_decisions = payloads(
    {
        "actor_id": st.one_of(st.sampled_from(REVIEWERS), st.sampled_from(OTHERS), texts()),
        "decision": st.one_of(st.sampled_from(DECISIONS), texts()),
        "step_id": maybe(st.sampled_from(["review-1", "union-1", "board-1", "nope-1"])),
        "on_behalf_of": st.one_of(st.none(), st.none(), st.sampled_from(REVIEWERS + OTHERS)),
        "comment": maybe(st.one_of(st.just("looks right"), texts())),
        "details": st.one_of(st.none(), st.none(), details_payloads),
    }
).filter(_sendable)
answers = st.fixed_dictionaries(
    {
        "actor_id": st.sampled_from(REVIEWERS + ["E1009"]),
        "decision": st.sampled_from(["approve", "request_changes", "agreeable"]),
    },
    optional={
        "step_id": st.sampled_from(["review-1", "union-1"]),
        "comment": st.sampled_from(["looks right", "say hourly pay", "Zoë: ok\r\nthanks"]),
    },
)
"""Well-formed answers of the review's people (taken when it is their turn)."""
decisions = st.one_of(raw_decisions, answers)
extra = hostile_values().filter(_sendable)
update_args = st.one_of(
    *[decisions.map(lambda p: [p])] * 4, st.tuples(decisions, extra).map(list), st.just([])
)
signal_args = st.one_of(
    st.just(None), *[decisions.map(lambda p: [p])] * 2, st.lists(st.one_of(decisions, extra), max_size=3)
)
"""``None``: the Update's payload again, as the signal's one argument."""


@pytest_asyncio.fixture(loop_scope="session")
async def at_review(review: Review):
    """One review at ``review-1``, for every example of the test; terminated afterwards."""
    handle = await review.start()
    await review.wait_for_step(handle, "review-1")
    await _settled(review, handle)
    yield review, handle
    await handle.terminate("fuzzing over")


async def _snapshot(review: Review, handle: WorkflowHandle) -> tuple[dict[str, Any], list[tuple]]:
    status = await handle.query("status", result_type=jd.ReviewStatus)
    rows = [
        (e.id, e.step_id, e.actor_id, e.action, e.on_behalf_of, e.comment) for e in review.audit(handle.id)
    ]
    return status.model_dump(), rows


async def _settled(review: Review, handle: WorkflowHandle) -> tuple[dict[str, Any], list[tuple]]:
    """The state once the activities an answer started are done: two reads 0.3 s apart agree."""
    last = await _snapshot(review, handle)
    for _ in range(60):
        await asyncio.sleep(0.3)
        now = await _snapshot(review, handle)
        if now == last:
            return now
        last = now
    raise AssertionError("the workflow never settled")


def _answers(status: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (step["step_id"], a["person_id"])
        for step in status["open_steps"] + status["closed_steps"]
        for a in step["answers"]
    }


async def _task_failures(handle: WorkflowHandle) -> list[str]:
    history = await handle.fetch_history()
    return [
        e.workflow_task_failed_event_attributes.failure.message
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]


@fuzz_settings(60, HealthCheck.function_scoped_fixture)
@given(args=update_args, signal=signal_args)
async def test_a_raw_decision_is_taken_or_refused_in_one_line_and_a_refusal_changes_nothing(
    at_review: tuple[Review, WorkflowHandle], args: list[Any], signal: list[Any] | None
) -> None:
    review, handle = at_review
    before = await _snapshot(review, handle)  # settled: by the fixture, or after the last answer taken

    taken_by_update: tuple[str, str] | None = None
    try:
        receipt = await handle.execute_update("decide", args=args, result_type=DecisionReceipt)
    except WorkflowUpdateFailedError as err:
        message = getattr(err.cause, "message", None) or str(err.cause)
        check_refusal("workflow decide Update", message, args)
    else:
        count("workflow decide Update", "accepted")
        taken_by_update = (receipt.step_id, receipt.person_id)

    await handle.signal("decide", args=args if signal is None else signal)
    try:
        await handle.execute_update("decide", args=[BARRIER])
    except WorkflowUpdateFailedError:
        pass
    else:
        raise AssertionError("the barrier was taken")

    after = await _snapshot(review, handle)
    new = _answers(after[0]) - _answers(before[0])
    if taken_by_update is not None:
        assert taken_by_update in new
    taken_by_signal = len(new) - (taken_by_update is not None)
    count("workflow decide signal", "accepted" if taken_by_signal else "refused")
    if not new:
        if after != before:
            count("workflow decide Update", "state_changes")
            count("workflow decide signal", "state_changes")
        assert after[0] == before[0], "a refused decision changed the workflow's state"
        assert after[1] == before[1], "a refused decision wrote to the store"
    else:
        await _settled(review, handle)
    assert await _task_failures(handle) == []
