"""A worker's Prometheus metrics: the SDK's own and the service's, on ``HR_METRICS_PORT``.

``metrics_runtime(settings)`` builds the Temporal runtime whose telemetry serves
``http://HR_METRICS_HOST:HR_METRICS_PORT/metrics``; the worker's client is connected with it,
so the SDK's metrics (``temporal_workflow_completed``, ``temporal_activity_execution_latency``,
task-slot and poller gauges, …) and the service's appear on the one endpoint:

- from workflow code (``workflows/observability.py``, skipped on replay): processes started and
  completed by ``workflow_type``, human steps opened, closed and overdue, step events,
  decisions refused by ``reason``;
- from ``MetricsInterceptor``: ``hr_processes_started`` / ``hr_processes_completed`` and the
  latency of every activity (``hr_activity_seconds``, label ``activity_type``; activities are
  the store's reads and writes, so this is the store latency as the processes see it). It runs
  inside the signed-start check (``workflows/credentials.py``), so a start the check refuses is
  neither started nor completed: ``StartRefusalCounts``, outside the check, counts it in
  ``hr_starts_refused`` by ``reason`` (``worker.build_worker`` installs both);
- from ``MeteredMailer``: notification deliveries (``hr_notifications_sent``), failures
  (``hr_notifications_failed``) and retries (``hr_notifications_retrying``);
- from ``report_waiting`` (every minute, from the visibility store): processes waiting for a
  person now (``hr_processes_waiting``) and those past a step's due date
  (``hr_processes_overdue``), by ``action_type`` (``HrActionType``). Counters restart with a
  worker; these gauges are the current state, the same on every worker (use ``max``).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from datetime import datetime, timezone
from threading import Event
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.common import MetricMeter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from activities.mailer import Mailer, Pass
from schemas.credentials import START_REFUSED
from schemas.search_attributes import HR_ACTION_TYPE, HR_DUE_AT, HR_PENDING_APPROVERS
from service.settings import Settings
from workflows import observability


class MetricsPortError(RuntimeError):
    """The metrics endpoint cannot listen where the settings say."""


def _check_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as err:
            raise MetricsPortError(
                f"HR_METRICS_PORT {port} on {host} is not free ({err.strerror or err}); "
                "choose another port or stop what listens there"
            ) from None


def metrics_runtime(settings: Settings) -> Runtime | None:
    """A runtime exporting Prometheus metrics on the configured port; None without a port.

    Raises ``MetricsPortError`` (one line) when the port is taken, before anything starts.
    """
    if settings.metrics_port is None:
        return None
    _check_free(settings.metrics_host, settings.metrics_port)
    bind = f"{settings.metrics_host}:{settings.metrics_port}"
    try:
        return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind)))
    except Exception as err:  # the core reports a failed bind as a plain exception
        raise MetricsPortError(f"HR_METRICS_PORT: cannot serve metrics on {bind}: {err}") from None


# ----- the interceptor: processes and activity latency ----------------------------------------


class _ProcessCounts(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:  # noqa: A002 (SDK's name)
        from temporalio import workflow
        from temporalio.exceptions import CancelledError, FailureError

        if workflow.info().continued_run_id is None:  # a continue-as-new run is the same process
            observability.process_started()
        try:
            result = await self.next.execute_workflow(input)
        except workflow.ContinueAsNewError:
            raise
        except CancelledError:
            observability.process_completed("cancelled")
            raise
        except FailureError:  # the workflow fails (any other exception fails the task, retried)
            observability.process_completed("failed")
            raise
        observability.process_completed("completed")
        return result


class _ActivityLatency(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:  # noqa: A002
        began = time.perf_counter()
        outcome = "completed"
        try:
            return await self.next.execute_activity(input)
        except BaseException:
            outcome = "failed"
            raise
        finally:
            with_labels = activity.metric_meter().with_additional_attributes({"outcome": outcome})
            with_labels.create_histogram_float(
                "hr_activity_seconds", "Activity run time (the store's reads and writes)", "s"
            ).record(time.perf_counter() - began)


class _StartRefusals(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:  # noqa: A002 (SDK's name)
        from temporalio.exceptions import ApplicationError

        try:
            return await self.next.execute_workflow(input)
        except ApplicationError as err:
            if err.type == START_REFUSED:  # raised by the start check only, before the process
                observability.start_refused(err.message)
            raise


class StartRefusalCounts(Interceptor):
    """Counts the starts the signed-start check refuses (``hr_starts_refused``, by ``reason``).

    Installed outside ``CredentialInterceptor``, whose check raises ``StartRefused``; the
    ``MetricsInterceptor`` goes inside it, so a refused start is never a process started."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput  # noqa: A002
    ) -> type[WorkflowInboundInterceptor] | None:
        return _StartRefusals


class MetricsInterceptor(Interceptor):
    """Counts processes started and ended by type, and times every activity. Installed inside
    ``CredentialInterceptor``: only a start its check accepted is a process started."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:  # noqa: A002
        return _ActivityLatency(next)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput  # noqa: A002
    ) -> type[WorkflowInboundInterceptor] | None:
        return _ProcessCounts


# ----- the mailer -----------------------------------------------------------------------------


class MeteredMailer(Mailer):
    """The mailer, counting what each pass delivered, failed and put off (set ``meter``)."""

    meter: MetricMeter | None = None

    def deliver_due(self, now: datetime | None = None, stop: Event | None = None) -> Pass:
        done = super().deliver_due(now=now, stop=stop)
        meter = self.meter
        if meter is not None:
            for name, rows, text in (
                ("hr_notifications_sent", done.sent, "Notices delivered over SMTP"),
                ("hr_notifications_failed", done.failed, "Notices failed for good"),
                ("hr_notifications_retrying", done.retrying, "Notice attempts failed, to be retried"),
            ):
                if rows:
                    meter.create_counter(name, text).add(len(rows))
        return done


def metered_mailer(settings: Settings, engine: Any, runtime: Runtime | None) -> Mailer | None:
    """The mailer for the settings (None without an SMTP host), counting into ``runtime``."""
    mailer = MeteredMailer.from_settings(settings, engine)
    if isinstance(mailer, MeteredMailer) and runtime is not None:
        mailer.meter = runtime.metric_meter
    return mailer


# ----- processes waiting for people, from visibility --------------------------------------------

WAITING_QUERY = f"ExecutionStatus = 'Running' AND {HR_PENDING_APPROVERS.name} IS NOT NULL"
WAITING_LIMIT = 50_000
"""At most this many waiting processes are read per sample (a city has far fewer)."""


async def sample_waiting(client: Client, now: datetime | None = None) -> dict[str, tuple[int, int]]:
    """``{action type: (waiting, overdue)}`` of the running processes waiting for a person."""
    now = now or datetime.now(timezone.utc)
    waiting: Counter[str] = Counter()
    overdue: Counter[str] = Counter()
    async for execution in client.list_workflows(WAITING_QUERY, limit=WAITING_LIMIT):
        attributes = execution.typed_search_attributes
        kind = attributes.get(HR_ACTION_TYPE) or "unknown"
        waiting[kind] += 1
        due = attributes.get(HR_DUE_AT)
        if due is not None and due < now:
            overdue[kind] += 1
    return {kind: (waiting[kind], overdue[kind]) for kind in waiting}


async def report_waiting(client: Client, meter: MetricMeter, *, every_seconds: float = 60.0) -> None:
    """Sets ``hr_processes_waiting`` and ``hr_processes_overdue`` from visibility, forever.

    A kind no longer waiting is set to 0; a failed sample is skipped (the next one tries again).
    """
    waiting_gauge = meter.create_gauge("hr_processes_waiting", "Running processes waiting for a person")
    overdue_gauge = meter.create_gauge("hr_processes_overdue", "Waiting processes past a step's due date")
    seen: set[str] = set()
    while True:
        try:
            sample = await sample_waiting(client)
        except Exception:  # noqa: BLE001 (the server may be away for a moment)
            sample = None
        if sample is not None:
            for kind in seen | set(sample):
                count, late = sample.get(kind, (0, 0))
                waiting_gauge.set(count, {"action_type": kind})
                overdue_gauge.set(late, {"action_type": kind})
            seen |= set(sample)
        await asyncio.sleep(every_seconds)
