"""Idempotent writes: every row a workflow writes has a unique ``key``; a retry finds it."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Engine, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import InstrumentedAttribute
from sqlmodel import Session, SQLModel, col, select
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

RowT = TypeVar("RowT", bound=SQLModel)


def get_by_key(session: Session, model: type[RowT], key: str) -> RowT | None:
    return session.exec(select(model).where(model.key == key)).first()  # type: ignore[attr-defined]


def lock_row(session: Session, column: Any, value: Any) -> None:
    """Holds the rows where ``column == value`` for this transaction's writers, before it reads:
    a no-op write, which is a row lock on PostgreSQL and the database's write lock on SQLite
    (where ``SELECT ... FOR UPDATE`` is ignored and two readers that both write collide)."""
    attribute = col(column)
    assert isinstance(attribute, InstrumentedAttribute)
    session.execute(update(attribute.class_).where(attribute == value).values({attribute.key: attribute}))


def insert_once(engine: Engine, row: RowT) -> tuple[RowT, bool]:
    """Inserts ``row`` unless a row with its key exists. Returns the stored row and whether it is new."""
    model = type(row)
    key = row.key  # type: ignore[attr-defined]
    with Session(engine, expire_on_commit=False) as session:
        existing = get_by_key(session, model, key)
        if existing is not None:
            return existing, False
        session.add(row)
        try:
            session.commit()
        except IntegrityError:  # a concurrent attempt won the race
            session.rollback()
            existing = get_by_key(session, model, key)
            if existing is None:
                raise
            return existing, False
        session.refresh(row)
        return row, True


class Unstorable(Interceptor):
    """Turns data the database can never store into a final failure, not endless retries.

    The contracts refuse such input at the door (``schemas/limits.py``); this is the last line:
    a ``DataError`` (a NUL byte PostgreSQL cannot hold, a value out of a column's range) fails
    the activity as non-retryable (``Unstorable``), naming the error's class, never the data, so
    the workflow records it and stops or goes on with a reason.
    """

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _UnstorableInbound(next)


class _UnstorableInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await self.next.execute_activity(input)
        except DataError as err:
            raise _final(err) from None


def _final(err: DataError) -> ApplicationError:
    kind = type(err.orig).__name__ if err.orig is not None else type(err).__name__
    return ApplicationError(
        f"the record cannot store this input ({kind})", type="Unstorable", non_retryable=True
    )
