"""Identity: the credential id on audit rows, local accounts, single-use decision links.

Revision ID: 0009
Revises: 0008

- ``auditevent.token_id``: the id (``jti``) of the signed credential an answer carried;
- ``localaccount``: argon2 password hashes of the embedded sign-in (``hr user set-password``);
- ``decisionlink``: the links mailed with notices, each usable once.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _columns(table: str) -> set[str]:
    if context.is_offline_mode():
        return set()
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    if "token_id" not in _columns("auditevent"):
        op.add_column("auditevent", sa.Column("token_id", sa.String(), nullable=True))
    op.create_table(
        "localaccount",
        sa.Column("person_id", sa.String(), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("person_id"),
        if_not_exists=True,
    )
    op.create_table(
        "decisionlink",
        sa.Column("token_id", sa.String(), nullable=False),
        sa.Column("person_id", sa.String(), nullable=False),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("step_id", sa.String(), nullable=False),
        sa.Column("outbox_key", sa.String(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_decisionlink_person_id"), "decisionlink", ["person_id"], unique=False, if_not_exists=True
    )


def downgrade() -> None:
    op.drop_table("decisionlink")
    op.drop_table("localaccount")
    with op.batch_alter_table("auditevent") as batch:
        batch.drop_column("token_id")
