"""What the workflow-test harnesses share: polling a query in real time, reading the audit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from schemas.tables import AuditEvent, ReviewCycle

T = TypeVar("T")


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
