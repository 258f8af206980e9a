"""The open-enrollment benchmark's bare-SDK counterpart: the same parent and child shape, no logic.

``BareOpenEnrollment`` does what ``OpenEnrollment`` does to the server: a local activity for
each page of employees, one child per employee started in a sliding window of ``window`` starts
in flight (abandoned, never awaited), continue-as-new every ``per_run_limit`` children carrying
only a cursor and a count. ``BareEnrollment`` does what a ``BenefitsEnrollment`` does until it
waits for the employee: two local activities (the facts; the window opened), then a timer that
stands for the election step's. The activities are trivial (no database); ``OPENED`` counts the
children that reached their wait (the benchmark runs the worker in its own process).
It lives in a module of its own so the worker's sandbox imports it by name.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

LOCAL = {"start_to_close_timeout": timedelta(seconds=10)}
OPENED: list[int] = [0]


@dataclass
class BareInput:
    tag: str
    n: int
    window: int
    per_run_limit: int
    page_size: int = 500
    cursor: int = 0
    started: int = 0


@activity.defn(name="bare_page")
def bare_page(args: list[int]) -> list[int]:
    """The next page of employee numbers after ``cursor`` (``[cursor, limit, n]``)."""
    cursor, limit, n = args
    return list(range(cursor, min(cursor + limit, n)))


@activity.defn(name="bare_open")
def bare_open(n: int) -> int:
    """A synchronous activity (like the service's); ``n < 0`` marks the window opened."""
    if n < 0:
        OPENED[0] += 1
    return n


@workflow.defn(name="BareEnrollment")
class BareEnrollment:
    @workflow.run
    async def run(self, n: int) -> int:
        await workflow.execute_local_activity(bare_open, n, **LOCAL)
        await workflow.execute_local_activity(bare_open, -1 - n, **LOCAL)
        await asyncio.sleep(timedelta(days=30).total_seconds())
        return n


@workflow.defn(name="BareOpenEnrollment")
class BareOpenEnrollment:
    def __init__(self) -> None:
        self._in_flight = 0
        self._started = 0

    @workflow.run
    async def run(self, inp: BareInput) -> int:
        self._started = inp.started
        cursor, here = inp.cursor, 0
        while True:
            room = inp.per_run_limit - here
            if room <= 0:
                await workflow.wait_condition(lambda: self._in_flight == 0)
                workflow.continue_as_new(
                    BareInput(
                        inp.tag, inp.n, inp.window, inp.per_run_limit, inp.page_size, cursor, self._started
                    )
                )
            page = await workflow.execute_local_activity(
                bare_page, [cursor, min(inp.page_size, room), inp.n], **LOCAL
            )
            if not page:
                break
            for i in page:
                await workflow.wait_condition(lambda: self._in_flight < inp.window)
                self._in_flight += 1
                asyncio.ensure_future(self._start(inp.tag, i))
                cursor, here = i + 1, here + 1
        await workflow.wait_condition(lambda: self._in_flight == 0)
        return self._started

    async def _start(self, tag: str, i: int) -> None:
        try:
            await workflow.start_child_workflow(
                BareEnrollment.run,
                i,
                id=f"bare-enr-{tag}-{i:06d}",
                parent_close_policy=ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
            self._started += 1
        except WorkflowAlreadyStartedError:
            pass
        finally:
            self._in_flight -= 1
