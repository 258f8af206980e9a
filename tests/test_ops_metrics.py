"""A worker's Prometheus endpoint, scraped and parsed after a review cycle: the SDK's metrics and
the service's (processes, steps, refusals, notices, activity latency); starts the signed-start
check refuses, counted as refused and never as started; a port already taken."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from schemas import jd_review as jd
from schemas.credentials import NO_START_CREDENTIAL, START_REFUSED
from service.client import connect
from service.metrics import (
    MeteredMailer,
    MetricsPortError,
    metrics_runtime,
    report_waiting,
    sample_waiting,
)
from service.settings import Settings
from tests.harness_common import MAIL_FROM, delivered, poll_until
from tests.review_harness import Review, approve_all
from tests.signing import signing_interceptors, unsigned
from tests.smtp_server import SmtpSink
from worker import worker_and_mailer
from workflows.observability import start_refusal_reason
from workflows.rules.starts import start_refusal

if TYPE_CHECKING:
    from tests.ops_support import OpsStack

pytest_plugins = ["tests.ops_support"]

Samples = dict[str, list[tuple[dict[str, str], float]]]


def scrape(port: int) -> tuple[str, Samples]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    samples: Samples = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:  # a counter by its exported name (the parser adds _total)
            name = family.name if family.type == "counter" and sample.name.endswith("_total") else sample.name
            samples[name].append((sample.labels, sample.value))
    return text, samples


def total(samples: Samples, name: str, **labels: str) -> float:
    found = [v for lab, v in samples.get(name, []) if all(lab.get(k) == want for k, want in labels.items())]
    return sum(found)


async def _metered_client(ops_stack: OpsStack) -> tuple[int, Settings, Any, Client]:
    """Settings with a metrics port of the test's own, their runtime, and a signing client on it."""
    from tests.ops_support import free_port

    port = free_port()
    settings = Settings(
        temporal_address=ops_stack.target,
        database_url=ops_stack.settings.database_url,
        metrics_port=port,
        metrics_host="127.0.0.1",
    )
    runtime = metrics_runtime(settings)
    assert runtime is not None
    client = await connect(settings, signing_interceptors(), runtime=runtime)
    return port, settings, runtime, client


async def test_metrics_endpoint_after_a_review_cycle(ops_stack: OpsStack, tmp_path_factory):
    port, settings, runtime, client = await _metered_client(ops_stack)
    task_queue = f"metrics-{uuid.uuid4().hex[:6]}"
    smtp = SmtpSink().start()
    mailer = MeteredMailer(ops_stack.engine, smtp.host, smtp.port, MAIL_FROM, poll_seconds=0.1)
    mailer.meter = runtime.metric_meter
    review = Review(env=ops_stack.env, engine=ops_stack.engine, smtp=smtp, task_queue=task_queue)
    try:
        async with worker_and_mailer(
            client, settings, ops_stack.engine, task_queue=task_queue, mailer=mailer
        ):
            handle = await review.start()
            await review.wait_for_step(handle, "review-")
            waiting = asyncio.create_task(
                report_waiting(ops_stack.client, runtime.metric_meter, every_seconds=0.2)
            )
            await asyncio.sleep(1.0)  # visibility catches up; the gauge is set
            with pytest.raises(WorkflowUpdateFailedError):  # not a respondent: refused
                await review.decide(handle, "E1001", "approve")
            waiting.cancel()
            later = await sample_waiting(
                ops_stack.client, now=datetime.now(timezone.utc) + timedelta(days=400)
            )
            now = await sample_waiting(ops_stack.client)
            assert later["jd_review"][0] == later["jd_review"][1] >= 1  # past its due date: overdue
            assert now["jd_review"][0] == later["jd_review"][0] and now["jd_review"][1] == 0
            await review.drive(handle, approve_all)
            await handle.result()
            await delivered(ops_stack.engine, smtp, handle.id)
            await asyncio.sleep(1.2)  # the exporter's view is refreshed about every second
            text, samples = scrape(port)
    finally:
        smtp.stop()
    out = tmp_path_factory.mktemp("metrics") / "metrics.txt"
    out.write_text(text)
    print(f"scrape saved to {out}")

    review_type = {"workflow_type": "JobDescriptionReview", "task_queue": task_queue}
    assert total(samples, "hr_processes_started", **review_type) == 1
    assert total(samples, "hr_processes_completed", outcome="completed", **review_type) == 1
    opened = total(samples, "hr_steps_opened", **review_type)
    assert opened >= 4 and total(samples, "hr_steps_closed", **review_type) == opened
    assert total(samples, "hr_decisions_refused", reason="not_respondent", **review_type) == 1
    assert total(samples, "hr_notifications_sent") >= 1
    assert total(samples, "hr_activity_seconds_count", activity_type="record_step", outcome="completed") >= 4
    assert total(samples, "hr_processes_waiting", action_type="jd_review") >= 1
    # the SDK's own, through the same runtime's telemetry
    assert total(samples, "temporal_workflow_completed", workflow_type="JobDescriptionReview") >= 1
    assert any(name.startswith("temporal_activity_execution_latency") for name in samples)


async def _start_review(client: Client, task_queue: str, requested_by: str) -> WorkflowHandle:
    inp = jd.StartReviewInput(
        class_code="1821", cycle=f"m{uuid.uuid4().hex[:8]}", requested_by=requested_by, draft_text="A draft."
    )
    return await client.start_workflow(
        "JobDescriptionReview",
        inp,
        id=jd.review_workflow_id("1821", inp.cycle),
        task_queue=task_queue,
        result_type=jd.ReviewResult,
    )


async def test_a_refused_start_counts_as_refused_not_as_a_process_started(ops_stack: OpsStack):
    port, settings, runtime, client = await _metered_client(ops_stack)
    task_queue = f"refused-{uuid.uuid4().hex[:6]}"
    async with worker_and_mailer(client, settings, ops_stack.engine, task_queue=task_queue):
        for starter, requested_by, reason in [
            (client, "E1004", "E1004 has no HR role"),  # signed, but not HR staff
            (unsigned(client), "E1008", NO_START_CREDENTIAL),  # no credential at all
        ]:
            handle = await _start_review(starter, task_queue, requested_by)
            with pytest.raises(WorkflowFailureError) as err:
                await handle.result()
            cause = err.value.cause
            assert isinstance(cause, ApplicationError) and cause.type == START_REFUSED
            assert reason in cause.message
        accepted = await _start_review(client, task_queue, "E1008")
        await poll_until(  # the accepted start runs: its first step opens
            lambda: accepted.query("status", result_type=jd.ReviewStatus), lambda s: bool(s.open_steps), 30
        )
        await accepted.terminate("test over")
        await asyncio.sleep(1.2)  # the exporter's view is refreshed about every second
        _, samples = scrape(port)

    review_type = {"workflow_type": "JobDescriptionReview", "task_queue": task_queue}
    assert total(samples, "hr_processes_started", **review_type) == 1  # the accepted start only
    assert total(samples, "hr_processes_completed", **review_type) == 0  # refused: not "failed"
    assert total(samples, "hr_starts_refused", reason="not_allowed", **review_type) == 1
    assert total(samples, "hr_starts_refused", reason="no_credential", **review_type) == 1
    assert total(samples, "hr_starts_refused", **review_type) == 2


def test_a_refused_starts_reason_is_a_fixed_label_without_names():
    hr = ("E1008",)
    cases = {
        NO_START_CREDENTIAL: "no_credential",
        "the credential is not E1008's: a process is started by the person it names": "not_the_starter",
        "the start names no starter": "no_starter",
        start_refusal("JobDescriptionReview", {}, "E1004", hr): "not_allowed",
        start_refusal("Leave", {"employee_id": "E1001"}, "E1004", hr): "not_allowed",
        start_refusal("EligibilityRegister", {}, "E1004", hr): "not_allowed",
        start_refusal("Nonesuch", {}, "E1008", hr): "unknown_process",
        "the credential has expired; sign in again": "bad_credential",
        "the credential is for another workflow": "bad_credential",
        "something else": "other",
    }
    for message, label in cases.items():
        assert message is not None
        assert start_refusal_reason(f"start refused: {message}") == label, message


def test_a_metrics_port_already_taken_is_refused_before_anything_starts():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MetricsPortError, match=f"HR_METRICS_PORT {port} on 127.0.0.1 is not free"):
            metrics_runtime(Settings(metrics_port=port, metrics_host="127.0.0.1"))


async def test_hr_worker_with_the_metrics_port_taken_is_one_line(ops_stack: OpsStack, tmp_path):
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        db = tmp_path / "never.db"
        run = await ops_stack.hr("worker", HR_METRICS_PORT=str(port), HR_DATABASE_URL=f"sqlite:///{db}")
    assert run.code == 1 and run.out == ""
    assert run.err.strip().splitlines() == [
        f"MetricsPortError: HR_METRICS_PORT {port} on 0.0.0.0 is not free (Address already in use); "
        "choose another port or stop what listens there"
    ]
    assert not db.exists()  # nothing half-done: no store created, no connection made
