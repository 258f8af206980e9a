"""What the workflow-test harnesses share: polling a query in real time, reading the audit,
waiting for the mailer to deliver what the workflows queued."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import Message
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.mailer import Mailer
from schemas.human_step import DecisionInput, DecisionReceipt
from schemas.tables import AuditEvent, OutboxMessage, ReviewCycle
from tests.smtp_server import SmtpSink

T = TypeVar("T")


@dataclass
class Harness:
    """What every process's test harness drives: the server, the store, SMTP and a task queue."""

    env: WorkflowEnvironment
    engine: Engine
    smtp: SmtpSink
    task_queue: str

    @property
    def client(self) -> Client:
        return self.env.client

    async def decide(self, handle: WorkflowHandle, actor: str, decision: str, **kw: Any) -> DecisionReceipt:
        """The shared human step's ``decide`` Update, signed for ``actor`` by the test client."""
        return await handle.execute_update(
            "decide", DecisionInput(actor_id=actor, decision=decision, **kw), result_type=DecisionReceipt
        )

    def audit(self, workflow_id: str) -> list[AuditEvent]:
        return audit_rows(self.engine, workflow_id)

    def outbox(self, workflow_id: str) -> list[OutboxMessage]:
        with Session(self.engine) as s:
            return list(
                s.exec(
                    select(OutboxMessage)
                    .where(OutboxMessage.workflow_id == workflow_id)
                    .order_by(col(OutboxMessage.id))
                ).all()
            )

    def notices(self, workflow_id: str, template: str) -> list[str]:
        """The recipients of a workflow's notices of ``template`` (from the outbox keys)."""
        return [m.recipient_id for m in self.outbox(workflow_id) if f":{template}:" in m.key]


async def poll_until(fetch: Callable[[], Awaitable[T]], predicate: Callable[[T], bool], timeout: float) -> T:
    """Calls ``fetch`` until ``predicate`` holds (real time: the test server's clock stays put)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await fetch()
        if predicate(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            shown = value.model_dump_json(indent=1) if hasattr(value, "model_dump_json") else value
            raise AssertionError(f"timed out; last status: {shown}")
        await asyncio.sleep(0.05)


def audit_rows(engine: Engine, workflow_id: str) -> list[AuditEvent]:
    """A workflow's audit rows, in the order written."""
    with Session(engine) as s:
        return list(
            s.exec(
                select(AuditEvent).where(AuditEvent.workflow_id == workflow_id).order_by(col(AuditEvent.id))
            ).all()
        )


def cycle_rows(engine: Engine, workflow_id: str) -> list[ReviewCycle]:
    """The review-cycle records of a workflow id, one per run, oldest first."""
    with Session(engine) as s:
        return list(
            s.exec(
                select(ReviewCycle)
                .where(ReviewCycle.workflow_id == workflow_id)
                .order_by(col(ReviewCycle.started_at))
            ).all()
        )


MAIL_FROM = "hr-workflows@city.example"


def mailer_for_tests(engine: Engine, smtp: SmtpSink, **options: object) -> Mailer:
    """The mailer the test workers run beside them: the service's, polling often."""
    values: dict = {"poll_seconds": 0.1} | options
    return Mailer(engine, smtp.host, smtp.port, MAIL_FROM, **values)


def undelivered(engine: Engine, workflow_id: str | None = None) -> list[OutboxMessage]:
    """Outbox rows (of one workflow, or all) neither sent nor failed yet."""
    with Session(engine) as s:
        query = select(OutboxMessage).where(col(OutboxMessage.status).in_(("pending", "sending")))
        if workflow_id is not None:
            query = query.where(OutboxMessage.workflow_id == workflow_id)
        return list(s.exec(query.order_by(col(OutboxMessage.id))).all())


async def delivered(
    engine: Engine, smtp: SmtpSink, workflow_id: str | None = None, timeout: float = 15
) -> list[Message]:
    """What the SMTP server received, once the mailer has delivered (or failed for good) every
    outbox row written so far (of ``workflow_id``, or all). Delivery runs apart from the
    workflows: a test that looks at the mail right after a step waits here first."""

    async def fetch() -> list[OutboxMessage]:
        return undelivered(engine, workflow_id)

    await poll_until(fetch, lambda rows: not rows, timeout)
    return list(smtp.messages)


def text_of(message: Message) -> str:
    """A delivered message's body as text (decoded from its transfer encoding)."""
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


async def mail_arrived(
    smtp: SmtpSink, predicate: Callable[[list[Message]], bool], timeout: float = 15
) -> list[Message]:
    """Polls the SMTP server's messages until ``predicate`` holds for them."""

    async def fetch() -> list[Message]:
        return list(smtp.messages)

    return await poll_until(fetch, predicate, timeout)
