"""The yearly open-enrollment Temporal Schedule, created or updated idempotently.

It is in ``service.schedules.SCHEDULES``, which ``hr admin setup`` creates or updates: on 1 November
at 08:00 UTC the schedule starts ``OpenEnrollment`` for the following coverage year (the run works
the year out from its start: ``OpenEnrollmentInput.year`` is left empty), with the windows closing
30 days later. A second start for the same year starts no enrollment twice (the children's ids are
deterministic). Overlapping runs are skipped. The schedule can be paused and resumed from the Web UI
(or ``temporal schedule toggle``); updating it keeps that state.
"""

from __future__ import annotations

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
)

from schemas.benefits import OPEN_ENROLLMENT_WORKFLOW, OpenEnrollmentInput
from service.settings import Settings
from workflows.rules.starts import OPEN_ENROLLMENT_SCHEDULE_ID

SCHEDULE_ID = OPEN_ENROLLMENT_SCHEDULE_ID
SYSTEM_REQUESTER = "system"


def open_enrollment_schedule(settings: Settings, state: ScheduleState | None = None) -> Schedule:
    """The schedule as ``hr admin setup`` wants it (``state``: keep the one on the server)."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            OPEN_ENROLLMENT_WORKFLOW,
            OpenEnrollmentInput(requested_by=SYSTEM_REQUESTER),
            id="open-enrollment-scheduled",
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    month=[ScheduleRange(11)],
                    day_of_month=[ScheduleRange(1)],
                    hour=[ScheduleRange(8)],
                    comment="open enrollment opens on 1 November",
                )
            ]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=state or ScheduleState(note="yearly open enrollment (hr admin setup)"),
    )


async def ensure_open_enrollment_schedule(client: Client, settings: Settings) -> str:
    """Creates the schedule, or brings an existing one up to date keeping its paused state (the
    registry's ``service.schedules.ensure_schedules``, which ``hr admin setup`` runs for all).

    Returns:
        ``"created"`` or ``"updated"``.
    """
    from service.schedules import SCHEDULES, ensure_schedules

    mine = [d for d in SCHEDULES if d.schedule_id == SCHEDULE_ID]
    return (await ensure_schedules(client, settings, mine))[0].outcome
