"""Notifications: an outbox row per recipient, delivered by SMTP when a server is configured.

The outbox is the system of record. ``notify`` writes one ``OutboxMessage`` per recipient, keyed
``f"{inp.key}:{person_id}"``, so a retried activity finds its rows instead of adding new ones;
a row already ``sent`` is never sent again. Without an SMTP server the rows stay ``pending``
and the outbox is the delivery (``hr outbox`` lists it).

``queue_and_deliver`` is that queue-and-send step on its own, for recipients looked up
elsewhere (``notify_applicants`` in ``activities/recruitment.py``: applicants are not people
of the directory).

Logs carry ids only: never a person's name or e-mail address.
"""

from __future__ import annotations

import hashlib
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.db import utcnow
from schemas.human_step import NotifyInput, NotifyResult
from schemas.tables import OutboxMessage, Person

SMTP_TIMEOUT_SECONDS = 30
SIGNATURE = "Human Resources\nCity Employee Services"

_ACTION = (
    "Please record your answer ({allowed}) by {due_at}. If you cannot, tell Human Resources "
    "so the step can be delegated or its due date moved."
)

TEMPLATES: dict[str, tuple[str, str]] = {
    "step_opened": (
        "Action needed: {step_title} (due {due_at})",
        'Dear {name},\n\nYour answer is needed on "{step_title}" in {workflow_id}.\n\n' + _ACTION,
    ),
    "reminder": (
        "Reminder: {step_title} is due {due_at}",
        'Dear {name},\n\nThis is a reminder that your answer on "{step_title}" in '
        "{workflow_id} is still outstanding.\n\n" + _ACTION,
    ),
    "overdue": (
        "Overdue: {step_title} (was due {due_at})",
        'Dear {name},\n\nYour answer on "{step_title}" in {workflow_id} was due {due_at} and '
        "has not been received. The step has been referred as the review procedure provides; "
        "please answer now ({allowed}).",
    ),
    "escalation": (
        "Escalated to you: {step_title} is overdue",
        'Dear {name},\n\n"{step_title}" in {workflow_id} was due {due_at}. These people have '
        "not answered: {overdue}. Please follow up with them, or answer for them if you hold "
        "their authority.",
    ),
    "decision_recorded": (
        "Decision recorded for you: {step_title}",
        'Dear {name},\n\nA decision of "{decision}" was recorded on your behalf on '
        '"{step_title}" in {workflow_id}. If this is not what you intended, contact Human '
        "Resources.",
    ),
    "outcome": (
        "Outcome of {workflow_id}: {outcome}",
        "Dear {name},\n\nThe process {workflow_id} has finished: {outcome}.\n\n{details}",
    ),
}
"""Subject and body per template. Placeholders: ``name``, ``workflow_id``, ``details`` and the
``NotifyInput.params`` (``step_title``, ``due_at``, ``allowed``, ``overdue``, ``decision``,
``outcome``, ...); a missing one renders as ``(not stated)``."""

GENERIC: tuple[str, str] = (
    "Human Resources notice: {template} ({workflow_id})",
    "Dear {name},\n\nThere is an update on {workflow_id}.\n\n{details}",
)
"""Used for a template name that ``TEMPLATES`` does not know."""

_HIDDEN_IN_DETAILS = {"workflow_id", "outcome"}


class _Params(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "(not stated)"


def render(template: str, params: dict[str, str], name: str, workflow_id: str | None) -> tuple[str, str]:
    """Renders a notification's subject and body.

    Args:
        template: A key of ``TEMPLATES``; other names use ``GENERIC``.
        params: The values for the placeholders.
        name: The recipient's name (the greeting).
        workflow_id: The workflow the notice is about, if any.

    Returns:
        ``(subject, body)``; the body ends with the office's signature.
    """
    subject_t, body_t = TEMPLATES.get(template, GENERIC)
    details = "\n".join(
        f"{key}: {value}" for key, value in sorted(params.items()) if key not in _HIDDEN_IN_DETAILS
    )
    values = _Params(params)
    values.update(
        name=name,
        template=template,
        workflow_id=workflow_id or params.get("workflow_id") or "(no workflow)",
        details=details,
    )
    subject = " ".join(subject_t.format_map(values).split())
    body = body_t.format_map(values).rstrip() + "\n\n" + SIGNATURE + "\n"
    return subject, body


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
                is written in that case.
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

        return self.queue_and_deliver(inp.key, inp.workflow_id, recipients, render_for, log=log)

    def queue_and_deliver(
        self,
        inp_key: str,
        workflow_id: str | None,
        recipients: list[Recipient],
        render_fn: Callable[[Recipient], tuple[str, str]],
        *,
        log: Any = None,
    ) -> NotifyResult:
        """Queues one outbox row per recipient (keyed ``f"{inp_key}:{recipient.key_id}"``) and
        delivers the rows still pending.

        Args:
            inp_key: The notice's idempotency key.
            workflow_id: The workflow the notice belongs to, if any.
            recipients: Who gets it, already looked up; duplicates by key are sent once.
            render_fn: ``(subject, body)`` for a recipient; called only for a row not yet queued.
            log: A logger to use (ids only); the activity's by default.

        Returns:
            How many outbox rows this call created and how many messages it sent.
        """
        log = log if log is not None else _logger().bind(key=inp_key)
        by_key: dict[str, Recipient] = {}
        for recipient in recipients:
            by_key.setdefault(recipient.key_id, recipient)
        unique = list(by_key.values())
        with Session(self.engine, expire_on_commit=False) as session:
            rows: list[OutboxMessage] = []
            queued = 0
            for recipient in unique:
                row, created = self._queue(session, inp_key, workflow_id, recipient, render_fn)
                rows.append(row)
                queued += created
            sent = 0
            pending = [row for row in rows if row.status == "pending"]
            if self.smtp_host and pending:
                sent = self._deliver(session, pending, log)
            elif pending:
                log.info("notify.outbox_only", pending=[r.recipient_id for r in pending])
        log.info("notify.done", recipients=[r.id for r in unique], queued=queued, sent=sent)
        return NotifyResult(queued=queued, sent=sent)

    def _queue(
        self,
        session: Session,
        inp_key: str,
        workflow_id: str | None,
        recipient: Recipient,
        render_fn: Callable[[Recipient], tuple[str, str]],
    ) -> tuple[OutboxMessage, bool]:
        """The outbox row for one recipient, created if missing; ``(row, created)``."""
        key = f"{inp_key}:{recipient.key_id}"
        found = _find(session, key)
        if found is not None:
            return found, False
        subject, body = render_fn(recipient)
        row = OutboxMessage(
            key=key,
            workflow_id=workflow_id,
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

    def _deliver(self, session: Session, rows: list[OutboxMessage], log: Any) -> int:
        """Sends ``rows`` over one SMTP connection, committing each row as it is sent.

        A refused message raises a retryable ``ApplicationError`` whose message names the
        outbox row, not the address (SMTP errors quote addresses).
        """
        sent = 0
        assert self.smtp_host is not None
        with smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            for row in rows:
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
                try:
                    smtp.send_message(msg)
                except smtplib.SMTPException as exc:
                    row.attempts += 1
                    if _permanent(exc):
                        # A 5xx refusal will not change on retry: record it and let the
                        # process go on; HR sees the failed row in the outbox.
                        row.status = "failed"
                    session.add(row)
                    session.commit()
                    log.warning(
                        "notify.send_failed",
                        recipient_id=row.recipient_id,
                        outbox_id=row.id,
                        attempts=row.attempts,
                        error=type(exc).__name__,
                        permanent=row.status == "failed",
                    )
                    if row.status == "failed":
                        continue
                    raise ApplicationError(
                        f"SMTP delivery of outbox row {row.id} failed: {type(exc).__name__}",
                        type="SmtpDeliveryFailed",
                    ) from None
                row.status = "sent"
                row.sent_at = utcnow()
                row.attempts += 1
                session.add(row)
                session.commit()
                sent += 1
                log.info("notify.sent", recipient_id=row.recipient_id, outbox_id=row.id)
        return sent


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
