"""The onboarding benchmark's bare-SDK counterpart: the same activity and wait count, no logic.

``BareOnboarding`` does what ``Onboarding`` does to the server, and nothing else: two local
activities as it starts (the facts; the tasks opened together), a timer that stands for the
due-date watcher, ten Updates each answered with one local activity in its handler (the tasks'
answers), the timer cancelled, then a child (``BareProbation``: two local activities and a long
timer) it waits for. The activities are trivial (no database); the Updates carry a small payload
and return one. It lives in a module of its own so the worker's sandbox imports it by name.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.workflow import ParentClosePolicy

ANSWERS = 10
"""The onboarding's answers: payroll, four IT work orders, two schedulings, two attendances, the
policy acknowledgements (a position without a licence check)."""
LOCAL = {"start_to_close_timeout": timedelta(seconds=10)}


@activity.defn(name="bare_record")
def bare_record(n: int) -> int:
    """A synchronous activity (like the service's), run on the worker's thread pool."""
    return n + 1


@workflow.defn(name="BareProbation")
class BareProbation:
    @workflow.query
    def waiting(self) -> bool:
        return True

    @workflow.run
    async def run(self, n: int) -> int:
        n = await workflow.execute_local_activity(bare_record, n, **LOCAL)
        n = await workflow.execute_local_activity(bare_record, n, **LOCAL)
        await asyncio.sleep(timedelta(days=180).total_seconds())
        return n


@workflow.defn(name="BareOnboarding")
class BareOnboarding:
    def __init__(self) -> None:
        self._answers = 0
        self._probation = False

    @workflow.update(name="answer")
    async def answer(self, n: int) -> int:
        n = await workflow.execute_local_activity(bare_record, n, **LOCAL)
        self._answers += 1
        return n

    @workflow.query
    def probation_started(self) -> bool:
        return self._probation

    @workflow.query
    def answers(self) -> int:
        return self._answers

    @workflow.run
    async def run(self, n: int) -> int:
        n = await workflow.execute_local_activity(bare_record, n, **LOCAL)
        n = await workflow.execute_local_activity(bare_record, n, **LOCAL)
        try:
            await workflow.wait_condition(lambda: self._answers >= ANSWERS, timeout=timedelta(days=7))
        except asyncio.TimeoutError:
            pass
        child = await workflow.start_child_workflow(
            BareProbation.run,
            n,
            id=f"{workflow.info().workflow_id}-probation",
            parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
        )
        self._probation = True
        return await child
