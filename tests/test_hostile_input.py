"""Input that used to wedge a workflow for good, and a late answer that a default overwrote.

Every text, id and date is checked at the door against one set of limits (``schemas/limits.py``):
the CLI refuses with one line before sending, an Update whose argument cannot be read is
refused, a signal of any shape is logged and dropped, and data the database can never store
fails its activity for good instead of retrying forever.
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError, create_model
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ActivityError, ApplicationError, RetryState
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor, Worker
from typer.testing import CliRunner

import starter
from activities.records import RecordActivities
from activities.store import Unstorable
from schemas import jd_review as jd
from schemas.decision_details import parse_details
from schemas.human_step import DecisionInput, DelegationRequest, ExtendDueInput
from schemas.limits import Comment, Contract, Id, Key, Line, LongText, Moment, read_argument
from service.settings import get_settings
from tests.review_harness import Review, approve_all, settings_for
from tests.storing_workflow import StoreOneAuditRow
from worker import build_worker, workflow_runner

NUL = "\x00"


# ----- the limits ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "ok"),
    [
        (Id, "2026", True),
        (Id, "demo-2026.1_b", True),
        (Id, "", False),
        (Id, "a\nb", False),
        (Id, "2026 spring", False),
        (Id, "x" * 65, False),
        (Key, "recruitment-R1:0b3a-77:certification-1", True),
        (Line, "Avery Lindqvist", True),
        (Line, "Avery\nLindqvist", False),
        (Line, f"Avery{NUL}", False),
        (Line, "x" * 201, False),
        (Comment, "Two lines\nare fine\twith a tab", True),
        (Comment, f"a{NUL}b", False),
        (Comment, "bell\x07", False),
        (Comment, "x" * 4001, False),
        (LongText, "A description.\n", True),
        (LongText, "  \n ", False),
        (LongText, f"text{NUL}", False),
        (LongText, "x" * 200_001, False),
        (Moment, datetime(2027, 1, 1, tzinfo=timezone.utc), True),
        (Moment, datetime(9999, 12, 31, tzinfo=timezone.utc), False),
        (Moment, datetime(2027, 1, 1), False),  # no time zone
    ],
)
def test_one_set_of_limits_for_ids_texts_and_dates(kind: Any, value: Any, ok: bool):
    one = create_model("One", __base__=Contract, value=(kind, ...))
    if ok:
        one(value=value)
    else:
        with pytest.raises(ValidationError) as err:
            one(value=value)
        assert NUL not in str(err.value) and "input_value" not in str(err.value)  # never echoed


def test_a_review_needs_an_id_for_its_cycle_and_a_draft_that_is_text():
    ok = {"class_code": "1821", "requested_by": "E1008"}
    jd.StartReviewInput(**ok, cycle="2026", draft_text="The draft.\n")
    for cycle in ("", "2026\nBcc: x@example.org", f"2026{NUL}", "spring 2026"):
        with pytest.raises(ValidationError, match="cycle"):
            jd.StartReviewInput(**ok, cycle=cycle)
    for draft in ("", " \n", f"draft{NUL}", "x" * 200_001):
        with pytest.raises(ValidationError, match="draft_text"):
            jd.StartReviewInput(**ok, cycle="2026", draft_text=draft)
    with pytest.raises(ValueError, match="must not contain control characters"):
        parse_details({"kind": "revised_text", "text": f"revised{NUL}"})


def test_a_delegation_needs_a_reason_and_lasts_at_most_a_year():
    today = date(2026, 11, 29)
    good = {"delegator_id": "E1006", "delegate_id": "E1029", "starts_on": today}
    DelegationRequest(**good, ends_on=today + timedelta(days=366), reason="Leave")
    for ends_on, reason, why in [
        (today + timedelta(days=30), "", "must not be empty"),
        (today + timedelta(days=30), "  ", "must not be empty"),
        (today + timedelta(days=367), "Leave", "at most 366 days"),
        (today - timedelta(days=1), "Leave", "ends before it starts"),
        (date(9999, 12, 31), "Leave", "between 2000 and 2100"),
    ]:
        with pytest.raises(ValidationError, match=why):
            DelegationRequest(**good, ends_on=ends_on, reason=reason)
    with pytest.raises(ValidationError, match="cannot delegate to themselves"):
        DelegationRequest(**good | {"delegate_id": "E1006"}, ends_on=today, reason="Leave")


def test_a_signal_is_read_as_one_argument_of_its_contract():
    inp = read_argument(DecisionInput, ({"actor_id": "E1005", "decision": "approve"},))
    assert inp.actor_id == "E1005"
    for args, why in [
        (({"actor_id": "E1005", "decision": "approve"}, 1), "expected one argument, got 2"),
        ((), "expected one argument, got 0"),
        (("approve",), "Input should be a valid dictionary"),
        (({"actor_id": "E1005"},), "decision: Field required"),
        (({"actor_id": "E1005", "decision": "approve", "comment": f"a{NUL}b"},), "comment: must not contain"),
    ]:
        with pytest.raises(ValueError, match=why) as err:
            read_argument(DecisionInput, args)
        assert NUL not in str(err.value)


# ----- the CLI refuses before sending -------------------------------------------------------------


@pytest.fixture
def cli(engine, db_url, tmp_path):
    """The ``hr`` app in process against a seeded store; no Temporal server (nothing is sent)."""
    from activities.seed import seed_city

    seed_city(engine)
    runner = CliRunner()
    env = {"HR_DATABASE_URL": db_url, "HR_TEMPORAL_ADDRESS": "127.0.0.1:1", "HR_LOG_LEVEL": "ERROR"}

    def hr(*args: str) -> tuple[int, str]:
        get_settings.cache_clear()
        result = runner.invoke(starter.app, list(args), env=env)
        get_settings.cache_clear()
        return result.exit_code, result.output

    yield hr, tmp_path


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_cli_refuses_bad_input_with_one_line_before_it_sends_anything(cli):
    hr, tmp = cli
    empty = tmp / "empty.txt"
    empty.write_text(" \n")
    nul = tmp / "nul.txt"
    nul.write_text(f"A draft{NUL} with a NUL\n")
    far = (date.today() + timedelta(days=400)).isoformat()
    cases = [
        (["review", "start", "1821", "--as", "E1008", "--cycle", "2026\nBcc: all@city.example"], "cycle"),
        (["review", "start", "1821", "--as", "E1008", "--cycle", " "], "cycle"),
        (
            ["review", "start", "1821", "--as", "E1008", "--draft", str(empty)],
            "draft_text: must not be empty",
        ),
        (["review", "start", "1821", "--as", "E1008", "--draft", str(nul)], "draft_text: must not contain"),
        (["review", "start", "1821", "--as", "E1004"], "E1004 has no HR role and may not request a review"),
        (["review", "sweep", "--as", "E1004"], "E1004 has no HR role"),
        (["decide", "jd-review-1821-2026", "approve", "--as", "E1006", "--comment", f"ok{NUL}"], "comment"),
        (
            [
                "extend",
                "jd-review-1821-2026",
                "review-1",
                "--as",
                "E1008",
                "--due",
                "9999-12-31",
                "--reason",
                "x",
            ],
            "days ahead",
        ),
        (
            ["delegate", "--from", "E1006", "--to", "E1029", "--until", far, "--reason", "Leave"],
            "at most 366 days",
        ),
        (
            [
                "delegate",
                "--from",
                "E1006",
                "--to",
                "E1029",
                "--until",
                date.today().isoformat(),
                "--reason",
                " ",
            ],
            "reason",
        ),
    ]
    for args, why in cases:
        code, output = hr(*args)
        assert code != 0, args
        lines = [line for line in output.splitlines() if line.strip()]
        assert len(lines) == 1 and why in lines[0], (args, output)
        assert "cannot reach Temporal" not in output, args  # refused before connecting
        assert NUL not in output


# ----- signals and Updates of any shape -------------------------------------------------------------


async def _task_failures(handle: WorkflowHandle) -> list[str]:
    history = await handle.fetch_history()
    return [
        e.workflow_task_failed_event_attributes.failure.message
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]


async def test_a_signal_of_any_shape_is_dropped_and_the_review_goes_on(review: Review):
    handle = await review.start()
    status = await review.wait_for_step(handle, "review-1")
    supervisor = status.open_steps[0].pending[0]
    good = {"actor_id": supervisor, "decision": "approve", "step_id": "review-1"}
    for args in (
        [good, 1],  # two arguments (``--input '{…}' --input '1'``)
        ["approve"],
        [{"actor_id": supervisor}],
        [good | {"comment": f"fine{NUL}"}],
        [good | {"details": {"kind": "revised_text", "text": "x"}}],
        [],
    ):
        await handle.signal("decide", args=args)
    receipt = await review.decide(handle, "E1007", "approve", step_id="review-1")  # after the signals
    assert receipt.person_id == "E1007"
    after = await review.status(handle)
    step = next(s for s in after.open_steps if s.step_id == "review-1")
    assert [a.person_id for a in step.answers] == ["E1007"]
    assert await _task_failures(handle) == []
    assert not any(NUL in (e.comment or "") for e in review.audit(handle.id))
    await handle.terminate("test over")


async def test_an_update_that_cannot_be_read_or_reaches_too_far_is_refused_and_changes_nothing(
    review: Review,
):
    handle = await review.start()
    status = await review.wait_for_step(handle, "review-1")
    before = status.open_steps[0]
    supervisor = before.pending[0]
    far = {"actor_id": "E1008", "step_id": "review-1", "new_due_at": "9999-12-31T00:00:00Z", "reason": "x"}
    raw_refusals: list[tuple[str, list[Any], str]] = [
        (
            "decide",
            [{"actor_id": supervisor, "decision": "approve", "comment": f"ok{NUL}"}],
            "comment: must not",
        ),
        ("decide", [{"actor_id": supervisor, "decision": "approve"}, 1], "expected one argument, got 2"),
        ("decide", [], "expected one argument, got 0"),
        ("decide", [None], "input: Input should be a valid dictionary"),
        ("extend_due", [far], "new_due_at: must be between 2000 and 2100"),
        ("withdraw", [{"actor_id": "E1008", "reason": f"no{NUL}"}], "reason: must not contain"),
    ]
    for name, args, why in raw_refusals:
        with pytest.raises(WorkflowUpdateFailedError) as refusal:
            await handle.execute_update(name, args=args)
        message = str(refusal.value.cause)
        assert why in message and "\n" not in message and NUL not in message, (name, message)
    now = await review.env.get_current_time()
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(
            "extend_due",
            ExtendDueInput(
                actor_id="E1008", step_id="review-1", new_due_at=now + timedelta(days=1000), reason="x"
            ),
        )
    assert "within 730 days" in str(err.value.cause)
    after = (await review.status(handle)).open_steps[0]
    assert (after.due_at, after.pending, after.answers) == (before.due_at, before.pending, before.answers)
    assert await _task_failures(handle) == []
    await handle.terminate("test over")


async def test_a_requester_without_an_hr_role_stops_the_review_with_the_reason(review: Review):
    handle = await review.start(requested_by="E1004")  # the department director
    with pytest.raises(WorkflowFailureError) as err:
        await handle.result()
    cause = err.value.cause  # refused at the start (signed starts), before any step
    assert isinstance(cause, ApplicationError) and cause.type == "StartRefused"
    assert "E1004 has no HR role" in cause.message
    assert review.audit(handle.id) == [] and review.outbox(handle.id) == []


# ----- data the database can never store ---------------------------------------------------------------


async def test_data_the_database_cannot_store_fails_its_activity_for_good(time_skipping_env, engine, db_url):
    queue = f"store-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(2) as pool:
        async with Worker(
            time_skipping_env.client,
            task_queue=queue,
            workflows=[StoreOneAuditRow],
            activities=[RecordActivities(engine).record_audit],
            activity_executor=pool,
            interceptors=[Unstorable()],
            workflow_runner=workflow_runner(),
        ):
            run = time_skipping_env.client.execute_workflow(
                StoreOneAuditRow.run, f"a NUL{NUL}byte", id=f"store-{uuid.uuid4().hex[:8]}", task_queue=queue
            )
            if not db_url.startswith("postgresql"):
                assert await run > 0  # SQLite stores it; PostgreSQL cannot
                return
            with pytest.raises(WorkflowFailureError) as err:
                await run
    cause = err.value.cause
    assert isinstance(cause, ActivityError) and cause.retry_state == RetryState.NON_RETRYABLE_FAILURE
    assert isinstance(cause.cause, ApplicationError) and cause.cause.type == "Unstorable"
    assert NUL not in cause.cause.message and "DataError" in cause.cause.message


# ----- a late answer is not overwritten by the default ----------------------------------------------------


class _HoldFirstDefault(Interceptor):
    """Holds the audit write of the first default answer until the test lets it go (a local
    activity under ``step-records-in-one``: the workflow task is kept alive while it is held)."""

    def __init__(self) -> None:
        self.held = asyncio.Event()
        self.release = asyncio.Event()

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        hold = self

        class Inbound(ActivityInboundInterceptor):
            async def execute_activity(self, input: ExecuteActivityInput) -> Any:
                arg = input.args[0] if input.args else None
                # an audit row of its own, or among a step's records (``record_step``)
                rows = [arg, *getattr(arg, "audits", [])]
                defaulted = any(getattr(r, "action", None) == "no_response" for r in rows)
                if defaulted and not hold.held.is_set():
                    hold.held.set()
                    await hold.release.wait()
                return await self.next.execute_activity(input)

        return Inbound(next)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_an_answer_accepted_while_a_default_is_recorded_stands(time_skipping_env, engine, db_url, smtp):
    from activities.seed import seed_city

    seed_city(engine)
    hold = _HoldFirstDefault()
    queue = f"race-{uuid.uuid4().hex[:8]}"
    async with build_worker(
        time_skipping_env.client, settings_for(smtp, db_url), engine, task_queue=queue, interceptors=[hold]
    ):
        review = Review(env=time_skipping_env, engine=engine, smtp=smtp, task_queue=queue)
        handle = await review.start()
        status = await review.wait_for_step(handle, "review-1")
        supervisor, first, second = status.open_steps[0].pending  # E1005, then the incumbents
        await review.decide(handle, supervisor, "approve", step_id="review-1")
        # just past the due date and the default's grace (3 days): the default answers for both
        # incumbents and is held while it records the first one's. The sleep ends a moment
        # after, so the held attempt is well inside its start-to-close timeout.
        now = await review.env.get_current_time()
        default_at = status.open_steps[0].due_at + timedelta(days=3)
        await review.env.sleep(default_at - now + timedelta(seconds=1))
        await asyncio.wait_for(hold.held.wait(), timeout=30)
        receipt = await review.decide(handle, second, "approve", comment="sorry, late", step_id="review-1")
        assert receipt.person_id == second
        hold.release.set()
        status = await review.drive(handle, approve_all, until_stage=jd.UNION)
        await handle.terminate("test over")
    step = next(s for s in status.closed_steps if s.step_id == "review-1")
    decisions = {a.person_id: (a.decision, a.source) for a in step.answers}
    # the answer that was accepted wins: it is what the memo and the signatures will say
    assert decisions == {
        supervisor: ("approve", "update"),
        first: ("no_response", "default"),
        second: ("approve", "update"),
    }
    rows = [
        (e.actor_id, e.action, e.on_behalf_of) for e in review.audit(handle.id) if e.step_id == "review-1"
    ]
    assert ("system", "no_response", first) in rows
    assert (second, "approve", None) in rows
    assert ("system", "no_response", second) not in rows
