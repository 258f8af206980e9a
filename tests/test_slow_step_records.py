"""A step's records (``record_step``, a local activity) held up longer than a workflow task may
run: the worker heartbeats the task and the records land in a later one. The run must still
finish, and its history must replay: the patch markers the run wrote first (``one-upsert-per-task``,
``step-records-in-one``, ``signed-answers``) meet the same code on replay.

The hold is real: another connection keeps the store's write lock (SQLite) or an exclusive
table lock (PostgreSQL) on the audit table for 15 s, past the 10 s workflow-task timeout's
heartbeat, while a reviewer's answer waits to be recorded.
"""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import text
from temporalio.api.enums.v1 import EventType
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.review_harness import Review, approve_all
from worker import WORKFLOW_INTERCEPTORS, WORKFLOWS, workflow_runner

HOLD_SECONDS = 15.0


def _hold_the_audit_table(review: Review, held: threading.Event, release: threading.Event) -> None:
    with review.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("LOCK TABLE auditevent IN EXCLUSIVE MODE"))
        else:  # SQLite: any write statement takes the database's write lock until the rollback
            conn.execute(text("DELETE FROM auditevent WHERE 1 = 0"))
        held.set()
        release.wait(HOLD_SECONDS)
        conn.rollback()


async def test_step_records_held_past_a_task_heartbeat_finish_and_replay(review: Review):
    handle = await review.start()
    status = await review.wait_for(handle, lambda s: bool(s.open_steps and s.open_steps[0].pending))
    step = status.open_steps[0]
    person = step.pending[0]

    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_the_audit_table, args=(review, held, release), daemon=True)
    holder.start()
    assert await asyncio.to_thread(held.wait, 10)
    try:
        decision = approve_all(step.step_id, person)
        assert decision is not None
        decision.step_id = step.step_id
        # The Update's handler records the answer (record_step) while the table is held.
        answer = asyncio.create_task(handle.execute_update("decide", decision))
        await asyncio.sleep(HOLD_SECONDS)
    finally:
        release.set()
        await asyncio.to_thread(holder.join, 30)
    await answer

    final = await review.drive(handle, approve_all, timeout=120)
    assert final.outcome == "adopted"
    await handle.result()
    history = await handle.fetch_history()

    # The hold really outlasted a workflow task: the worker heartbeated the task that waited for
    # the records (it completes at 80 % of the 10 s task timeout, and the next one goes on).
    started_at = None
    longest = 0.0
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            started_at = event.event_time.ToDatetime()
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and started_at:
            longest = max(longest, (event.event_time.ToDatetime() - started_at).total_seconds())
    assert longest >= 7, f"no workflow task waited past its heartbeat (longest {longest:.1f} s)"

    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
        interceptors=WORKFLOW_INTERCEPTORS,
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
