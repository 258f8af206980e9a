"""Read-only commands over the record: the audit trail, the outbox, generated documents.

They read the store, not Temporal, so they answer for workflows long closed.
"""

from __future__ import annotations

from typing import Annotated

import typer
from sqlmodel import col, select

from schemas.tables import AuditEvent, Document, OutboxMessage
from service.cli_render import fmt_time
from service.cli_store import store, store_engine
from service.cli_support import CliError, load_settings, one_line, run


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
    """The notifications on record: to whom, what, and whether and when they were sent."""
    engine = store_engine(load_settings())

    async def body() -> None:
        query = select(OutboxMessage).order_by(col(OutboxMessage.id))
        if workflow_id:
            query = query.where(OutboxMessage.workflow_id == workflow_id)
        if person:
            query = query.where(OutboxMessage.recipient_id == person)
        with store(engine) as session:
            rows = session.exec(query).all()
        for row in rows:
            sent = fmt_time(row.sent_at) if row.sent_at else row.status
            typer.echo(f"{row.id:>5}  {row.recipient_id:<6} {sent:<20} {row.subject}")
        typer.echo(f"{len(rows)} message(s)")

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
