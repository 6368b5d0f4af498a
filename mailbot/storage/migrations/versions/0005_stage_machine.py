"""stage machine: per-message claims, due times and the failed stage; outbox claims

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

EPOCH = "1970-01-01 00:00:00"


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_stage", sa.String(length=20), nullable=True))
        # A constant default: SQLite adds such a column in place, where anything else
        # rebuilds the table, which its foreign keys refuse once there is mail in it.
        batch_op.add_column(
            sa.Column(
                "next_attempt_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=EPOCH,  # due at once
            )
        )
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))
        batch_op.create_index("ix_messages_due", ["state", "next_attempt_at"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))

    # Rows from before the stage machine: a filed message had its acknowledgement decided
    # in the same transaction, so it is done; a parsed one with a verdict was classified;
    # a failed one failed in parsing when nothing was parsed, else in filing.
    messages = sa.table(
        "messages",
        sa.column("state", sa.String),
        sa.column("failed_stage", sa.String),
        sa.column("category", sa.String),
        sa.column("message_id", sa.String),
    )
    op.execute(messages.update().where(messages.c.state == "filed").values(state="answered"))
    op.execute(
        messages.update()
        .where(messages.c.state == "parsed", messages.c.category.is_not(None))
        .values(state="classified")
    )
    for state in ("failed", "set_aside"):
        op.execute(
            messages.update()
            .where(messages.c.state == state, messages.c.message_id.is_(None))
            .values(failed_stage="parse")
        )
        op.execute(
            messages.update()
            .where(messages.c.state == state, messages.c.message_id.is_not(None))
            .values(failed_stage="file")
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("claimed_by")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_due")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("failed_stage")
