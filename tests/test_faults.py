"""Faults an operator meets: a worker killed mid-activity, a database that refuses connections, a
dev server restarted under a running process, a mail relay that is down. Nothing is lost and
nothing is written twice; mail is at least once (a resend carries the same Message-ID).

These run on the dev server (real processes, real restarts), with real stores and SMTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateStage

from activities.seed import load_text, seed_city
from activities.seed_recruitment import (
    DEMO_HIRING_MANAGER_ID,
    DEMO_HR_REVIEWER_ID,
    DEMO_REQUESTER_ID,
    demo_application,
    itat_announcement,
)
from schemas import jd_review as jd
from schemas import recruitment as rc
from schemas.human_step import DecisionInput
from schemas.tables import Applicant, AuditEvent, OutboxMessage
from service.settings import Settings
from service.signing import signing_client
from tests.conftest import PG_URL
from tests.harness_common import mailer_for_tests, poll_until
from tests.review_harness import approve_all
from tests.signing import signing_interceptors
from tests.smtp_server import SmtpSink
from worker import worker_and_mailer

pytest_plugins = ["tests.dev_server"]

REPO = Path(__file__).resolve().parents[1]
APPLICANTS = 600
"""Enough applications in one import that recording them takes the worker a while."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _audit_keys_once(engine, workflow_id: str) -> list[AuditEvent]:
    """The workflow's audit rows; every (run, step, event) key is there once (the unique key)."""
    with Session(engine) as s:
        rows = list(s.exec(select(AuditEvent).where(AuditEvent.workflow_id == workflow_id)).all())
    assert len({r.key for r in rows}) == len(rows)
    return rows


async def _drive_review(client: Client, handle: WorkflowHandle, timeout: float = 60) -> jd.ReviewStatus:
    """Answers every open step as ``approve_all`` does, until the review ends."""
    answered: set[tuple[str, str]] = set()

    async def step() -> jd.ReviewStatus:
        status = await handle.query("status", result_type=jd.ReviewStatus)
        for open_step in status.open_steps:
            for person in open_step.pending:
                if (open_step.step_id, person) not in answered:
                    answered.add((open_step.step_id, person))
                    decision = approve_all(open_step.step_id, person)
                    assert decision is not None
                    decision.step_id = open_step.step_id
                    await handle.execute_update("decide", decision)
        return status

    return await poll_until(step, lambda s: s.outcome is not None, timeout)


# ----- a worker killed in the middle of an activity -----------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[str, object]]:
    url = f"sqlite:///{tmp_path / 'hr.db'}"
    from activities.db import make_engine

    engine = make_engine(url)
    seed_city(engine)
    yield url, engine
    engine.dispose()


async def _worker_process(dev_env, url: str, queue: str, smtp: SmtpSink) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HR_")}
    env |= {
        "HR_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "HR_DATABASE_URL": url,
        "HR_TASK_QUEUE": queue,
        "HR_SMTP_HOST": smtp.host,
        "HR_SMTP_PORT": str(smtp.port),
        "HR_LOG_LEVEL": "WARNING",
        "HR_AUTH_KEY_DIR": os.environ["HR_AUTH_KEY_DIR"],  # the session's keys (tests/signing.py)
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "starter.py", "worker", cwd=REPO, env=env, stdout=asyncio.subprocess.DEVNULL
    )


async def test_a_worker_killed_while_it_records_an_import_loses_and_doubles_nothing(dev_env, store, smtp):
    url, engine = store
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    first = await _worker_process(dev_env, url, queue, smtp)
    second = None
    try:
        client = dev_env.client
        rid = f"F{uuid.uuid4().hex[:8]}"
        handle = await client.start_workflow(
            "Recruitment",
            rc.OpenRecruitmentInput(
                recruitment_id=rid,
                requested_by=DEMO_REQUESTER_ID,
                announcement=itat_announcement(datetime.now(timezone.utc) + timedelta(days=10)),
                hr_reviewer_id=DEMO_HR_REVIEWER_ID,
                hiring_manager_id=DEMO_HIRING_MANAGER_ID,
            ),
            id=rc.recruitment_workflow_id(rid),
            task_queue=queue,
        )

        async def status() -> rc.RecruitmentStatus:
            return await handle.query("status", result_type=rc.RecruitmentStatus)

        await poll_until(status, lambda s: any(st.step_id == "announcement-1" for st in s.open_steps), 30)
        await handle.execute_update("decide", DecisionInput(actor_id="E1005", decision="approve"))
        await poll_until(status, lambda s: s.stage == rc.ACCEPTING, 30)

        applications = [demo_application(n) for n in range(1, APPLICANTS + 1)]
        update = await handle.start_update(
            "apply",
            rc.ApplyInput(actor_id=DEMO_REQUESTER_ID, applications=applications, source="big.csv"),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            result_type=rc.ApplyReceipt,
        )

        def recorded() -> int:
            with Session(engine) as s:
                return len(s.exec(select(Applicant.id).where(Applicant.recruitment_id == rid)).all())

        async def some_recorded() -> int:
            return recorded()

        # kill -9 while record_applications is part-way through the import
        await poll_until(some_recorded, lambda n: 0 < n < APPLICANTS, 60)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        killed_at = recorded()
        assert 0 < killed_at < APPLICANTS

        second = await _worker_process(dev_env, url, queue, smtp)
        receipt = await asyncio.wait_for(update.result(), 120)
        assert len(receipt.applicant_ids) == APPLICANTS == recorded()
        with Session(engine) as s:
            keys = s.exec(select(Applicant.key).where(Applicant.recruitment_id == rid)).all()
        assert len(set(keys)) == APPLICANTS  # each application once, the killed attempt's included
        rows = _audit_keys_once(engine, handle.id)
        assert [r.action for r in rows].count("applications_received") == 1
        await handle.terminate("test over")
    finally:
        for proc in (first, second):
            if proc is not None and proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
                await proc.wait()


# ----- the database refuses connections -------------------------------------------------------------


@contextlib.contextmanager
def _database_refusing(db_url: str) -> Iterator[Callable[[], None]]:
    """Makes the record unusable until the returned ``back()`` is called (or the block ends).

    PostgreSQL: the database refuses new connections and the open ones are terminated.
    SQLite: another connection holds the file's exclusive lock, so every reader and writer waits
    (its busy timeout, then "database is locked"), as a file on a stalled disk or a backup
    holding the lock would make them.
    """
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(url.database or "", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")

        def back() -> None:
            if holder.in_transaction:
                holder.execute("COMMIT")

        try:
            yield back
        finally:
            back()
            holder.close()
        return
    name = url.database
    admin = create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")

    def allow() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))

    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db"),
                {"db": name},
            )
        yield allow
    finally:
        allow()
        admin.dispose()


async def test_a_database_refusing_connections_holds_the_review_and_loses_nothing(
    dev_env, engine, db_url, smtp
):
    seed_city(engine)
    settings = Settings(database_url=db_url)
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    async with worker_and_mailer(
        dev_env.client, settings, engine, task_queue=queue, mailer=mailer_for_tests(engine, smtp)
    ):
        inp = jd.StartReviewInput(
            class_code="1821",
            cycle=f"f{uuid.uuid4().hex[:8]}",
            requested_by="E1008",
            draft_text=load_text("1821_draft_2023"),
        )
        handle = await dev_env.client.start_workflow(
            "JobDescriptionReview", inp, id=jd.review_workflow_id("1821", inp.cycle), task_queue=queue
        )

        async def status() -> jd.ReviewStatus:
            return await handle.query("status", result_type=jd.ReviewStatus)

        first = await poll_until(status, lambda s: any(st.step_id == "review-1" for st in s.open_steps), 30)
        with _database_refusing(db_url) as back:
            # The people still answer (the workflow checks them, no database needed); the
            # writes wait and are retried. They answer at once: while a step's records wait,
            # the workflow task is held open (heartbeating) and takes Updates as it renews.
            answers = await asyncio.gather(
                *(
                    handle.start_update(
                        "decide",
                        DecisionInput(actor_id=person, decision="approve", step_id="review-1"),
                        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                    )
                    for person in first.open_steps[0].pending
                )
            )
            await asyncio.sleep(3)
            # held: the union's step cannot open (its look-up waits on the database)
            assert not any(st.step_id == "union-1" for st in (await status()).open_steps)
            back()
            # each answer was accepted while the database was away, and completes once it is back
            await asyncio.wait_for(asyncio.gather(*(a.result() for a in answers)), 120)
        final = await _drive_review(dev_env.client, handle, timeout=120)
        assert final.outcome == jd.ADOPTED
        # the status shows the outcome before the run ends; it ends once every record is written
        await asyncio.wait_for(handle.result(), 120)
    rows = _audit_keys_once(engine, handle.id)
    answers_on_record = Counter((r.step_id, r.actor_id) for r in rows if r.action == "approve")
    assert all(n == 1 for n in answers_on_record.values())
    assert len([k for k in answers_on_record if k[0] == "review-1"]) == 3


# ----- the dev server restarted under a running review -----------------------------------------------


async def test_a_review_goes_on_across_a_dev_server_restart(tmp_path: Path, store, smtp):
    from service.devserver import start_dev_server

    url, engine = store
    settings = Settings(
        temporal_address=f"localhost:{_free_port()}",
        dev_db_filename=str(tmp_path / "temporal-dev.db"),
        database_url=url,
        task_queue=f"faults-{uuid.uuid4().hex[:8]}",
    )
    servers = []
    try:
        server, client = await start_dev_server(settings, headless=True)
        servers.append(server)
        client = signing_client(client, signing_interceptors()[0].token_for)  # answers are signed
        async with worker_and_mailer(
            client, settings, engine, task_queue=settings.task_queue, mailer=mailer_for_tests(engine, smtp)
        ):
            inp = jd.StartReviewInput(
                class_code="1821",
                cycle=f"r{uuid.uuid4().hex[:8]}",
                requested_by="E1008",
                draft_text=load_text("1821_draft_2023"),
            )
            handle = await client.start_workflow(
                "JobDescriptionReview",
                inp,
                id=jd.review_workflow_id("1821", inp.cycle),
                task_queue=settings.task_queue,
            )

            async def status() -> jd.ReviewStatus:
                return await handle.query("status", result_type=jd.ReviewStatus)

            first = await poll_until(
                status, lambda s: any(st.step_id == "review-1" for st in s.open_steps), 30
            )
            supervisor = first.open_steps[0].pending[0]
            await handle.execute_update(
                "decide", DecisionInput(actor_id=supervisor, decision="approve", step_id="review-1")
            )
            # the server stops and starts again on its state file; the worker reconnects by itself
            server.stop()
            server, client = await start_dev_server(settings, headless=True)
            servers.append(server)
            client = signing_client(client, signing_interceptors()[0].token_for)
            again = client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
            final = await _drive_review(client, again, timeout=90)
            assert final.outcome == jd.ADOPTED
            await asyncio.wait_for(again.result(), 90)  # every record written
    finally:
        for one in servers:
            one.stop()
    rows = _audit_keys_once(engine, handle.id)
    assert [(r.step_id, r.action) for r in rows].count(("review-1", "opened")) == 1
    assert [r.actor_id for r in rows if r.step_id == "review-1" and r.action == "approve"].count(
        supervisor
    ) == 1


# ----- the mail relay is down ----------------------------------------------------------------------


async def test_a_review_moves_on_while_the_relay_is_down_and_every_notice_goes_out_once_it_is_back(
    dev_env, store
):
    url, engine = store
    relay = SmtpSink()  # not started: the relay is down
    settings = Settings(database_url=url)
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    mailer = mailer_for_tests(
        engine, relay, first_retry=timedelta(seconds=0.5), max_retry=timedelta(seconds=2)
    )
    async with worker_and_mailer(dev_env.client, settings, engine, task_queue=queue, mailer=mailer):
        inp = jd.StartReviewInput(
            class_code="1821",
            cycle=f"m{uuid.uuid4().hex[:8]}",
            requested_by="E1008",
            draft_text=load_text("1821_draft_2023"),
        )
        handle = await dev_env.client.start_workflow(
            "JobDescriptionReview", inp, id=jd.review_workflow_id("1821", inp.cycle), task_queue=queue
        )
        final = await _drive_review(dev_env.client, handle, timeout=90)  # no step waits on mail
        assert final.outcome == jd.ADOPTED
        with Session(engine) as s:
            rows = list(s.exec(select(OutboxMessage).where(OutboxMessage.workflow_id == handle.id)).all())
        assert rows and all(r.status in ("pending", "sending") for r in rows)
        relay.start()
        try:

            async def unsent() -> list[OutboxMessage]:
                with Session(engine) as s:
                    return list(
                        s.exec(
                            select(OutboxMessage)
                            .where(OutboxMessage.workflow_id == handle.id)
                            .where(col(OutboxMessage.status) != "sent")
                        ).all()
                    )

            await handle.result()  # the outcome notices are queued last
            await poll_until(unsent, lambda left: not left, 120)
            with Session(engine) as s:
                rows = list(s.exec(select(OutboxMessage).where(OutboxMessage.workflow_id == handle.id)).all())
            ids = Counter(str(m["Message-ID"]) for m in relay.messages)
            assert len(ids) == len(rows) and all(n == 1 for n in ids.values())
            assert all(r.attempts >= 2 for r in rows if r.key.endswith(":opened:E1005"))  # tried while down
        finally:
            relay.stop()
