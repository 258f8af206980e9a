"""Read-only commands over the record: the audit trail, the outbox, generated documents.

They read the store, not Temporal, so they answer for workflows long closed.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer
from sqlmodel import col, select

from cli.render import fmt_time
from cli.store import store, store_engine
from cli.support import CliError, load_settings, one_line, run
from schemas.tables import AuditEvent, Document, OutboxMessage


def audit(workflow_id: Annotated[str, typer.Argument(help="Workflow id.")]) -> None:
    """Who decided what, when and why, for one workflow (oldest first)."""
    engine = store_engine(load_settings())

    async def body() -> None:
        with store(engine) as session:
            rows = session.exec(
                select(AuditEvent).where(AuditEvent.workflow_id == workflow_id).order_by(col(AuditEvent.id))
            ).all()
        if not rows:
            raise CliError(f"no audit record for {workflow_id}")
        for row in rows:
            actor = row.actor_id + (f" for {row.on_behalf_of}" if row.on_behalf_of else "")
            comment = f"  {one_line(row.comment)}" if row.comment else ""
            typer.echo(f"{fmt_time(row.at)}  {row.step_id:<16} {actor:<14} {row.action}{comment}")

    run(body())


def outbox(
    workflow_id: Annotated[
        str | None, typer.Option("--workflow", help="Only this workflow's messages.")
    ] = None,
    person: Annotated[str | None, typer.Option("--to", help="Only messages to this person id.")] = None,
) -> None:
    """The notifications on record: to whom, what, and how their delivery went.

    Per message: its status (pending, sending, sent, failed), the delivery attempts so far, the
    last one, when it was sent (or is next due), and the last error (the SMTP error's class and
    code). The mailer delivers apart from the workflows; a failing relay shows up here.
    """
    engine = store_engine(load_settings())

    async def body() -> None:
        query = select(OutboxMessage).order_by(col(OutboxMessage.id))
        if workflow_id:
            query = query.where(OutboxMessage.workflow_id == workflow_id)
        if person:
            query = query.where(OutboxMessage.recipient_id == person)
        with store(engine) as session:
            rows = session.exec(query).all()
        if rows:
            typer.echo(
                f"{'id':>5}  {'to':<6} {'status':<8} {'tries':>5}  {'last attempt':<20} "
                f"{'sent / next attempt':<20} {'last error':<26} subject"
            )
        for row in rows:
            if row.status == "sent":
                when = fmt_time(row.sent_at)
            elif row.status == "failed":
                when = "-"
            else:
                when = fmt_time(row.next_attempt_at)
            typer.echo(
                f"{row.id:>5}  {row.recipient_id:<6} {row.status:<8} {row.attempts:>5}  "
                f"{fmt_time(row.last_attempt_at):<20} {when:<20} {row.last_error or '-':<26} {row.subject}"
            )
        counts = Counter(row.status for row in rows)
        by_status = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        typer.echo(f"{len(rows)} message(s)" + (f": {by_status}" if by_status else ""))

    run(body())


def document(
    workflow_id: Annotated[str, typer.Argument(help="Workflow id.")],
    kind: Annotated[str, typer.Option(help="memo (to the Civil Service Board) or redline.")] = "memo",
) -> None:
    """Print a generated document of a workflow: its latest memo or redline."""
    engine = store_engine(load_settings())

    async def body() -> None:
        with store(engine) as session:
            row = session.exec(
                select(Document)
                .where(Document.workflow_id == workflow_id, Document.kind == kind)
                .order_by(col(Document.id).desc())
            ).first()
        if row is None:
            raise CliError(f"no {kind} for {workflow_id}")
        typer.echo(row.text, nl=not row.text.endswith("\n"))

    run(body())


def register(app: typer.Typer) -> None:
    """Adds ``audit``, ``outbox`` and ``document`` to the ``hr`` app."""
    app.command()(audit)
    app.command()(outbox)
    app.command()(document)
