"""The mailer: delivers the outbox over SMTP, apart from the workflows.

Activities only write outbox rows (``activities/notifications.py``); no workflow waits on a
mail server. The mailer runs beside every worker (``worker.py``; ``hr dev`` and ``hr demo`` too)
or alone (``hr mailer``). It loops: it picks the rows that are due (``pending``, or ``sending``
whose attempt died, with ``next_attempt_at`` reached) and, for each one:

1. **claims it and records the attempt** in one conditional UPDATE, committed before it talks
   to the SMTP server (``claim_row``): ``claimed_by``/``claimed_at``, status ``sending``,
   ``attempts + 1``, ``last_attempt_at``, and ``next_attempt_at`` at the end of the claim's
   lease (``CLAIM_LEASE``). Only one mailer wins a row; another skips it;
2. sends it (``Message-ID`` derived from the row's key, the same on every attempt);
3. marks it ``sent``; or, when the server refused it for good (5xx), ``failed``; or, on a
   transient failure (no connection, 4xx, a dropped connection), ``pending`` again with
   ``next_attempt_at`` pushed back exponentially (``backoff``: 30 s, 1 min, 2 min, … at most
   1 hour) and ``last_error`` (the error's class and code, never an address).

**At least once.** A mailer that dies after the relay accepted a message and before the row was
marked sent leaves the row ``sending`` with its attempt on record (``hr outbox`` shows it).
When the claim's lease has run out another pass sends it again, with the same ``Message-ID``,
so a receiving system can tell the copies apart. Nothing else sends a row twice: a live claim
keeps every other mailer off the row.

Without an SMTP server (``HR_SMTP_HOST`` unset) there is no mailer: rows stay ``pending`` and
the outbox is the delivery. Logs carry ids only: never a name or an e-mail address.
"""

from __future__ import annotations

import asyncio
import os
import smtplib
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import Engine, and_, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session

from activities.db import utcnow
from activities.notifications import message_id
from schemas.tables import OutboxMessage

if TYPE_CHECKING:
    from service.settings import Settings

SMTP_TIMEOUT_SECONDS = 30
CLAIM_LEASE = timedelta(minutes=2)
"""How long a mailer's claim on an outbox row holds. Longer than an SMTP exchange may take
(``SMTP_TIMEOUT_SECONDS``), so a live mailer keeps its row; after it, a row whose mailer died
mid-send no longer blocks and another pass takes it over (and may send it again)."""
FIRST_RETRY = timedelta(seconds=30)
"""The wait after a row's first failed attempt; it doubles with every further one."""
MAX_RETRY = timedelta(hours=1)
"""The longest wait between two attempts of a row."""
BATCH = 100
"""Rows per pass; a full pass is followed by the next one at once."""
POLL_SECONDS = 2.0
"""The pause between passes when nothing is due (a notice queued in this process wakes it)."""
STOP_WAIT_SECONDS = SMTP_TIMEOUT_SECONDS + 5
"""How long stopping waits for a pass under way; a row it leaves claimed is resent later."""

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
_OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]


def backoff(attempts: int, first: timedelta = FIRST_RETRY, cap: timedelta = MAX_RETRY) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: ``first``, twice that, four times, …,
    at most ``cap``."""
    return min(first * 2 ** min(max(attempts - 1, 0), 32), cap)


def error_code(exc: BaseException) -> str:
    """A failure as ``last_error`` keeps it: the error's class and SMTP code (or errno), never
    its text, which may quote an address."""
    name = type(exc).__name__
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        return f"{name} {','.join(str(c) for c in codes)}".strip()
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{name} {exc.smtp_code}"
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{name} errno {exc.errno}"
    return name


def permanent(exc: BaseException) -> bool:
    """True for a refusal the server says is final (5xx); anything else is worth a retry."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


# ----- one row: claim (and record the attempt), then settle ------------------------------------


def _due(now: datetime) -> Any:
    table = _OUTBOX
    return and_(
        table.c.status.in_((PENDING, SENDING)),
        or_(table.c.next_attempt_at.is_(None), table.c.next_attempt_at <= now),
        or_(table.c.claimed_by.is_(None), table.c.claimed_at < now - CLAIM_LEASE),
    )


def due_rows(engine: Engine, now: datetime | None = None, limit: int = BATCH) -> list[int]:
    """The ids of the rows a pass at ``now`` would try, oldest first."""
    now = now or utcnow()
    table = _OUTBOX
    query = sa_select(table.c.id).where(_due(now)).order_by(table.c.id).limit(limit)
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def claim_row(engine: Engine, row_id: int, me: str, now: datetime | None = None) -> bool:
    """Claims a due outbox row for the mailer ``me`` and records the attempt, in one conditional
    UPDATE, committed before anything is sent.

    The row is claimed when it is due (``pending`` or ``sending``, ``next_attempt_at`` reached)
    and unclaimed, or its claim is older than ``CLAIM_LEASE`` (a mailer that died while sending).
    At most one mailer wins. The winner's attempt is on record (``attempts + 1``,
    ``last_attempt_at``, status ``sending``; ``next_attempt_at`` at the lease's end) whatever
    happens next.

    Returns:
        Whether ``me`` holds the claim now.
    """
    now = now or utcnow()
    table = _OUTBOX
    statement = (
        update(table)
        .where(table.c.id == row_id)
        .where(_due(now))
        .values(
            claimed_by=me,
            claimed_at=now,
            status=SENDING,
            attempts=table.c.attempts + 1,
            last_attempt_at=now,
            next_attempt_at=now + CLAIM_LEASE,
        )
    )
    with engine.begin() as conn:
        return conn.execute(statement).rowcount == 1


def _settle(engine: Engine, row_id: int, me: str, **values: Any) -> bool:
    """Writes ``values`` and releases ``me``'s claim; False if ``me`` no longer held it."""
    table = _OUTBOX
    with engine.begin() as conn:
        statement = (
            update(table)
            .where(table.c.id == row_id)
            .where(table.c.claimed_by == me)
            .values(claimed_by=None, claimed_at=None, **values)
        )
        return conn.execute(statement).rowcount == 1


def mark_sent(engine: Engine, row_id: int, me: str, now: datetime | None = None) -> bool:
    """Records that the relay accepted the row; False if ``me``'s claim had been taken over
    (the row is recorded sent all the same; the other mailer may send it again)."""
    now = now or utcnow()
    if _settle(engine, row_id, me, status=SENT, sent_at=now, next_attempt_at=None):
        return True
    table = _OUTBOX
    with engine.begin() as conn:
        conn.execute(
            update(table)
            .where(table.c.id == row_id)
            .where(table.c.status.in_((PENDING, SENDING)))
            .values(status=SENT, sent_at=now, next_attempt_at=None)
        )
    return False


def retry_later(
    engine: Engine,
    row_id: int,
    me: str,
    error: str,
    attempts: int,
    now: datetime | None = None,
    first: timedelta = FIRST_RETRY,
    cap: timedelta = MAX_RETRY,
) -> datetime:
    """Puts a row whose attempt failed for now back to ``pending``, due after ``backoff``."""
    due = (now or utcnow()) + backoff(attempts, first, cap)
    _settle(engine, row_id, me, status=PENDING, next_attempt_at=due, last_error=error)
    return due


def mark_failed(engine: Engine, row_id: int, me: str, error: str) -> None:
    """Records a refusal for good (5xx): the row is ``failed`` and never tried again."""
    _settle(engine, row_id, me, status=FAILED, next_attempt_at=None, last_error=error)


# ----- the mailer -----------------------------------------------------------------------------


@dataclass
class Pass:
    """What one pass did, by outbox row id."""

    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    """Rows another mailer claimed first."""
    due: int = 0
    """How many rows were due when the pass began (at most the batch size)."""


class Mailer:
    """Delivers due outbox rows over SMTP; ``run`` loops until told to stop.

    Args:
        engine: The system-of-record database.
        smtp_host: The SMTP relay.
        smtp_port: Its port.
        mail_from: The ``From`` address.
        first_retry: The wait after a row's first failed attempt (doubled for each further one).
        max_retry: The longest wait between two attempts.
        batch: Rows per pass.
        poll_seconds: The pause between passes when nothing is due.
        name: Who claims rows (ids only); unique per mailer by default.
    """

    def __init__(
        self,
        engine: Engine,
        smtp_host: str,
        smtp_port: int,
        mail_from: str,
        *,
        first_retry: timedelta = FIRST_RETRY,
        max_retry: timedelta = MAX_RETRY,
        batch: int = BATCH,
        poll_seconds: float = POLL_SECONDS,
        name: str | None = None,
    ) -> None:
        self.engine = engine
        self.smtp_host = smtp_host
        self.smtp_port = smtp_port
        self.mail_from = mail_from
        self.first_retry = first_retry
        self.max_retry = max_retry
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.me = name or f"mailer-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._wake = threading.Event()

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine, **options: Any) -> Mailer | None:
        """The mailer for ``settings.smtp_host``; None without one (the outbox is the delivery)."""
        if not settings.smtp_host:
            return None
        return cls(engine, settings.smtp_host, settings.smtp_port, settings.mail_from, **options)

    @property
    def log(self) -> Any:
        """The mailer's logger (bound on use, so that the logging set-up of the moment applies)."""
        return structlog.get_logger("hr.mailer").bind(mailer=self.me)

    def wake(self) -> None:
        """Starts the next pass now (a notice was queued) instead of after ``poll_seconds``."""
        self._wake.set()

    # ----- the loop ---------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Passes over the due rows until ``stop`` is set. A pass that fails (the database is
        unreachable) is logged and tried again after the pause."""
        self.log.info("mailer.started", smtp_port=self.smtp_port)
        while not stop.is_set():
            try:
                done = self.deliver_due(stop=stop)
            except Exception as exc:  # noqa: BLE001 (the loop must outlive a bad pass)
                self.log.error("mailer.pass_failed", error=type(exc).__name__)
                done = None
            if done is not None and done.due >= self.batch and not stop.is_set():
                continue  # more may be due
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
        self.log.info("mailer.stopped")

    def deliver_due(self, now: datetime | None = None, stop: threading.Event | None = None) -> Pass:
        """One pass: claims, sends and settles each due row (at most ``batch``), one SMTP
        connection for all of them.

        A relay that cannot be reached fails every row claimed in this pass with its error (one
        connection attempt per pass); each waits out its back-off.

        Args:
            now: The time to act at (tests); the wall clock when None.
            stop: When set, the pass ends before the next row (the rows left stay due).
        """

        def clock() -> datetime:
            return now or utcnow()

        done = Pass()
        ids = due_rows(self.engine, clock(), self.batch)
        done.due = len(ids)
        smtp: smtplib.SMTP | None = None
        unreachable: str | None = None
        try:
            for row_id in ids:
                if stop is not None and stop.is_set():
                    break
                if not claim_row(self.engine, row_id, self.me, clock()):
                    done.skipped.append(row_id)
                    continue
                row = self._row(row_id)
                if smtp is None and unreachable is None:
                    try:
                        smtp = self._connect()
                    except (OSError, smtplib.SMTPException) as exc:
                        unreachable = error_code(exc)
                if unreachable is not None:
                    self._failed_for_now(row, unreachable, clock(), done)
                    continue
                assert smtp is not None
                try:
                    smtp.send_message(self.message(row))
                except (OSError, smtplib.SMTPException) as exc:
                    self._refused(row, exc, clock(), done)
                    _close(smtp)  # a fresh connection for the next row
                    smtp = None
                    continue
                except Exception as exc:
                    self._failed_for_now(row, error_code(exc), clock(), done)
                    raise
                self._sent(row, clock(), done)
        finally:
            if smtp is not None:
                _close(smtp)
        return done

    # ----- steps ------------------------------------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        return smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=SMTP_TIMEOUT_SECONDS)

    def _row(self, row_id: int) -> OutboxMessage:
        with Session(self.engine, expire_on_commit=False) as session:
            row = session.get(OutboxMessage, row_id)
            assert row is not None
            return row

    def _sent(self, row: OutboxMessage, now: datetime, done: Pass) -> None:
        assert row.id is not None
        held = mark_sent(self.engine, row.id, self.me, now)
        done.sent.append(row.id)
        log = self.log.bind(outbox_id=row.id, recipient_id=row.recipient_id, workflow_id=row.workflow_id)
        log.info("mail.sent", attempts=row.attempts)
        if not held:
            # This send outlasted the lease and another pass took the row over; it may send the
            # message again (with the same Message-ID).
            log.warning("mail.claim_lost")

    def _refused(self, row: OutboxMessage, exc: BaseException, now: datetime, done: Pass) -> None:
        assert row.id is not None
        if permanent(exc):
            # A 5xx will not change on retry: the row is failed and HR sees it in the outbox.
            mark_failed(self.engine, row.id, self.me, error_code(exc))
            done.failed.append(row.id)
            self.log.warning(
                "mail.failed",
                outbox_id=row.id,
                recipient_id=row.recipient_id,
                workflow_id=row.workflow_id,
                attempts=row.attempts,
                error=error_code(exc),
            )
            return
        self._failed_for_now(row, error_code(exc), now, done)

    def _failed_for_now(self, row: OutboxMessage, error: str, now: datetime, done: Pass) -> None:
        assert row.id is not None
        due = retry_later(
            self.engine, row.id, self.me, error, row.attempts, now, self.first_retry, self.max_retry
        )
        done.retrying.append(row.id)
        self.log.warning(
            "mail.retry_later",
            outbox_id=row.id,
            recipient_id=row.recipient_id,
            workflow_id=row.workflow_id,
            attempts=row.attempts,
            error=error,
            next_attempt_at=due.isoformat(),
        )

    def message(self, row: OutboxMessage) -> EmailMessage:
        """The e-mail for an outbox row; its Message-ID is derived from the row's key."""
        msg = EmailMessage()
        msg["From"] = self.mail_from
        msg["To"] = row.to_address
        msg["Subject"] = row.subject
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = message_id(row.key)
        msg["Auto-Submitted"] = "auto-generated"
        if row.workflow_id:
            msg["X-HR-Workflow-Id"] = row.workflow_id
        msg.set_content(row.body)
        return msg


def _close(smtp: smtplib.SMTP) -> None:
    with suppress(OSError, smtplib.SMTPException):
        smtp.quit()
    with suppress(OSError):
        smtp.close()


@asynccontextmanager
async def mailer_running(mailer: Mailer | None) -> AsyncIterator[Mailer | None]:
    """Runs ``mailer`` on a thread of its own for the duration of the block (nothing if None).

    On the way out it stops after the pass under way (waiting at most ``STOP_WAIT_SECONDS``);
    a row it leaves claimed is sent again once the claim's lease has run out.
    """
    if mailer is None:
        yield None
        return
    stop = threading.Event()
    thread = threading.Thread(target=mailer.run, args=(stop,), name=f"hr-{mailer.me}", daemon=True)
    thread.start()
    try:
        yield mailer
    finally:
        stop.set()
        mailer.wake()
        await asyncio.to_thread(thread.join, STOP_WAIT_SECONDS)
