"""The yearly open-enrollment schedule on the dev server (the time-skipping server has no
schedules): created once, updated in place on a second ``hr admin setup``, a pause kept."""

from __future__ import annotations

from temporalio.client import ScheduleActionStartWorkflow
from temporalio.service import RPCError, RPCStatusCode

from service.open_enrollment_schedule import SCHEDULE_ID, ensure_open_enrollment_schedule
from service.settings import Settings

pytest_plugins = ["tests.dev_server"]


async def test_the_schedule_is_created_once_then_updated_keeping_its_pause(dev_env):
    client = dev_env.client
    settings = Settings(task_queue="benefits-schedule-test")
    handle = client.get_schedule_handle(SCHEDULE_ID)
    try:  # the dev server is the session's: start from no such schedule, whatever ran before
        await handle.delete()
    except RPCError as err:
        assert err.status == RPCStatusCode.NOT_FOUND, err
    assert await ensure_open_enrollment_schedule(client, settings) == "created"
    try:
        described = await handle.describe()
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert (action.workflow, action.task_queue) == ("OpenEnrollment", "benefits-schedule-test")
        calendar = described.schedule.spec.calendars[0]
        assert (calendar.month[0].start, calendar.day_of_month[0].start, calendar.hour[0].start) == (11, 1, 8)
        await handle.pause(note="paused from the Web UI")

        assert await ensure_open_enrollment_schedule(client, Settings(task_queue="other-queue")) == "updated"
        described = await handle.describe()
        assert described.schedule.state.paused  # the pause stays
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow) and action.task_queue == "other-queue"
        schedules = [s.id async for s in await client.list_schedules()]
        assert schedules.count(SCHEDULE_ID) == 1
    finally:
        await handle.delete()
