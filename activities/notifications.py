"""Notifications: an outbox row per recipient; the mailer delivers them apart from the workflows.

The outbox is the system of record. ``notify`` renders one ``OutboxMessage`` per recipient,
keyed ``f"{inp.key}:{person_id}"``, and writes it ``pending``; that is all it does, so no step
waits on a mail server. A retried activity finds its rows instead of adding new ones. Delivery
runs apart (``activities/mailer.py``: beside every worker, or ``hr mailer``), with its own
retries and back-off, at least once per row; without an SMTP server the rows stay ``pending``
and the outbox is the delivery (``hr outbox`` lists it).

Rows are read, rendered and written ``QUEUE_CHUNK`` at a time, with a heartbeat before each
chunk, so a notice to every applicant of a large recruitment reports progress and an attempt
that timed out stops at its next chunk. Give the activities a ``heartbeat_timeout``.

The texts come from the templates in ``activities/templates/`` (``activities.rendering``);
a template that needs a field the notice does not supply fails the activity (retryably, type
``TemplateError``) before any row is written.

``queue`` is that step on its own, for recipients looked up elsewhere (``notify_applicants`` in
``activities/recruitment.py``: applicants are not people of the directory).

Logs carry ids only: never a person's name or e-mail address.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError, CancelledError

from activities import rendering
from activities.db import utcnow
from activities.directory import active_delegates
from activities.identity import DECISION_TEMPLATES, LinkIssuer
from activities.rendering import render_staff_notice, template_errors
from activities.store import insert_once
from schemas.human_step import NotifyInput, NotifyResult, StepRecords, StepRecordsWritten
from schemas.tables import AuditEvent, OutboxMessage, Person

QUEUE_CHUNK = 100
"""Rows looked up, rendered or written between two heartbeats (one transaction per chunk)."""

SIGNATURE = rendering.SIGNATURE
"""The signature under every notice (``activities/templates/_signature.txt``)."""

render = render_staff_notice
"""Renders a staff notice: ``render(template, params, name, workflow_id) -> (subject, body)``
(``activities.rendering.render_staff_notice``; the templates are ``activities/templates/staff/``)."""

T = TypeVar("T")


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


def chunks(items: Sequence[T], size: int = QUEUE_CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in slices of ``size``, heartbeating before each one (inside an activity)."""
    for start in range(0, len(items), size):
        checkpoint(start)
        yield items[start : start + size]


def checkpoint(progress: int) -> None:
    """Inside an activity: heartbeat (``progress`` as the details), and stop if this attempt
    was cancelled or timed out. Outside one, or in a local activity (which cannot heartbeat; its
    notices are a few rows): nothing."""
    if not activity.in_activity() or activity.info().is_local:
        return
    activity.heartbeat(progress)
    if activity.is_cancelled():
        raise CancelledError("attempt cancelled")


class NotificationActivities:
    """The ``notify`` activity: renders notices into the outbox.

    ``notify`` is synchronous: register it with a worker that has an ``activity_executor``.

    Args:
        engine: The system-of-record database.
        on_queued: Called after new rows were written (the mailer of this process, ``wake``),
            so delivery starts at once rather than at the mailer's next poll.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        on_queued: Callable[[], None] | None = None,
        links: LinkIssuer | None = None,
    ) -> None:
        self.engine = engine
        self.on_queued = on_queued
        self.links = links
        """Makes the decision link of a notice that asks for a decision (none when None)."""

    @activity.defn(name="notify")
    def notify(self, inp: NotifyInput) -> NotifyResult:
        """Queues one outbox message per recipient; the mailer delivers them.

        Args:
            inp: The recipients (person ids), template, parameters and idempotency key.

        Returns:
            How many outbox rows this call created (``sent`` is always 0: delivery is apart).

        Raises:
            ApplicationError: A recipient id is not in the directory (non-retryable); nothing
                is written in that case. ``TemplateError`` (retryable) when a field the
                template needs is not in ``inp.params``; nothing is written then either.
        """
        log = _logger().bind(key=inp.key, template=inp.template)
        with Session(self.engine) as session:
            recipients = _recipients(session, inp, log)
        return self.queue(
            inp.key, inp.workflow_id, recipients, self._render_for(inp), log=log, run_id=inp.run_id
        )

    def _render_for(self, inp: NotifyInput) -> Callable[[Recipient], tuple[str, str]]:
        """Renders ``inp`` for one recipient, with a decision link where the template asks one."""

        def render_for(recipient: Recipient) -> tuple[str, str]:
            params = inp.params
            step_id = params.get("step_id")
            if self.links and inp.template in DECISION_TEMPLATES and inp.workflow_id and step_id:
                outbox_key = f"{inp.key}:{recipient.key_id}"
                link = self.links.link(recipient.id, inp.workflow_id, step_id, outbox_key)
                params = params | {"decision_link": link}
            return render(inp.template, params, recipient.name, inp.workflow_id)

        return render_for

    @activity.defn(name="record_step")
    def record_step(self, inp: StepRecords) -> StepRecordsWritten:
        """One moment of a human step: the delegations in force (for a step opening), its audit
        rows, then its notices queued (``notify``), in one activity instead of one each, and in
        one transaction (one commit).

        Every row keeps its own key (run, step and event), so a retried attempt finds the rows
        an earlier one wrote and writes nothing twice; if another attempt writes one of them
        while this one runs (a unique key refuses it at the commit), nothing of this transaction
        is kept and the rows are written one at a time, each found or added (``_step_row_by_row``).
        Run as a local activity: the notices of a step go to its few people (``checkpoint`` does
        not heartbeat there).
        """
        try:
            return self._step_in_one_transaction(inp)
        except IntegrityError:
            return self._step_row_by_row(inp)

    def _step_in_one_transaction(self, inp: StepRecords) -> StepRecordsWritten:
        """``record_step``: every row not on record yet, looked up and rendered first, then
        written in one transaction. Raises ``IntegrityError`` (nothing written) if a row of the
        same key was written meanwhile."""
        written = StepRecordsWritten()
        new_audits: list[AuditEvent] = []
        new_messages: list[tuple[NotifyInput, list[OutboxMessage], list[str], Any]] = []
        with Session(self.engine, expire_on_commit=False) as session:
            if inp.delegations is not None:
                written.delegates = active_delegates(
                    session, set(inp.delegations.person_ids), inp.delegations.on
                )
            audits: dict[str, AuditEvent] = {}
            keys = list(dict.fromkeys(a.key for a in inp.audits))
            for start in range(0, len(keys), QUEUE_CHUNK):
                part = keys[start : start + QUEUE_CHUNK]
                audits |= {
                    row.key: row
                    for row in session.exec(select(AuditEvent).where(col(AuditEvent.key).in_(part)))
                }
            rows: list[AuditEvent] = []
            for a in inp.audits:
                row = audits.get(a.key)
                if row is None:
                    row = audits[a.key] = AuditEvent(**a.model_dump())
                    new_audits.append(row)
                rows.append(row)
            taken: set[str] = set()  # outbox keys of this transaction: two notices, one row
            for notice in inp.notices:
                log = _logger().bind(key=notice.key, template=notice.template)
                recipients = _recipients(session, notice, log)
                messages, keyed = _missing_messages(
                    session,
                    notice.key,
                    notice.workflow_id,
                    notice.run_id,
                    recipients,
                    self._render_for(notice),
                    log,
                    taken,
                )
                new_messages.append((notice, messages, keyed, log))
            added = [*new_audits, *(m for _, messages, _, _ in new_messages for m in messages)]
            if added:  # a retry that finds every row commits nothing
                session.add_all(added)
                session.commit()
        for row in new_audits:
            _logger().info("audit recorded", step_id=row.step_id, actor_id=row.actor_id, action=row.action)
        for row in rows:
            assert row.id is not None
            written.audit_ids.append(row.id)
        for _, messages, keyed, log in new_messages:
            log.info("notify.queued", recipients=keyed, queued=len(messages))
            written.queued += len(messages)
        if written.queued and self.on_queued is not None:
            self.on_queued()
        return written

    def _step_row_by_row(self, inp: StepRecords) -> StepRecordsWritten:
        """``record_step`` one row at a time, each found or added (a commit each): what a step
        moment falls back on when another attempt wrote some of its rows meanwhile."""
        written = StepRecordsWritten()
        if inp.delegations is not None:
            with Session(self.engine) as session:
                written.delegates = active_delegates(
                    session, set(inp.delegations.person_ids), inp.delegations.on
                )
        for a in inp.audits:
            row, created = insert_once(self.engine, AuditEvent(**a.model_dump()))
            if created:
                _logger().info("audit recorded", step_id=a.step_id, actor_id=a.actor_id, action=a.action)
            assert row.id is not None
            written.audit_ids.append(row.id)
        for notice in inp.notices:
            written.queued += self.notify(notice).queued
        return written

    def queue(
        self,
        inp_key: str,
        workflow_id: str | None,
        recipients: list[Recipient],
        render_fn: Callable[[Recipient], tuple[str, str]],
        *,
        log: Any = None,
        run_id: str | None = None,
    ) -> NotifyResult:
        """Writes one ``pending`` outbox row per recipient (keyed ``f"{inp_key}:{recipient.key_id}"``)
        that has none yet.

        Every missing row is rendered before any is written, so a template that cannot be
        rendered writes nothing. Rows are written ``QUEUE_CHUNK`` to a transaction; a chunk
        that meets a row another attempt wrote meanwhile is written again one row at a time.

        Args:
            inp_key: The notice's idempotency key.
            workflow_id: The workflow the notice belongs to, if any.
            run_id: That workflow's run (its first execution run id), if any.
            recipients: Who gets it, already looked up; duplicates by key get one row.
            render_fn: ``(subject, body)`` for a recipient; called only for a row not yet queued.
            log: A logger to use (ids only); the activity's by default.

        Returns:
            How many outbox rows this call created (``sent`` is 0: the mailer sends them).

        Raises:
            ApplicationError: ``TemplateError`` (retryable) when a template needs a field the
                notice does not supply.
        """
        log = log if log is not None else _logger().bind(key=inp_key)
        with Session(self.engine) as session:
            rows, keyed = _missing_messages(session, inp_key, workflow_id, run_id, recipients, render_fn, log)
            created = 0
            for chunk in chunks(rows):
                created += _write(session, list(chunk))
        if created and self.on_queued is not None:
            self.on_queued()
        log.info("notify.queued", recipients=keyed, queued=created)
        return NotifyResult(queued=created, sent=0)


def _recipients(session: Session, inp: NotifyInput, log: Any) -> list[Recipient]:
    """The people ``inp`` goes to, each once, looked up in the directory.

    Raises:
        ApplicationError: ``UnknownRecipient`` (non-retryable) for an id not in the directory.
    """
    recipients: list[Recipient] = []
    for chunk in chunks(list(dict.fromkeys(inp.recipient_ids))):
        people = {p.id: p for p in session.exec(select(Person).where(col(Person.id).in_(list(chunk))))}
        for person_id in chunk:
            person = people.get(person_id)
            if person is None:
                log.warning("notify.unknown_recipient", recipient_id=person_id)
                raise ApplicationError(
                    f"unknown recipient {person_id!r}",
                    type="UnknownRecipient",
                    non_retryable=True,
                )
            recipients.append(Recipient(id=person.id, name=person.name, email=person.email))
    return recipients


def _missing_messages(
    session: Session,
    inp_key: str,
    workflow_id: str | None,
    run_id: str | None,
    recipients: list[Recipient],
    render_fn: Callable[[Recipient], tuple[str, str]],
    log: Any,
    taken: set[str] | None = None,
) -> tuple[list[OutboxMessage], list[str]]:
    """The outbox rows of a notice that are not queued yet (nor in ``taken``, which gets their
    keys), rendered, not added; and the ids of everyone it goes to (for the log).

    Every missing row is rendered before any is returned, so a template that cannot be rendered
    (``TemplateError``) writes nothing."""
    by_key: dict[str, Recipient] = {}
    for recipient in recipients:
        by_key.setdefault(f"{inp_key}:{recipient.key_id}", recipient)
    taken = taken if taken is not None else set()
    queued_keys = _existing_keys(session, list(by_key)) | taken
    missing = [(key, r) for key, r in by_key.items() if key not in queued_keys]
    texts: dict[str, tuple[str, str]] = {}
    with template_errors(log):
        for chunk in chunks(missing):
            texts.update((key, render_fn(r)) for key, r in chunk)
    now = utcnow()
    taken.update(key for key, _ in missing)
    rows = [_row(key, workflow_id, run_id, r, texts[key], now) for key, r in missing]
    return rows, [r.id for r in by_key.values()]


def _row(
    key: str,
    workflow_id: str | None,
    run_id: str | None,
    recipient: Recipient,
    text: tuple[str, str],
    now: datetime,
) -> OutboxMessage:
    subject, body = text
    return OutboxMessage(
        key=key,
        workflow_id=workflow_id,
        run_id=run_id,
        recipient_id=recipient.id,
        to_address=recipient.email,
        subject=subject,
        body=body,
        created_at=now,
        next_attempt_at=now,
    )


def _write(session: Session, rows: list[OutboxMessage]) -> int:
    """Inserts ``rows`` in one transaction; how many are new. If another attempt wrote one of
    them first (the unique key), each is written on its own and the existing ones are kept."""
    session.add_all(rows)
    try:
        session.commit()
        return len(rows)
    except IntegrityError:
        session.rollback()
    created = 0
    for row in rows:
        # A copy: a row rolled back after its INSERT was flushed may keep the id it was given.
        fresh = OutboxMessage.model_validate(row.model_dump(exclude={"id"}))
        if _existing_keys(session, [fresh.key]):
            continue
        session.add(fresh)
        try:
            session.commit()
            created += 1
        except IntegrityError:  # written by another attempt after our look-up
            session.rollback()
    return created


def _existing_keys(session: Session, keys: list[str]) -> set[str]:
    """Which of ``keys`` already have an outbox row."""
    found: set[str] = set()
    for start in range(0, len(keys), QUEUE_CHUNK):
        part = keys[start : start + QUEUE_CHUNK]
        found |= set(session.exec(select(OutboxMessage.key).where(col(OutboxMessage.key).in_(part))))
    return found


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
