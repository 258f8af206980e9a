"""The table's matched baseline: a bare-SDK workflow shaped like one real run of a process.

``BareShape`` runs what a ``Shape`` says, with no business logic and no database: the local
activities a run records first, then, stage by stage, that stage's activities (together), its
timers (started, then cancelled once the stage is answered, as a human step's deadline and
reminders are), and a wait for its Updates, each of which runs ``activities_per_update``
activities in its handler before it returns; then the final activities and the children (started,
abandoned, each waiting on a timer). A timer the real run let fire (the recruitment's closing
time) is waited for where the real run waited for it: before the stage that followed it, until
as long after the run's start as the real one fired (``fired_timers``, seconds since the start).
``shape_of`` reads a ``Shape`` from one real run's history and the driver's batches of Updates,
so the counts are those the process's run actually had.
It lives in a module of its own so the worker's sandbox imports it by name.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.workflow import ParentClosePolicy

TIMEOUT = {"start_to_close_timeout": timedelta(seconds=60)}


@dataclass
class Stage:
    activities: int = 0
    timers: int = 0
    updates: int = 0
    activities_per_update: int = 0
    fired_timers: list[float] = field(default_factory=list)
    """Timers waited for before this stage's activities, each until that many seconds after the
    run's start (a closing time): they fire, as the real run's did."""


@dataclass
class Shape:
    local_activities: int = 0
    stages: list[Stage] = field(default_factory=list)
    final_activities: int = 0
    final_fired_timers: list[float] = field(default_factory=list)
    """Timers that fired after the last stage's Updates, before the final activities."""
    children: int = 0
    signals: int = 0
    workflow_id: str = ""

    def counts(self) -> dict[str, int]:
        return {
            "activities": sum(s.activities + s.updates * s.activities_per_update for s in self.stages)
            + self.final_activities,
            "local_activities": self.local_activities,
            "updates": sum(s.updates for s in self.stages),
            "timers": sum(s.timers + len(s.fired_timers) for s in self.stages) + len(self.final_fired_timers),
            "fired_timers": sum(len(s.fired_timers) for s in self.stages) + len(self.final_fired_timers),
            "signals": self.signals,
            "children": self.children,
        }


@activity.defn(name="bare_act")
def bare_act(n: int) -> int:
    """A synchronous activity (like the service's), run on the worker's thread pool."""
    return n + 1


@workflow.defn(name="BareShapeChild")
class BareShapeChild:
    @workflow.run
    async def run(self, n: int) -> int:
        n = await workflow.execute_local_activity(bare_act, n, **TIMEOUT)
        await asyncio.sleep(timedelta(days=180).total_seconds())
        return n


@workflow.defn(name="BareShape")
class BareShape:
    def __init__(self) -> None:
        self._expected = 0
        self._answered = 0
        self._per_update = 0
        self._signals = 0

    @workflow.query
    def pending(self) -> int:
        """How many Updates the current stage still waits for (the driver's poll)."""
        return self._expected - self._answered

    @workflow.signal(name="poke")
    def poke(self) -> None:
        self._signals += 1

    @workflow.update(name="answer")
    async def answer(self, n: int) -> int:
        for _ in range(self._per_update):
            n = await workflow.execute_activity(bare_act, n, **TIMEOUT)
        self._answered += 1
        return n

    @staticmethod
    async def _fire(after_start: list[float]) -> None:
        """Waits for timers that fire ``after_start`` seconds after the run started (at least 1 ms)."""
        for seconds in after_start:
            due = workflow.info().workflow_start_time + timedelta(seconds=seconds)
            await asyncio.sleep(max((due - workflow.now()).total_seconds(), 0.001))

    @workflow.run
    async def run(self, shape: Shape) -> int:
        n = 0
        for _ in range(shape.local_activities):
            n = await workflow.execute_local_activity(bare_act, n, **TIMEOUT)
        for stage in shape.stages:
            await self._fire(stage.fired_timers)
            if stage.activities:
                await asyncio.gather(
                    *(workflow.execute_activity(bare_act, n, **TIMEOUT) for _ in range(stage.activities))
                )
            timers = [
                asyncio.ensure_future(asyncio.sleep(timedelta(days=30 + i).total_seconds()))
                for i in range(stage.timers)
            ]
            self._per_update = stage.activities_per_update
            self._expected += stage.updates
            await workflow.wait_condition(lambda: self._answered >= self._expected)
            for timer in timers:
                timer.cancel()
        await self._fire(shape.final_fired_timers)
        if shape.final_activities:
            await asyncio.gather(
                *(workflow.execute_activity(bare_act, n, **TIMEOUT) for _ in range(shape.final_activities))
            )
        for i in range(shape.children):
            await workflow.start_child_workflow(
                BareShapeChild.run,
                i,
                id=f"{workflow.info().workflow_id}-child-{i}",
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return n


def shape_of(events: list[Any], batches: list[int]) -> Shape:
    """The shape of one real run: its history's events (``fetch_history().events``) and the sizes of
    the driver's batches of Updates (one stage each, in order)."""
    from temporalio.api.enums.v1 import EventType

    names = [EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in events]
    count = {n: names.count(n) for n in set(names)}
    updates = count.get("WORKFLOW_EXECUTION_UPDATE_ACCEPTED", 0)
    # Activities scheduled in a workflow task's completion after an Update was accepted in it:
    # the handler's (the main flow's in the same task are counted with them: an over-estimate
    # the main flow's share below makes up for).
    in_updates, before, after, seen_update, last_completed = 0, 0, 0, False, -1
    for i, name in enumerate(names):
        if name == "WORKFLOW_TASK_COMPLETED":
            seen_update = False
        elif name == "WORKFLOW_EXECUTION_UPDATE_ACCEPTED":
            seen_update = True
        elif name == "WORKFLOW_EXECUTION_UPDATE_COMPLETED":
            last_completed = i
        elif name == "ACTIVITY_TASK_SCHEDULED":
            if seen_update:
                in_updates += 1
            elif "WORKFLOW_EXECUTION_UPDATE_ACCEPTED" not in names[:i]:
                before += 1
    for name in names[last_completed + 1 :] if last_completed >= 0 else []:
        if name == "ACTIVITY_TASK_SCHEDULED":
            after += 1
    total = count.get("ACTIVITY_TASK_SCHEDULED", 0)
    per_update = round(in_updates / updates) if updates else 0
    if not batches or sum(batches) != updates:
        batches = [1] * updates
    main = max(total - per_update * updates, 0)
    before, after = min(before, main), min(after, max(main - before, 0))
    middle = main - before - after
    # Timers that fired: where (after how many Updates) and how long after the run's start.
    fired: list[tuple[int, float]] = []
    started_at = events[0].event_time.ToMicroseconds() / 1e6 if events else 0.0
    by_id = {e.event_id: e for e in events}
    accepted = 0
    for e, name in zip(events, names, strict=True):
        if name == "WORKFLOW_EXECUTION_UPDATE_ACCEPTED":
            accepted += 1
        elif name == "TIMER_FIRED":
            timer = by_id[e.timer_fired_event_attributes.started_event_id]
            at = timer.event_time.ToMicroseconds() / 1e6 - started_at
            at += timer.timer_started_event_attributes.start_to_fire_timeout.ToMicroseconds() / 1e6
            fired.append((accepted, round(at, 3)))
    timers = count.get("TIMER_STARTED", 0) - len(fired)
    stages: list[Stage] = []
    g = max(len(batches), 1)
    for i, size in enumerate(batches):
        if i == 0:
            share = before + (middle if g == 1 else 0)
        else:
            share = middle // (g - 1) + (1 if i - 1 < middle % (g - 1) else 0)
        stages.append(
            Stage(
                activities=share,
                timers=timers // g + (1 if i < timers % g else 0),
                updates=size,
                activities_per_update=per_update,
            )
        )
    if not stages:
        after += before + middle
    final_fired: list[float] = []
    for accepted, at in fired:
        # before the first stage whose Updates had not all been accepted when it fired
        done, index = 0, 0
        while index < len(stages) and done + stages[index].updates <= accepted:
            done += stages[index].updates
            index += 1
        (stages[index].fired_timers if index < len(stages) else final_fired).append(at)
    shape = Shape(
        local_activities=count.get("MARKER_RECORDED", 0),
        stages=stages,
        final_activities=after,
        final_fired_timers=final_fired,
        children=count.get("START_CHILD_WORKFLOW_EXECUTION_INITIATED", 0),
        signals=count.get("WORKFLOW_EXECUTION_SIGNALED", 0),
    )
    # the per-stage split must add up to the real total
    shape.final_activities = max(shape.final_activities + total - shape.counts()["activities"], 0)
    return shape
