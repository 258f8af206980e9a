"""Notifications: an outbox row per recipient, delivered by SMTP when a server is configured.

The outbox is the system of record. ``notify`` writes one ``OutboxMessage`` per recipient, keyed
``f"{inp.key}:{person_id}"``, so a retried activity finds its rows instead of adding new ones;
a row already ``sent`` is never sent again. Without an SMTP server the rows stay ``pending``
and the outbox is the delivery (``hr outbox`` lists it).

Delivery claims each row before sending it (``claimed_by``/``claimed_at``, one conditional
UPDATE) and heartbeats before each message, so an attempt that timed out while sending and the
retry Temporal started meanwhile never both send one row: the old attempt stops at its next
heartbeat, and a row it is still sending is left to it (the retry fails, retryably, until the
row is sent or the claim's lease, ``CLAIM_LEASE``, has run out). Give the activities a
``heartbeat_timeout``.

The texts come from the templates in ``activities/templates/`` (``activities.rendering``);
a template that needs a field the notice does not supply fails the activity (retryably, type
``TemplateError``) before any row is written.

``queue_and_deliver`` is that queue-and-send step on its own, for recipients looked up
elsewhere (``notify_applicants`` in ``activities/recruitment.py``: applicants are not people
of the directory).

Logs carry ids only: never a person's name or e-mail address.
"""

from __future__ import annotations

import hashlib
import smtplib
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import structlog
from sqlalchemy import Engine, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError, CancelledError

from activities import rendering
from activities.db import utcnow
from activities.rendering import render_staff_notice, template_errors
from schemas.human_step import NotifyInput, NotifyResult
from schemas.tables import OutboxMessage, Person

SMTP_TIMEOUT_SECONDS = 30
CLAIM_LEASE = timedelta(minutes=2)
"""How long a delivery attempt's claim on an outbox row holds. Longer than an SMTP exchange may
take (``SMTP_TIMEOUT_SECONDS``), so a live attempt keeps its row; after it, an attempt that died
mid-send no longer blocks the row and a later attempt takes it over."""

SIGNATURE = rendering.SIGNATURE
"""The signature under every notice (``activities/templates/_signature.txt``)."""

render = render_staff_notice
"""Renders a staff notice: ``render(template, params, name, workflow_id) -> (subject, body)``
(``activities.rendering.render_staff_notice``; the templates are ``activities/templates/staff/``)."""


def message_id(key: str) -> str:
    """A stable ``Message-ID`` for an outbox key, so a repeated send is recognisable."""
    return f"<{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}@hr-workflows>"


@dataclass(frozen=True)
class Recipient:
    """Someone a notice goes to: an id for the outbox and the logs, a name and an address.

    ``key_suffix`` ends the outbox key (``f"{inp_key}:{key_suffix}"``); the id when not given.
    """

    id: str
    name: str
    email: str
    key_suffix: str | None = None

    @property
    def key_id(self) -> str:
        return self.key_suffix if self.key_suffix is not None else self.id


def _logger() -> Any:
    log = structlog.get_logger()
    if activity.in_activity():
        info = activity.info()
        log = log.bind(workflow_id=info.workflow_id, run_id=info.workflow_run_id)
    return log


class NotificationActivities:
    """The ``notify`` activity and its configuration (database and SMTP server).

    ``notify`` is synchronous: register it with a worker that has an ``activity_executor``.

    Args:
        engine: The system-of-record database.
        smtp_host: The SMTP server; ``None`` or empty keeps messages in the outbox only.
        smtp_port: The SMTP server's port.
        mail_from: The ``From`` address.
    """

    def __init__(self, engine: Engine, smtp_host: str | None, smtp_port: int, mail_from: str) -> None:
        self.engine = engine
        self.smtp_host = smtp_host or None
        self.smtp_port = smtp_port
        self.mail_from = mail_from

    @activity.defn(name="notify")
    def notify(self, inp: NotifyInput) -> NotifyResult:
        """Queues one outbox message per recipient and delivers the pending ones.

        Args:
            inp: The recipients (person ids), template, parameters and idempotency key.

        Returns:
            How many outbox rows this call created and how many messages it sent.

        Raises:
            ApplicationError: A recipient id is not in the directory (non-retryable); nothing
                is written in that case. And as ``queue_and_deliver`` raises: ``TemplateError``
                (a field the template needs is not in ``inp.params``; nothing is written),
                ``SmtpDeliveryFailed``, ``OutboxRowBusy`` (all retryable).
        """
        log = _logger().bind(key=inp.key, template=inp.template)
        recipient_ids = list(dict.fromkeys(inp.recipient_ids))
        with Session(self.engine) as session:
            recipients: list[Recipient] = []
            for person_id in recipient_ids:
                person = session.get(Person, person_id)
                if person is None:
                    log.warning("notify.unknown_recipient", recipient_id=person_id)
                    raise ApplicationError(
                        f"unknown recipient {person_id!r}",
                        type="UnknownRecipient",
                        non_retryable=True,
                    )
                recipients.append(Recipient(id=person.id, name=person.name, email=person.email))

        def render_for(recipient: Recipient) -> tuple[str, str]:
            return render(inp.template, inp.params, recipient.name, inp.workflow_id)

        return self.queue_and_deliver(
            inp.key, inp.workflow_id, recipients, render_for, log=log, run_id=inp.run_id
        )

    def queue_and_deliver(
        self,
        inp_key: str,
        workflow_id: str | None,
        recipients: list[Recipient],
        render_fn: Callable[[Recipient], tuple[str, str]],
        *,
        log: Any = None,
        run_id: str | None = None,
    ) -> NotifyResult:
        """Queues one outbox row per recipient (keyed ``f"{inp_key}:{recipient.key_id}"``) and
        delivers the rows still pending.

        Every missing row is rendered before any is written, so a template that cannot be
        rendered writes nothing.

        Args:
            inp_key: The notice's idempotency key.
            workflow_id: The workflow the notice belongs to, if any.
            run_id: That workflow's run (its first execution run id), if any.
            recipients: Who gets it, already looked up; duplicates by key are sent once.
            render_fn: ``(subject, body)`` for a recipient; called only for a row not yet queued.
            log: A logger to use (ids only); the activity's by default.

        Returns:
            How many outbox rows this call created and how many messages it sent.

        Raises:
            ApplicationError: ``TemplateError`` (retryable) when a template needs a field the
                notice does not supply; ``SmtpDeliveryFailed`` (retryable) for a transient SMTP
                failure; ``OutboxRowBusy`` (retryable) when another attempt is sending a row.
        """
        log = log if log is not None else _logger().bind(key=inp_key)
        by_key: dict[str, Recipient] = {}
        for recipient in recipients:
            by_key.setdefault(recipient.key_id, recipient)
        unique = list(by_key.values())
        with Session(self.engine, expire_on_commit=False) as session:
            found = {r.key_id: _find(session, f"{inp_key}:{r.key_id}") for r in unique}
            with template_errors(log):
                texts = {r.key_id: render_fn(r) for r in unique if found[r.key_id] is None}
            rows: list[OutboxMessage] = []
            queued = 0
            for recipient in unique:
                row = found[recipient.key_id]
                if row is None:
                    row, created = self._queue(
                        session, inp_key, workflow_id, run_id, recipient, texts[recipient.key_id]
                    )
                    queued += created
                rows.append(row)
            # Inside the session: a rollback in _queue expires the rows; reading one reloads it.
            pending = [row for row in rows if row.status == "pending"]
        sent = 0
        if self.smtp_host and pending:
            sent = self._deliver(pending, log)
        elif pending:
            log.info("notify.outbox_only", pending=[r.recipient_id for r in pending])
        log.info("notify.done", recipients=[r.id for r in unique], queued=queued, sent=sent)
        return NotifyResult(queued=queued, sent=sent)

    def _queue(
        self,
        session: Session,
        inp_key: str,
        workflow_id: str | None,
        run_id: str | None,
        recipient: Recipient,
        text: tuple[str, str],
    ) -> tuple[OutboxMessage, bool]:
        """Writes the outbox row for one recipient, or finds the one another attempt wrote
        first; ``(row, created)``."""
        key = f"{inp_key}:{recipient.key_id}"
        subject, body = text
        row = OutboxMessage(
            key=key,
            workflow_id=workflow_id,
            run_id=run_id,
            recipient_id=recipient.id,
            to_address=recipient.email,
            subject=subject,
            body=body,
            created_at=utcnow(),
        )
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            # Another attempt of this activity wrote the same key first: use its row.
            session.rollback()
            found = _find(session, key)
            if found is None:
                raise
            return found, False
        return row, True

    def _deliver(self, rows: list[OutboxMessage], log: Any) -> int:
        """Sends ``rows`` over one SMTP connection, claiming each row before it is sent.

        Before each message the attempt heartbeats (inside an activity), so an attempt that was
        cancelled or timed out stops there; then it claims the row with one conditional UPDATE
        (``claim_row``). Only a row this attempt claimed is sent; it is then marked sent (or its
        failure recorded) and the claim released in the same UPDATE. A row another live attempt
        has claimed is skipped, and the activity fails (retryably) at the end instead of
        reporting success while that row is unsent.

        A refused message raises a retryable ``ApplicationError`` whose message names the
        outbox row, not the address (SMTP errors quote addresses).
        """
        sent = 0
        busy: list[int] = []
        me = attempt_token()
        assert self.smtp_host is not None
        with smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            for row in rows:
                assert row.id is not None
                _checkpoint(row.id)
                # A cancel that arrives from here on lands after this row, never between
                # claiming it, sending it and recording that it was sent.
                with _shielded():
                    outcome = self._send_claimed(smtp, row, me, log)
                if outcome == "sent":
                    sent += 1
                elif outcome == "busy":
                    busy.append(row.id)
        if busy:
            raise ApplicationError(
                f"outbox row {busy[0]} is being sent by another attempt"
                + (f" (and {len(busy) - 1} more)" if len(busy) > 1 else ""),
                {"outbox_ids": busy},
                type="OutboxRowBusy",
            )
        return sent

    def _send_claimed(self, smtp: smtplib.SMTP, row: OutboxMessage, me: str, log: Any) -> str:
        """Claims ``row`` for ``me`` and sends it; ``sent``, ``failed`` (refused for good),
        ``busy`` (another live attempt has it) or ``done`` (another attempt finished it)."""
        assert row.id is not None
        if not claim_row(self.engine, row.id, me):
            if _still_pending(self.engine, row.id):
                log.warning("notify.row_busy", recipient_id=row.recipient_id, outbox_id=row.id)
                return "busy"
            log.info("notify.done_elsewhere", recipient_id=row.recipient_id, outbox_id=row.id)
            return "done"
        try:
            smtp.send_message(self._message(row))
        except smtplib.SMTPException as exc:
            # A 5xx refusal will not change on retry: record it and let the process go on; HR
            # sees the failed row in the outbox. Anything else stays pending for the retry.
            status = "failed" if _permanent(exc) else "pending"
            attempts, _ = _settle(self.engine, row.id, me, status)
            log.warning(
                "notify.send_failed",
                recipient_id=row.recipient_id,
                outbox_id=row.id,
                attempts=attempts,
                error=type(exc).__name__,
                permanent=status == "failed",
            )
            if status == "failed":
                return "failed"
            raise ApplicationError(
                f"SMTP delivery of outbox row {row.id} failed: {type(exc).__name__}",
                type="SmtpDeliveryFailed",
            ) from None
        except BaseException:
            # Not sent, or not known to be (the connection broke): free the row for the retry.
            release_claim(self.engine, row.id, me)
            raise
        _, held = _settle(self.engine, row.id, me, "sent")
        log.info("notify.sent", recipient_id=row.recipient_id, outbox_id=row.id)
        if not held:
            # This send outlasted the lease and another attempt took the row over; it may send
            # the message again (with the same Message-ID).
            log.warning("notify.claim_lost", recipient_id=row.recipient_id, outbox_id=row.id)
        return "sent"

    def _message(self, row: OutboxMessage) -> EmailMessage:
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


# ----- claims on outbox rows ---------------------------------------------------------------------

_OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]


def attempt_token() -> str:
    """Who is sending: unique to this delivery attempt (ids only)."""
    suffix = uuid.uuid4().hex[:12]
    if activity.in_activity():
        info = activity.info()
        return f"{info.activity_id}:{info.attempt}:{suffix}"
    return suffix


def claim_row(engine: Engine, row_id: int, me: str, now: datetime | None = None) -> bool:
    """Claims a pending outbox row for the attempt ``me``, in one conditional UPDATE.

    The row is claimed when it is still pending and unclaimed, or its claim is older than
    ``CLAIM_LEASE`` (an attempt that died while sending). At most one attempt wins.

    Returns:
        Whether ``me`` holds the claim now.
    """
    now = now or utcnow()
    table = _OUTBOX
    statement = (
        update(table)
        .where(table.c.id == row_id)
        .where(table.c.status == "pending")
        .where(or_(table.c.claimed_by.is_(None), table.c.claimed_at < now - CLAIM_LEASE))
        .values(claimed_by=me, claimed_at=now)
    )
    with engine.begin() as conn:
        return conn.execute(statement).rowcount == 1


def release_claim(engine: Engine, row_id: int, me: str) -> None:
    """Gives up ``me``'s claim on a row (nothing if ``me`` no longer holds it)."""
    table = _OUTBOX
    with engine.begin() as conn:
        conn.execute(
            update(table)
            .where(table.c.id == row_id)
            .where(table.c.claimed_by == me)
            .values(claimed_by=None, claimed_at=None)
        )


def _settle(engine: Engine, row_id: int, me: str, status: str) -> tuple[int, bool]:
    """Records one send of a claimed row (``sent``, ``failed`` or back to ``pending``) and
    releases the claim; ``(attempts, held)``, ``held`` false if the claim had been taken over."""
    table = _OUTBOX
    values: dict[str, Any] = {
        "status": status,
        "attempts": table.c.attempts + 1,
        "claimed_by": None,
        "claimed_at": None,
    }
    if status == "sent":
        values["sent_at"] = utcnow()
    with engine.begin() as conn:
        held = (
            conn.execute(
                update(table).where(table.c.id == row_id).where(table.c.claimed_by == me).values(**values)
            ).rowcount
            == 1
        )
        if not held and status == "sent":
            # Another attempt took the row over meanwhile; the record still says it went.
            conn.execute(
                update(table)
                .where(table.c.id == row_id)
                .where(table.c.status == "pending")
                .values(status="sent", sent_at=values["sent_at"], attempts=table.c.attempts + 1)
            )
        attempts = conn.execute(sa_select(table.c.attempts).where(table.c.id == row_id)).scalar_one()
    return attempts, held


def _still_pending(engine: Engine, row_id: int) -> bool:
    table = _OUTBOX
    with engine.connect() as conn:
        status = conn.execute(sa_select(table.c.status).where(table.c.id == row_id)).scalar_one()
    return status == "pending"


def _checkpoint(row_id: int) -> None:
    """Inside an activity: heartbeat, and stop if this attempt was cancelled or timed out."""
    if not activity.in_activity():
        return
    activity.heartbeat(row_id)
    if activity.is_cancelled():
        raise CancelledError("delivery attempt cancelled")


def _shielded() -> AbstractContextManager[Any]:
    if activity.in_activity():
        return activity.shield_thread_cancel_exception()
    return nullcontext()


def _permanent(exc: smtplib.SMTPException) -> bool:
    """True for a refusal the server says is final (5xx), false for transient failures."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


def _find(session: Session, key: str) -> OutboxMessage | None:
    return session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).first()


def outbox_for(engine: Engine, workflow_id: str | None = None) -> list[OutboxMessage]:
    """The outbox, oldest first, optionally only one workflow's messages.

    Args:
        engine: The system-of-record database.
        workflow_id: Only this workflow's messages, if given.

    Returns:
        The messages (detached rows, safe to read after the session closed).
    """
    with Session(engine, expire_on_commit=False) as session:
        query = select(OutboxMessage).order_by(col(OutboxMessage.id))
        if workflow_id is not None:
            query = query.where(OutboxMessage.workflow_id == workflow_id)
        return list(session.exec(query).all())
