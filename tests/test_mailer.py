"""The mailer: delivery apart from the workflows, with its own retries and back-off.

A relay that is down or answers 4xx stops no process: the steps go on, the rows wait with their
attempts and next attempt on record, and once the relay is back each row is sent once. A mailer
that died between the relay's acceptance and its commit resends the row (at least once), with
the same Message-ID. Two mailers never both send a row while a claim holds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import smtplib
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import pytest_asyncio
import structlog
from sqlalchemy import Engine
from structlog.testing import capture_logs
from typer.testing import CliRunner

import starter
from activities import mailer as mailer_module
from activities.db import as_utc
from activities.mailer import CLAIM_LEASE, Mailer, backoff, claim_row, mailer_running
from activities.notifications import NotificationActivities, message_id, outbox_for
from activities.seed import (
    BOARD_SECRETARY_ID,
    CITY_ADMINISTRATOR_ID,
    EMPLOYEE_SERVICES_DIRECTOR_ID,
    HR_SUPERVISOR_ID,
    seed_city,
)
from schemas import jd_review as jd
from schemas.human_step import NotifyInput
from schemas.tables import OutboxMessage
from service.settings import Settings, get_settings
from tests.harness_common import delivered, mailer_for_tests, poll_until, undelivered
from tests.review_harness import Review, approve_all
from tests.smtp_server import SmtpSink
from worker import worker_and_mailer

MAIL_FROM = "hr-workflows@city.example"
SUPERVISOR_EMAIL = "linnea.brandt@city.example"
WF = "jd-review-1821-2024"
PEOPLE = [HR_SUPERVISOR_ID, BOARD_SECRETARY_ID, CITY_ADMINISTRATOR_ID, EMPLOYEE_SERVICES_DIRECTOR_ID]


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed_city(engine)
    return engine


def _queue(engine: Engine, recipient_ids: list[str], key: str = f"{WF}:review-1:step_opened:opened") -> None:
    NotificationActivities(engine).notify(
        NotifyInput(
            key=key,
            workflow_id=WF,
            recipient_ids=recipient_ids,
            template="step_opened",
            params={"step_title": "Supervisor review of 1821", "due_at": "2024-03-15", "allowed": "approve"},
        )
    )


def _mailer(engine: Engine, smtp: SmtpSink, **options: object) -> Mailer:
    return Mailer(engine, smtp.host, smtp.port, MAIL_FROM, **options)  # type: ignore[arg-type]


def _rows(engine: Engine) -> list[OutboxMessage]:
    return outbox_for(engine, WF)


def _ids(smtp: SmtpSink) -> list[str]:
    return [str(m["Message-ID"]) for m in smtp.messages]


def test_back_off_doubles_from_30_seconds_up_to_an_hour() -> None:
    waits = [backoff(n) for n in range(1, 10)]
    assert waits[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert waits[-1] == timedelta(hours=1) and max(waits) == timedelta(hours=1)
    assert backoff(10_000) == timedelta(hours=1)  # no overflow however long the outage


def test_the_claim_lease_outlasts_an_smtp_exchange() -> None:
    assert CLAIM_LEASE > timedelta(seconds=mailer_module.SMTP_TIMEOUT_SECONDS)


def test_one_conditional_update_claims_a_due_row_for_one_mailer_and_records_the_attempt(
    seeded: Engine,
) -> None:
    _queue(seeded, [HR_SUPERVISOR_ID])
    (row,) = _rows(seeded)
    assert row.id is not None
    now = datetime.now(timezone.utc)
    assert claim_row(seeded, row.id, "mailer-a", now)
    (claimed,) = _rows(seeded)
    assert (claimed.status, claimed.attempts, claimed.claimed_by) == ("sending", 1, "mailer-a")
    assert claimed.last_attempt_at is not None and as_utc(claimed.last_attempt_at) == now
    assert claimed.next_attempt_at is not None and as_utc(claimed.next_attempt_at) == now + CLAIM_LEASE

    assert not claim_row(seeded, row.id, "mailer-b", now + timedelta(seconds=1))
    later = now + CLAIM_LEASE + timedelta(seconds=1)  # mailer-a's lease has run out
    assert claim_row(seeded, row.id, "mailer-b", later)
    assert not claim_row(seeded, row.id, "mailer-a", later)
    assert _rows(seeded)[0].attempts == 2


def test_two_mailers_at_once_send_each_row_exactly_once(seeded: Engine, smtp: SmtpSink) -> None:
    _queue(seeded, PEOPLE)
    smtp.handler.delay = 0.3  # a slow server: the two mailers overlap on every row
    start = threading.Barrier(2)

    def one_pass(name: str) -> mailer_module.Pass:
        mailer = _mailer(seeded, smtp, name=name)
        start.wait()
        return mailer.deliver_due()

    with ThreadPoolExecutor(max_workers=2) as pool:
        passes = list(pool.map(one_pass, ["mailer-a", "mailer-b"]))

    keys = [f"{WF}:review-1:step_opened:opened:{p}" for p in PEOPLE]
    assert sorted(_ids(smtp)) == sorted(message_id(k) for k in keys)
    assert sorted(i for p in passes for i in p.sent) == sorted(r.id for r in _rows(seeded))
    rows = _rows(seeded)
    assert [(r.status, r.attempts, r.claimed_by, r.claimed_at) for r in rows] == [("sent", 1, None, None)] * 4


def test_a_row_claimed_by_a_live_mailer_is_left_to_it(seeded: Engine, smtp: SmtpSink) -> None:
    _queue(seeded, [HR_SUPERVISOR_ID, BOARD_SECRETARY_ID])
    busy, other = _rows(seeded)
    assert busy.id is not None
    assert claim_row(seeded, busy.id, "sending-right-now")
    done = _mailer(seeded, smtp).deliver_due()
    assert done.sent == [other.id] and len(smtp.messages) == 1
    (still,) = [r for r in _rows(seeded) if r.id == busy.id]
    assert (still.status, still.attempts, still.claimed_by) == ("sending", 1, "sending-right-now")


# ----- at least once: a crash between the relay's acceptance and the commit --------------------


@pytest.fixture
def hr_cli(db_url: str) -> Iterator[CliRunner]:
    """The ``hr`` app in process against this test's store; the logging set-up the command
    makes (``load_settings``) is undone afterwards, so later tests capture logs as before."""
    runner = CliRunner(env={"HR_DATABASE_URL": db_url, "HR_LOG_LEVEL": "ERROR"})
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    get_settings.cache_clear()
    try:
        yield runner
    finally:
        get_settings.cache_clear()
        structlog.configure(**config)
        root.handlers[:] = handlers
        root.setLevel(level)


def _outbox_line(runner: CliRunner, row_id: int) -> str:
    get_settings.cache_clear()
    config = structlog.get_config()
    result = runner.invoke(starter.app, ["outbox", "--workflow", WF])
    structlog.configure(**config)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].split()[:4] == ["id", "to", "status", "tries"]
    return next(line for line in result.output.splitlines() if line.split()[0] == str(row_id))


def test_a_send_that_crashed_before_its_commit_is_sent_again_with_the_same_message_id(
    seeded: Engine, smtp: SmtpSink, hr_cli: CliRunner
) -> None:
    _queue(seeded, [HR_SUPERVISOR_ID])
    (row,) = _rows(seeded)
    assert row.id is not None
    crashed = _mailer(seeded, smtp, name="mailer-that-died")
    t0 = datetime.now(timezone.utc)
    # The mailer claims the row and records its attempt (committed), the relay accepts the
    # message, and the process dies before the row is marked sent.
    assert claim_row(seeded, row.id, crashed.me, t0)
    with smtplib.SMTP(smtp.host, smtp.port) as relay:
        relay.send_message(crashed.message(row))
    line = _outbox_line(hr_cli, row.id)
    assert line.split()[2:4] == ["sending", "1"]  # the attempt is on record

    mailer = _mailer(seeded, smtp)
    assert mailer.deliver_due(now=t0 + timedelta(seconds=30)).due == 0  # the claim still holds
    done = mailer.deliver_due(now=t0 + CLAIM_LEASE + timedelta(seconds=1))
    assert done.sent == [row.id]

    # Sent twice, as documented: the same Message-ID both times.
    assert _ids(smtp) == [message_id(row.key)] * 2
    (after,) = _rows(seeded)
    assert (after.status, after.attempts, after.claimed_by) == ("sent", 2, None)
    line = _outbox_line(hr_cli, row.id)
    assert line.split()[2:4] == ["sent", "2"]
    assert mailer.deliver_due(now=t0 + 3 * CLAIM_LEASE).due == 0  # and never again


# ----- a relay that is down, or says "try later" ----------------------------------------------


def test_a_relay_that_is_down_leaves_the_rows_pending_with_growing_back_off_then_sends_each_once(
    seeded: Engine, smtp: SmtpSink, hr_cli: CliRunner
) -> None:
    _queue(seeded, [HR_SUPERVISOR_ID, BOARD_SECRETARY_ID])
    smtp.stop()
    mailer = _mailer(seeded, smtp)
    at = datetime.now(timezone.utc)
    for attempt, wait in enumerate((30, 60, 120), start=1):
        done = mailer.deliver_due(now=at)
        assert len(done.retrying) == 2 and done.sent == []
        for row in _rows(seeded):
            assert (row.status, row.attempts, row.claimed_by) == ("pending", attempt, None)
            assert row.last_error == "ConnectionRefusedError errno 111"
            assert row.last_attempt_at is not None and as_utc(row.last_attempt_at) == at
            assert row.next_attempt_at is not None
            assert as_utc(row.next_attempt_at) == at + timedelta(seconds=wait)
        assert mailer.deliver_due(now=at + timedelta(seconds=wait - 1)).due == 0  # not yet due
        at += timedelta(seconds=wait)
    first = _rows(seeded)[0]
    assert first.id is not None
    line = _outbox_line(hr_cli, first.id)
    assert line.split()[2:4] == ["pending", "3"] and "ConnectionRefusedError errno 111" in line

    smtp.start()
    done = mailer.deliver_due(now=at)
    assert len(done.sent) == 2
    assert sorted(_ids(smtp)) == sorted(message_id(r.key) for r in _rows(seeded))
    assert [(r.status, r.attempts, r.next_attempt_at) for r in _rows(seeded)] == [("sent", 4, None)] * 2
    assert mailer.deliver_due(now=at + timedelta(hours=2)).due == 0
    assert len(smtp.messages) == 2


def test_a_relay_that_answers_4xx_is_retried_later_and_the_error_names_no_address(
    seeded: Engine, smtp: SmtpSink
) -> None:
    _queue(seeded, [HR_SUPERVISOR_ID])
    smtp.handler.tempfail = True
    mailer = _mailer(seeded, smtp)
    at = datetime.now(timezone.utc)
    with capture_logs() as logs:
        done = mailer.deliver_due(now=at)
    assert len(done.retrying) == 1 and smtp.messages == []
    (row,) = _rows(seeded)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "SMTPRecipientsRefused 451")
    assert [e["event"] for e in logs] == ["mail.retry_later"]
    assert SUPERVISOR_EMAIL not in repr(logs) + (row.last_error or "")

    smtp.handler.tempfail = False
    assert mailer.deliver_due(now=at + timedelta(seconds=29)).due == 0
    assert len(mailer.deliver_due(now=at + timedelta(seconds=30)).sent) == 1
    assert _ids(smtp) == [message_id(row.key)]
    assert _rows(seeded)[0].last_error == "SMTPRecipientsRefused 451"  # the record of the delay


def test_a_permanently_refused_address_is_failed_and_the_rest_still_go(
    seeded: Engine, smtp: SmtpSink
) -> None:
    _queue(seeded, [HR_SUPERVISOR_ID, BOARD_SECRETARY_ID])
    smtp.handler.refuse.add(SUPERVISOR_EMAIL)
    mailer = _mailer(seeded, smtp)
    done = mailer.deliver_due()
    assert len(done.sent) == 1 and len(done.failed) == 1
    assert not smtp.subjects_to(SUPERVISOR_EMAIL)
    status = {r.recipient_id: (r.status, r.attempts, r.last_error, r.next_attempt_at) for r in _rows(seeded)}
    assert status == {
        HR_SUPERVISOR_ID: ("failed", 1, "SMTPRecipientsRefused 550", None),
        BOARD_SECRETARY_ID: ("sent", 1, None, None),
    }
    assert mailer.deliver_due(now=datetime.now(timezone.utc) + timedelta(days=1)).due == 0  # never again


# ----- the mailer beside the worker -----------------------------------------------------------


async def test_a_queued_notice_wakes_the_mailer_and_it_stops_when_asked(
    seeded: Engine, smtp: SmtpSink
) -> None:
    mailer = _mailer(seeded, smtp, poll_seconds=60)  # only a wake-up can deliver within the test
    async with mailer_running(mailer):
        await asyncio.sleep(0.2)  # its first pass finds nothing; it waits up to a minute
        notifications = NotificationActivities(seeded, on_queued=mailer.wake)
        await asyncio.to_thread(notifications.notify, _inp_for(HR_SUPERVISOR_ID))
        await delivered(seeded, smtp, WF, timeout=10)
        began = time.monotonic()
    assert time.monotonic() - began < 5
    assert len(smtp.messages) == 1


def _inp_for(person: str) -> NotifyInput:
    return NotifyInput(
        key=f"{WF}:wake:{uuid.uuid4().hex[:6]}",
        workflow_id=WF,
        recipient_ids=[person],
        template="reminder",
        params={"step_title": "Supervisor review of 1821", "due_at": "2024-03-15", "allowed": "approve"},
    )


@pytest_asyncio.fixture(loop_scope="session")
async def review_with_a_failing_relay(time_skipping_env, engine, db_url, smtp):
    """A worker and its mailer (retrying after 0.2 s, at most 1 s apart); the relay is down."""
    seed_city(engine)
    smtp.stop()
    settings = Settings(database_url=db_url, smtp_host=smtp.host, smtp_port=smtp.port)
    task_queue = f"test-{uuid.uuid4().hex[:8]}"
    mailer = mailer_for_tests(
        engine, smtp, first_retry=timedelta(seconds=0.2), max_retry=timedelta(seconds=1)
    )
    async with worker_and_mailer(
        time_skipping_env.client, settings, engine, task_queue=task_queue, mailer=mailer
    ):
        yield Review(env=time_skipping_env, engine=engine, smtp=smtp, task_queue=task_queue)


async def test_a_review_goes_on_while_the_relay_is_down_and_every_notice_is_sent_once_it_is_back(
    review_with_a_failing_relay: Review,
) -> None:
    review = review_with_a_failing_relay
    handle = await review.start()
    # Every step opens after the one before, with no mail server: nothing waits on delivery.
    status = await review.drive(handle, approve_all)
    assert status.outcome == jd.ADOPTED
    assert (await handle.result()).outcome == jd.ADOPTED
    assert review.smtp.messages == []
    steps = {s.step_id for s in status.closed_steps}
    assert {"review-1", "union-1", "signatures-1"} <= steps and any(s.startswith("board-") for s in steps)

    # The notices wait in the outbox, retried with a growing back-off.
    async def rows() -> list[OutboxMessage]:
        return outbox_for(review.engine, handle.id)

    waiting = await poll_until(rows, lambda rs: bool(rs) and all(r.attempts >= 3 for r in rs), 30)
    assert {r.status for r in waiting} <= {"pending", "sending"}
    for row in waiting:
        if row.status == "pending":
            assert row.last_error is not None and row.last_error.startswith("ConnectionRefusedError")
            assert row.next_attempt_at is not None and row.last_attempt_at is not None
            # The wait runs from the failure, a moment after the attempt began.
            gap = as_utc(row.next_attempt_at) - as_utc(row.last_attempt_at)
            wait = backoff(row.attempts, timedelta(seconds=0.2), timedelta(seconds=1))
            assert wait <= gap < wait + timedelta(seconds=1)
            assert wait > timedelta(seconds=0.2)  # grown from the first wait

    # The relay is back: each row is delivered exactly once.
    review.smtp.start()
    mail = await delivered(review.engine, review.smtp, handle.id, timeout=30)
    rows_now = outbox_for(review.engine, handle.id)
    assert {r.status for r in rows_now} == {"sent"}
    assert Counter(str(m["Message-ID"]) for m in mail) == Counter(message_id(r.key) for r in rows_now)
    assert len(mail) == len(rows_now) == len({r.key for r in rows_now})
    assert undelivered(review.engine) == []


# ----- hr mailer: delivery on its own ---------------------------------------------------------


def test_hr_mailer_without_an_smtp_host_says_the_outbox_is_the_delivery(hr_cli: CliRunner) -> None:
    get_settings.cache_clear()
    result = hr_cli.invoke(starter.app, ["mailer"])
    assert result.exit_code == 1
    assert "HR_SMTP_HOST is not set" in result.output


async def test_hr_mailer_delivers_the_outbox_until_stopped(
    seeded: Engine, db_url: str, smtp: SmtpSink
) -> None:
    _queue(seeded, [HR_SUPERVISOR_ID, BOARD_SECRETARY_ID])
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("HR_")}
    env |= {
        "HR_DATABASE_URL": db_url,
        "HR_SMTP_HOST": smtp.host,
        "HR_SMTP_PORT": str(smtp.port),
        "HR_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(starter.__file__)),
        "mailer",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        mail = await delivered(seeded, smtp, WF, timeout=30)
    finally:
        process.terminate()
        out, err = await asyncio.wait_for(process.communicate(), 30)
    assert sorted(_ids(smtp)) == sorted(message_id(r.key) for r in _rows(seeded)) and len(mail) == 2
    assert process.returncode == 0, err.decode()
    assert "mailer delivering the outbox" in out.decode() and "stopped" in err.decode()
