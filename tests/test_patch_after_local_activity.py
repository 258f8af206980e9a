"""What the coalesced human step relies on: a patch first checked just after a local activity that
outlasted its workflow task replays.

A step's records are a local activity (``record_step``), and a process's patch may be checked for
the first time right after one (for example ``revised-draft-by-reference`` after HR's answer is
recorded). When the records are held up past the workflow task's timeout, the worker heartbeats
the task and both markers land in a later task; replay takes the local activity's result from its
marker. This checks, on the dev server, that the patch then meets its marker on replay: with a
12 s local activity the history shows the heartbeated task, and the replay is clean.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker

pytest_plugins = ["tests.dev_server"]

HELD_SECONDS = 12.0  # past 80 % of the 10 s workflow-task timeout: the task is heartbeated


@activity.defn
def held_records(seconds: float) -> str:
    time.sleep(seconds)
    return "written"


@activity.defn
def next_step() -> str:
    return "next"


@workflow.defn(sandboxed=False)
class RecordsThenPatch:
    @workflow.run
    async def run(self, seconds: float) -> str:
        await workflow.execute_local_activity(
            held_records, seconds, start_to_close_timeout=timedelta(seconds=60)
        )
        if workflow.patched("after-held-records"):
            await workflow.execute_activity(next_step, start_to_close_timeout=timedelta(seconds=10))
            return "patched"
        return "old"


async def test_a_patch_first_checked_after_a_held_local_activity_replays(dev_env):
    queue = f"patch-after-la-{uuid.uuid4().hex[:6]}"
    with ThreadPoolExecutor(2) as threads:
        async with Worker(
            dev_env.client,
            task_queue=queue,
            workflows=[RecordsThenPatch],
            activities=[held_records, next_step],
            activity_executor=threads,
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            handle = await dev_env.client.start_workflow(
                RecordsThenPatch.run,
                HELD_SECONDS,
                id=f"patch-after-la-{uuid.uuid4().hex[:6]}",
                task_queue=queue,
            )
            assert await handle.result() == "patched"
    history = await handle.fetch_history()
    types = [e.event_type for e in history.events]
    # the task that ran the local activity was heartbeated: more than one task before the markers
    first_marker = types.index(EventType.EVENT_TYPE_MARKER_RECORDED)
    assert types[:first_marker].count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) >= 2, types
    markers = [
        e.marker_recorded_event_attributes.marker_name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    ]
    assert markers == ["core_local_activity", "core_patch"]
    replayed = await Replayer(
        workflows=[RecordsThenPatch], workflow_runner=UnsandboxedWorkflowRunner()
    ).replay_workflow(history, raise_on_replay_failure=False)
    assert replayed.replay_failure is None
