"""connectors: pushes to the team's tracker and chat, items' tracker issues, poll cursors

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mailbot.storage.types import UtcDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pushes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connector", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("message_pk", sa.Integer(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=300), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("remote_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("done_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.ForeignKeyConstraint(["message_pk"], ["messages.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    op.create_index("ix_pushes_due", "pushes", ["state", "next_attempt_at"])
    op.create_index("ix_pushes_connector", "pushes", ["connector"])
    op.create_index("ix_pushes_item_id", "pushes", ["item_id"])
    op.create_index("ix_pushes_done_at", "pushes", ["done_at"])
    op.create_table(
        "tracker_links",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("connector", sa.String(length=100), nullable=False),
        sa.Column("remote_id", sa.String(length=200), nullable=False),
        sa.Column("remote_key", sa.String(length=200), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("remote_status", sa.String(length=100), nullable=True),
        sa.Column("synced_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.PrimaryKeyConstraint("item_id"),
        sa.UniqueConstraint("connector", "remote_id", name="uq_tracker_remote"),
    )
    op.create_table(
        "connector_cursors",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("polled_at", UtcDateTime(), nullable=True),
        sa.Column("status_event_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("connector_cursors")
    op.drop_table("tracker_links")
    op.drop_index("ix_pushes_done_at", table_name="pushes")
    op.drop_index("ix_pushes_item_id", table_name="pushes")
    op.drop_index("ix_pushes_connector", table_name="pushes")
    op.drop_index("ix_pushes_due", table_name="pushes")
    op.drop_table("pushes")
