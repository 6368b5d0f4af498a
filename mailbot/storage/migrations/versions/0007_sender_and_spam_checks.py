"""who sent each message and whether it is spam, as checked at the classify stage

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable without a default: SQLite adds these in place (mail already stored was
    # never checked, and says so by NULL).
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender_check", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("spam_check", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("sender_status", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("spam_status", sa.String(length=12), nullable=True))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_messages_sender_status"), ["sender_status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_messages_spam_status"), ["spam_status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_spam_status"))
        batch_op.drop_index(batch_op.f("ix_messages_sender_status"))
        batch_op.drop_column("spam_status")
        batch_op.drop_column("sender_status")
        batch_op.drop_column("spam_check")
        batch_op.drop_column("sender_check")
