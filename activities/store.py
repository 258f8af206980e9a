"""Idempotent writes: every row a workflow writes has a unique ``key``; a retry finds it."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

RowT = TypeVar("RowT", bound=SQLModel)


def get_by_key(session: Session, model: type[RowT], key: str) -> RowT | None:
    return session.exec(select(model).where(model.key == key)).first()  # type: ignore[attr-defined]


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
