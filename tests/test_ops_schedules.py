"""The yearly review-sweep schedule: made idempotently by `hr admin setup`, listed, pausable,
overlapping runs skipped, a real run sweeping; a bad calendar setting changes nothing.

Schedules do not exist on the time-skipping server: these run on the dev server.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

import pytest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleOverlapPolicy,
    ScheduleSpec,
    ScheduleState,
    WorkflowFailureError,
)

from schemas import jd_review as jd
from schemas.schedules import SCHEDULED_SWEEP_WORKFLOW, ScheduledSweepInput, ScheduledSweepResult
from service.schedules import JD_SWEEP_SCHEDULE_ID
from workflows.rules.starts import started_by_service_schedule

if TYPE_CHECKING:
    from tests.ops_support import OpsStack

pytest_plugins = ["tests.ops_support"]


async def _schedule_ids(client: Client) -> list[str]:
    return [s.id async for s in await client.list_schedules()]


async def _wait(predicate, timeout: float = 20.0):  # noqa: ANN001, ANN202
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.2)


async def test_setup_makes_one_schedule_updates_it_and_keeps_it_paused(ops_stack: OpsStack):
    client = ops_stack.client
    handle = client.get_schedule_handle(JD_SWEEP_SCHEDULE_ID)
    first = await ops_stack.hr_here("admin", "setup", HR_SWEEP_SCHEDULE_DATE="03-01")
    assert first.code == 0, first.err
    assert f"schedule {JD_SWEEP_SCHEDULE_ID} created" in first.out

    described = await handle.describe()
    calendar = described.schedule.spec.calendars[0]
    assert (calendar.month[0].start, calendar.day_of_month[0].start, calendar.hour[0].start) == (3, 1, 6)
    assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == SCHEDULED_SWEEP_WORKFLOW and action.task_queue == ops_stack.settings.task_queue
    assert described.info.next_action_times[0].month == 3

    # twice, with new settings: still one schedule, now with those settings
    again = await ops_stack.hr_here(
        "admin", "setup", HR_SWEEP_SCHEDULE_DATE="04-02", HR_SWEEP_SCHEDULE_TIME="07:30",
        HR_SWEEP_OLDER_THAN_YEARS="12",
    )  # fmt: skip
    assert again.code == 0, again.err
    assert f"schedule {JD_SWEEP_SCHEDULE_ID} updated" in again.out
    assert (await _schedule_ids(client)).count(JD_SWEEP_SCHEDULE_ID) == 1
    described = await handle.describe()
    calendar = described.schedule.spec.calendars[0]
    assert (calendar.month[0].start, calendar.day_of_month[0].start) == (4, 2)
    assert (calendar.hour[0].start, calendar.minute[0].start) == (7, 30)
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    payload = action.args[0]
    assert b'"older_than_years":12' in payload.data.replace(b" ", b"")

    # paused by an operator: listed as paused, and set-up leaves it paused
    paused = await ops_stack.hr_here(
        "admin", "pause-schedule", JD_SWEEP_SCHEDULE_ID, "--note", "budget freeze"
    )
    assert paused.code == 0, paused.err
    assert (await ops_stack.hr_here("admin", "setup")).code == 0
    described = await handle.describe()
    assert described.schedule.state.paused and described.schedule.state.note == "budget freeze"
    listed = await ops_stack.hr_here("admin", "schedules")
    assert listed.code == 0, listed.err
    line = next(x for x in listed.out.splitlines() if x.startswith(JD_SWEEP_SCHEDULE_ID))
    assert "paused (budget freeze)" in line and f"starts {SCHEDULED_SWEEP_WORKFLOW}" in line
    assert (await ops_stack.hr_here("admin", "unpause-schedule", JD_SWEEP_SCHEDULE_ID)).code == 0
    assert not (await handle.describe()).schedule.state.paused

    unknown = await ops_stack.hr_here("admin", "pause-schedule", "no-such-schedule")
    assert unknown.code == 1 and unknown.err.strip() == (
        "no schedule no-such-schedule; `hr admin schedules` lists them"
    )


async def test_an_impossible_calendar_setting_is_one_line_and_changes_nothing(ops_stack: OpsStack):
    client = ops_stack.client
    assert (await ops_stack.hr_here("admin", "setup", HR_SWEEP_SCHEDULE_DATE="05-05")).code == 0
    before = (await client.get_schedule_handle(JD_SWEEP_SCHEDULE_ID).describe()).schedule.spec
    for variable, value, message in [
        ("HR_SWEEP_SCHEDULE_DATE", "02-30", "HR_SWEEP_SCHEDULE_DATE 02-30 is not a day that every year has"),
        ("HR_SWEEP_SCHEDULE_DATE", "02-29", "HR_SWEEP_SCHEDULE_DATE 02-29 is not a day that every year has"),
        ("HR_SWEEP_SCHEDULE_TIME", "25:00", "HR_SWEEP_SCHEDULE_TIME 25:00 is not a time of day"),
        ("HR_SWEEP_SCHEDULE_TIMEZONE", "Mars/Olympus", "'Mars/Olympus' is not a time zone"),
    ]:
        bad = await ops_stack.hr_here("admin", "setup", **{variable: value})
        assert bad.code == 2 and bad.out == "", bad
        assert len(bad.err.strip().splitlines()) == 1 and message in bad.err
    nobody = await ops_stack.hr_here("admin", "setup", HR_SWEEP_REQUESTED_BY="E9999")
    assert nobody.code == 1 and nobody.err.strip() == "HR_SWEEP_REQUESTED_BY: unknown person E9999"
    after = (await client.get_schedule_handle(JD_SWEEP_SCHEDULE_ID).describe()).schedule.spec
    assert after == before


async def test_an_overlapping_run_is_skipped_and_a_run_sweeps(ops_stack: OpsStack):
    client = ops_stack.client
    handle = client.get_schedule_handle(JD_SWEEP_SCHEDULE_ID)
    # On a task queue nobody polls, the first run stays running: the second trigger overlaps.
    idle = f"idle-{uuid.uuid4().hex[:6]}"
    assert (await ops_stack.hr_here("admin", "setup", HR_TASK_QUEUE=idle)).code == 0
    before = (await handle.describe()).info.num_actions
    assert (await ops_stack.hr_here("admin", "trigger-schedule", JD_SWEEP_SCHEDULE_ID)).code == 0
    await _wait(lambda: _running(client))
    assert (await ops_stack.hr_here("admin", "trigger-schedule", JD_SWEEP_SCHEDULE_ID)).code == 0

    async def skipped() -> bool:
        return (await handle.describe()).info.num_actions_skipped_overlap >= 1

    await _wait(skipped)
    info = (await handle.describe()).info
    assert info.num_actions == before + 1 and len(info.running_actions) == 1
    stuck = info.running_actions[0]
    await client.get_workflow_handle(stuck.workflow_id, run_id=stuck.first_execution_run_id).terminate(
        "test: the idle run"
    )

    async def nothing_running() -> bool:  # the schedule learns of the end a moment later
        return not (await handle.describe()).info.running_actions

    await _wait(nothing_running)

    # On the worker's queue a run sweeps this year's cycle through the review sweep.
    assert (await ops_stack.hr_here("admin", "setup")).code == 0
    assert (await ops_stack.hr_here("admin", "trigger-schedule", JD_SWEEP_SCHEDULE_ID)).code == 0

    async def finished() -> ScheduleActionExecutionStartWorkflow | None:
        info = (await handle.describe()).info
        # (by run: two runs started in the same second have the same workflow id)
        done = [
            a.action
            for a in info.recent_actions
            if a.action.first_execution_run_id != stuck.first_execution_run_id
        ]
        return done[-1] if done and not info.running_actions else None

    try:
        run = await _wait(finished, timeout=60)
    except AssertionError:
        info = (await handle.describe()).info
        states = [
            (a.workflow_id, (await client.get_workflow_handle(a.workflow_id).describe()).status)
            for a in info.running_actions
        ]
        raise AssertionError(f"no run finished: {info.recent_actions} running {states}") from None
    result = await client.get_workflow_handle(
        run.workflow_id, run_id=run.first_execution_run_id, result_type=ScheduledSweepResult
    ).result()
    assert result.started_here and result.sweep_workflow_id == jd.sweep_workflow_id(result.cycle)
    sweep = await client.get_workflow_handle(result.sweep_workflow_id, result_type=jd.SweepResult).result()
    assert sweep.done and sweep.started >= 1


async def _running(client: Client) -> bool:
    info = (await client.get_schedule_handle(JD_SWEEP_SCHEDULE_ID).describe()).info
    return bool(info.running_actions)


async def test_a_run_of_a_schedule_that_is_not_the_services_is_checked_and_refused(ops_stack: OpsStack):
    """Only the service's own schedules start a process unchecked (``rules.starts.SERVICE_SCHEDULES``):
    a schedule someone made by hand (the UI, the ``temporal`` CLI) starts runs without a person's
    credential, and the start check refuses them before anything is written."""
    client = ops_stack.client
    schedule_id = f"made-by-hand-{uuid.uuid4().hex[:6]}"
    handle = await client.create_schedule(
        schedule_id,
        Schedule(
            action=ScheduleActionStartWorkflow(
                SCHEDULED_SWEEP_WORKFLOW,
                ScheduledSweepInput(requested_by=ops_stack.settings.sweep_requested_by, older_than_years=5),
                id=f"by-hand-{uuid.uuid4().hex[:6]}",
                task_queue=ops_stack.settings.task_queue,
            ),
            spec=ScheduleSpec(),
            state=ScheduleState(paused=True),
        ),
    )
    try:
        await handle.trigger()

        async def ended() -> ScheduleActionExecutionStartWorkflow | None:
            info = (await handle.describe()).info
            done = info.recent_actions and not info.running_actions
            return info.recent_actions[-1].action if done else None

        run = await _wait(ended, timeout=60)
        with pytest.raises(WorkflowFailureError) as failed:
            await client.get_workflow_handle(run.workflow_id, run_id=run.first_execution_run_id).result()
        assert "start refused" in str(failed.value.cause)
    finally:
        await handle.delete()
    assert not started_by_service_schedule(schedule_id, SCHEDULED_SWEEP_WORKFLOW)
    assert started_by_service_schedule(JD_SWEEP_SCHEDULE_ID, SCHEDULED_SWEEP_WORKFLOW)
    assert not started_by_service_schedule(JD_SWEEP_SCHEDULE_ID, "PersonnelAction")
