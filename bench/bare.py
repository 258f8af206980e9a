"""The baseline's workflow: 3 trivial activities and 1 signal, no business logic, no database.

It lives in a module of its own (not in ``bench/baseline.py``, which runs as ``__main__``) so
the worker's sandbox re-imports it by its real name.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bare_step")
def bare_step(n: int) -> int:
    """A synchronous activity (like the service's), run on the worker's thread pool."""
    return n + 1


@workflow.defn(name="BareWorkflow")
class BareWorkflow:
    """Activity, wait for the ``proceed`` signal, activity, activity."""

    def __init__(self) -> None:
        self._proceed = False

    @workflow.signal(name="proceed")
    def proceed(self) -> None:
        self._proceed = True

    @workflow.run
    async def run(self, n: int) -> int:
        timeout = timedelta(seconds=60)
        n = await workflow.execute_activity(bare_step, n, start_to_close_timeout=timeout)
        await workflow.wait_condition(lambda: self._proceed)
        n = await workflow.execute_activity(bare_step, n, start_to_close_timeout=timeout)
        n = await workflow.execute_activity(bare_step, n, start_to_close_timeout=timeout)
        return n
