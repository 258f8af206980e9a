"""Deploying new workflow code under running workflows, by the project's rule (README,
"Rolling out a new version"): a change to an existing workflow's steps goes behind
``workflow.patched``. A workflow started by the old build completes under the new worker on the
old path; new workflows take the new path; the old history still replays; the same change
without the patch breaks the replay (what a deploy without the rule would do to running work).
The shipped histories of the real processes replay in tests/test_replay.py.
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Replayer, Worker
from temporalio.workflow import NondeterminismError

from tests.versioned_workflows import (
    PATCH_ID,
    TYPE_NAME,
    OldBuild,
    PatchedBuild,
    UnguardedBuild,
    close,
    intake,
    notify_supervisor,
)

if TYPE_CHECKING:
    from tests.ops_support import OpsStack

pytest_plugins = ["tests.ops_support"]


def _worker(client: Client, task_queue: str, build: type, pool: ThreadPoolExecutor) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[build],
        activities=[intake, notify_supervisor, close],
        activity_executor=pool,
    )


async def _until_waiting(handle: WorkflowHandle) -> None:
    for _ in range(200):
        try:
            if await handle.query("waiting", result_type=bool):
                return
        except Exception:  # noqa: BLE001 (not yet started)
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id} never reached its wait")


async def test_a_workflow_started_by_the_old_build_completes_under_the_new_worker(ops_stack: OpsStack):
    client = ops_stack.client
    task_queue = f"deploy-{uuid.uuid4().hex[:6]}"
    with ThreadPoolExecutor(max_workers=4) as pool:
        async with _worker(client, task_queue, OldBuild, pool):
            old = await client.start_workflow(
                TYPE_NAME, "case-1", id=f"deploy-old-{uuid.uuid4().hex[:6]}", task_queue=task_queue
            )
            await _until_waiting(old)
        # the old build's worker is gone (a rolling deploy); the new build takes over the queue
        async with _worker(client, task_queue, PatchedBuild, pool):
            new = await client.start_workflow(
                TYPE_NAME, "case-2", id=f"deploy-new-{uuid.uuid4().hex[:6]}", task_queue=task_queue
            )
            await _until_waiting(new)
            await old.signal("proceed")
            await new.signal("proceed")
            assert await old.result() == ["intake case-1", "close case-1"]  # the old path, to the end
            assert await new.result() == ["intake case-2", "notify case-2", "close case-2"]

    old_history = await old.fetch_history()
    new_history = await new.fetch_history()
    markers = [e for e in new_history.events if e.HasField("marker_recorded_event_attributes")]
    assert len(markers) == 1 and PATCH_ID.encode() in markers[0].SerializeToString()  # the new run's patch
    assert not any(e.HasField("marker_recorded_event_attributes") for e in old_history.events)

    # the recorded histories replay under the new build...
    patched = Replayer(workflows=[PatchedBuild])
    await patched.replay_workflow(old_history)
    await patched.replay_workflow(new_history)
    # ...and the same change without workflow.patched cannot replay the old one
    with pytest.raises(NondeterminismError):
        await Replayer(workflows=[UnguardedBuild]).replay_workflow(old_history)
