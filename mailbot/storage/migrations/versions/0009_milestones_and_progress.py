"""milestones, a project's overall status, items' target dates and waiting on the client,
a report's note from the PM, and when mailbot started watching each mailbox

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mailbot.storage.types import UtcDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "milestones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_key", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_key", "name", name="uq_milestone_name"),
    )
    op.create_index("ix_milestones_project_key", "milestones", ["project_key"])
    op.create_table(
        "project_states",
        sa.Column("project_key", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.Column("set_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("project_key"),
    )
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("target_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("waiting_since", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("waiting_note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("needed_by", sa.Date(), nullable=True))
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
    with op.batch_alter_table("cursors") as batch:
        batch.add_column(sa.Column("started_at", UtcDateTime(), nullable=True))
    # Mailboxes fetched before this version: watching since their last fetch at the latest.
    op.execute("UPDATE cursors SET started_at = last_fetch_at")


def downgrade() -> None:
    with op.batch_alter_table("cursors") as batch:
        batch.drop_column("started_at")
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("note")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("needed_by")
        batch.drop_column("waiting_note")
        batch.drop_column("waiting_since")
        batch.drop_column("target_date")
    op.drop_table("project_states")
    op.drop_index("ix_milestones_project_key", table_name="milestones")
    op.drop_table("milestones")
