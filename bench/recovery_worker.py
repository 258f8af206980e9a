"""The service's worker with the activity options it had before they were fitted to each activity.

For ``bench/recovery.py`` only: ``BENCH_ACTIVITY_OPTIONS=old`` (read here and nowhere else) runs
``worker.main``'s worker with a workflow interceptor that schedules every activity with the old
options: 60 s start-to-close and retries at most 1 minute apart for every activity; 10 minutes
start-to-close and a 1-minute heartbeat timeout for the notices (``notify``,
``notify_applicants``). Without it (or ``=new``) this is ``python -m worker``.

    BENCH_ACTIVITY_OPTIONS=old HR_TEMPORAL_ADDRESS=… HR_DATABASE_URL=… HR_TASK_QUEUE=… \\
        python -m bench.recovery_worker
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy
from temporalio.worker import (
    Interceptor,
    StartActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

OPTIONS_VARIABLE = "BENCH_ACTIVITY_OPTIONS"
NOTICES = frozenset({"notify", "notify_applicants"})
OLD_TIMEOUT = timedelta(seconds=60)
OLD_NOTICE_TIMEOUT = timedelta(minutes=10)
OLD_NOTICE_HEARTBEAT = timedelta(minutes=1)
OLD_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1))


def old_options(activity: str) -> dict[str, Any]:
    """The options ``workflows/human_step.py`` gave ``activity`` before: what the interceptor sets."""
    if activity in NOTICES:
        return {
            "start_to_close_timeout": OLD_NOTICE_TIMEOUT,
            "heartbeat_timeout": OLD_NOTICE_HEARTBEAT,
            "retry_policy": OLD_RETRY,
        }
    return {"start_to_close_timeout": OLD_TIMEOUT, "heartbeat_timeout": None, "retry_policy": OLD_RETRY}


class OldActivityOptions(Interceptor):
    """Reschedules every activity a workflow starts with ``old_options``."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return _Inbound


class _Inbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_Outbound(outbound))


class _Outbound(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> Any:
        for name, value in old_options(input.activity).items():
            setattr(input, name, value)
        input.schedule_to_close_timeout = None
        return super().start_activity(input)


async def main() -> None:
    """``worker.main``, with the old options when ``BENCH_ACTIVITY_OPTIONS=old``."""
    import structlog

    from activities.db import create_schema, make_engine
    from service.client import connect
    from service.logging import configure_logging
    from service.settings import get_settings
    from worker import build_worker
    from worker import main as service_main

    which = os.environ.get(OPTIONS_VARIABLE, "new")
    if which == "new":
        await service_main()
        return
    if which != "old":
        raise SystemExit(f"{OPTIONS_VARIABLE} must be old or new, not {which!r}")
    settings = get_settings()
    configure_logging(settings)
    engine = make_engine(settings.database_url)
    create_schema(engine)
    client = await connect(settings)
    worker = build_worker(client, settings, engine, interceptors=[OldActivityOptions()])
    structlog.get_logger("hr.bench").info("worker started with the old activity options")
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main())
