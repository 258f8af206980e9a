"""The worker: registers every workflow and activity on the task queue and runs them.

Beside it, in the same process, runs the mailer (``activities/mailer.py``), which delivers the
outbox over SMTP apart from the workflows; without ``HR_SMTP_HOST`` there is none.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import timedelta

import structlog
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Interceptor, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.benefits import BenefitsActivities
from activities.db import create_schema, make_engine
from activities.death_claim import DeathClaimActivities
from activities.directory import DirectoryActivities
from activities.identity import IdentityActivities, LinkIssuer
from activities.leave import LeaveActivities
from activities.mailer import Mailer, mailer_running
from activities.notifications import NotificationActivities
from activities.onboarding import OnboardingActivities
from activities.personnel import PersonnelActivities
from activities.records import RecordActivities
from activities.recruitment import RecruitmentActivities
from activities.register import RegisterActivities
from activities.store import Unstorable
from service.client import connect
from service.identity import load_keyring
from service.logging import configure_logging
from service.metrics import (
    MetricsInterceptor,
    StartRefusalCounts,
    metered_mailer,
    metrics_runtime,
    report_waiting,
)
from service.settings import Settings, get_settings
from service.signing import issuing, signing_client
from workflows.benefits import BenefitsEnrollment
from workflows.benefits_open_enrollment import OpenEnrollment
from workflows.credentials import CredentialInterceptor
from workflows.death_claim import DeathClaim
from workflows.eligibility_register import EligibilityRegister
from workflows.jd_review import JobDescriptionReview
from workflows.jd_sweep import JobDescriptionReviewSweep
from workflows.leave import Leave
from workflows.onboarding import Onboarding
from workflows.personnel_action import PersonnelAction
from workflows.probation import Probation
from workflows.recruitment import Recruitment
from workflows.scheduled_sweep import ScheduledReviewSweep

WORKFLOWS = [
    JobDescriptionReview,
    JobDescriptionReviewSweep,
    Recruitment,
    EligibilityRegister,
    PersonnelAction,
    Onboarding,
    Probation,
    Leave,
    ScheduledReviewSweep,
    BenefitsEnrollment,
    DeathClaim,
    OpenEnrollment,
]

PASSED_THROUGH = ("activities", "schemas", "sqlalchemy", "sqlmodel", "structlog", "alembic")
"""What workflow code may use without the sandbox re-importing it: the activities it names, the
contracts, and third-party modules. Workflow code itself (``workflows``, its rules) is never
passed through, so the sandbox's determinism checks see every line of it."""

WORKFLOW_INTERCEPTORS: list[Interceptor] = [CredentialInterceptor()]
"""Every worker and replayer runs them: each Update's and signal's credential reaches the
human step's check (``workflows/credentials.py``)."""


def workflow_runner(*also_passed_through: str) -> SandboxedWorkflowRunner:
    """The sandbox every workflow runs in, here and in the replay tests.

    ``also_passed_through`` is for measuring only (``bench/sandbox_cost.py``).
    """
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(
            *PASSED_THROUGH, *also_passed_through
        )
    )


def build_activities(
    settings: Settings, engine: Engine, client: Client, mailer: Mailer | None = None
) -> list:
    """Every activity, bound to its dependencies; a notice queued wakes ``mailer`` if given."""
    directory = DirectoryActivities(engine)
    records = RecordActivities(engine)
    keyring = load_keyring(settings)
    identity = IdentityActivities(keyring.public_keys, keyring.jwks, engine)
    links = None
    if keyring.signing_key is not None:
        links = LinkIssuer(
            engine,
            keyring,
            settings.temporal_namespace,
            settings.web_url,
            timedelta(days=settings.auth_link_days),
        )
    notifications = NotificationActivities(engine, on_queued=mailer.wake if mailer else None, links=links)
    recruitment = RecruitmentActivities(engine, notifications)
    # The register's Updates are sent for the recruitment, for the HR actor it has checked: the
    # worker signs them when it holds the signing key (else the register refuses them).
    register_client = client
    if keyring.signing_key is not None:
        register_client = signing_client(client, issuing(keyring, settings.temporal_namespace))
    register = RegisterActivities(register_client)
    onboarding = OnboardingActivities(engine, notifications)
    personnel = PersonnelActivities(engine)
    leave = LeaveActivities(engine, notifications)
    benefits = BenefitsActivities(engine, notifications)
    death_claims = DeathClaimActivities(engine, notifications)
    return [
        directory.resolve_review_participants,
        directory.active_delegations,
        directory.find_stale_classifications,
        records.record_audit,
        records.save_draft,
        records.save_start_draft,
        records.set_version_status,
        records.generate_memo,
        records.adopt_version,
        records.record_cycle,
        notifications.notify,
        notifications.record_step,
        recruitment.resolve_recruitment_participants,
        recruitment.position_problem,
        recruitment.record_posting,
        recruitment.record_applications,
        recruitment.record_candidates,
        recruitment.record_scores,
        recruitment.record_certification,
        recruitment.record_check,
        recruitment.record_hire,
        recruitment.record_outcome,
        recruitment.notify_applicants,
        register.standing,
        register.certify,
        register.remove,
        register.fill,
        onboarding.resolve_employee,
        onboarding.record_employment,
        personnel.open_personnel_action,
        personnel.set_personnel_action_status,
        personnel.move_personnel_action_date,
        personnel.execute_personnel_action,
        personnel.close_work_order,
        leave.resolve_leave,
        leave.record_leave,
        identity.verify_credential,
        identity.verify_start,
        directory.current_hr_staff,
        benefits.resolve_enrollment,
        benefits.record_enrollment,
        benefits.eligible_employees,
        benefits.enrollment_counts,
        benefits.open_enrollment_facts,
        death_claims.resolve_death_claim,
        death_claims.record_death_claim,
    ]


def keep_bytecode() -> None:
    """Lets the sandbox's imports of workflow code reuse compiled bytecode.

    The sandbox imports ``workflows/`` afresh for every run it starts or replays after an
    eviction. With ``PYTHONDONTWRITEBYTECODE`` set (or no writable ``__pycache__``) no bytecode
    file is ever written, so each of those imports compiled the modules' source again: most of
    the worker's CPU per open-enrollment child (bench/README.md, "Open enrollment profile").
    The bytecode then goes to a cache folder of the worker's own (``sys.pycache_prefix``), never
    into the source tree.
    """
    if sys.dont_write_bytecode:
        sys.pycache_prefix = sys.pycache_prefix or os.path.join(tempfile.gettempdir(), "hr-worker-pycache")
        sys.dont_write_bytecode = False


def capacity(settings: Settings) -> dict:
    """The worker's slots, sticky cache and activity thread pool (``HR_WORKER_*``), as ``Worker``
    options; the benchmarks' bare-SDK workers take the same."""
    threads = settings.worker_activity_threads
    return {
        "max_cached_workflows": settings.worker_max_cached_workflows,
        "max_concurrent_workflow_tasks": settings.worker_max_concurrent_workflow_tasks,
        "max_concurrent_activities": settings.worker_max_concurrent_activities,
        "activity_executor": ThreadPoolExecutor(max_workers=threads, thread_name_prefix="activity"),
    }


def build_worker(
    client: Client,
    settings: Settings,
    engine: Engine,
    *,
    task_queue: str | None = None,
    runner: SandboxedWorkflowRunner | None = None,
    interceptors: Sequence[Interceptor] = (),
    mailer: Mailer | None = None,
) -> Worker:
    """A worker for all processes; activities are synchronous and run on a thread pool.

    It does not deliver mail: run ``mailer`` beside it (``worker_and_mailer`` does both); the
    notices it queues then wake that mailer at once.
    """
    keep_bytecode()
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=WORKFLOWS,
        workflow_runner=runner or workflow_runner(),
        # The process counts go inside the start check, the refused starts' count outside it.
        interceptors=[
            Unstorable(),
            StartRefusalCounts(),
            *WORKFLOW_INTERCEPTORS,
            MetricsInterceptor(),
            *interceptors,
        ],
        activities=build_activities(settings, engine, client, mailer),
        **capacity(settings),
    )


@asynccontextmanager
async def worker_and_mailer(
    client: Client,
    settings: Settings,
    engine: Engine,
    *,
    task_queue: str | None = None,
    runner: SandboxedWorkflowRunner | None = None,
    mailer: Mailer | None = None,
) -> AsyncIterator[Worker]:
    """The worker running, and beside it the mailer (``mailer``, or one for ``settings.smtp_host``;
    none without an SMTP host). On the way out the worker stops first, then the mailer."""
    mailer = mailer or Mailer.from_settings(settings, engine)
    async with mailer_running(mailer):
        async with build_worker(
            client, settings, engine, task_queue=task_queue, runner=runner, mailer=mailer
        ) as worker:
            yield worker


async def main() -> None:
    """Connects with the environment's settings and runs until interrupted."""
    settings = get_settings()
    configure_logging(settings)
    runtime = metrics_runtime(settings)  # the Prometheus endpoint, when HR_METRICS_PORT is set
    engine = make_engine(settings.database_url)
    create_schema(engine)
    client = await connect(settings, runtime=runtime)
    mailer = metered_mailer(settings, engine, runtime)
    worker = build_worker(client, settings, engine, mailer=mailer)
    log = structlog.get_logger("hr.worker")
    log.info("worker started", task_queue=settings.task_queue, namespace=settings.temporal_namespace)
    if runtime is not None:
        log.info("metrics", endpoint=f"http://{settings.metrics_host}:{settings.metrics_port}/metrics")
    if mailer is None:
        log.info("no SMTP host (HR_SMTP_HOST): notices stay in the outbox")
    if settings.codec_key is None:
        log.warning(
            "payloads are not encrypted: applicants' names and e-mail addresses are readable in "
            "workflow history; set HR_CODEC_KEY (hr admin new-codec-key) outside a demo"
        )
    async with mailer_running(mailer):
        if runtime is None:
            await worker.run()
            return
        gauges = asyncio.create_task(report_waiting(client, runtime.metric_meter))
        try:
            await worker.run()
        finally:
            gauges.cancel()


if __name__ == "__main__":
    asyncio.run(main())
