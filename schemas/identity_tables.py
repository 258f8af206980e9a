"""Sign-in's tables: local accounts (the embedded default) and single-use decision links."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class LocalAccount(SQLModel, table=True):
    """A person's password for the embedded sign-in (``hr user set-password``), argon2-hashed.
    In production the city's identity provider signs people in and this table stays empty."""

    person_id: str = Field(primary_key=True, foreign_key="person.id")
    password_hash: str
    updated_at: datetime


class DecisionLink(SQLModel, table=True):
    """A decision link mailed with a notice: its token's id, whom and what it is for, until when,
    and when it was used (once; a second use is refused)."""

    token_id: str = Field(primary_key=True)
    person_id: str = Field(index=True)
    workflow_id: str
    step_id: str
    outbox_key: str
    expires_at: datetime
    created_at: datetime
    used_at: datetime | None = None
