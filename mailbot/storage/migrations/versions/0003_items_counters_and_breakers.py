"""items, counters and breakers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 12:12:07.390338
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "breakers",
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("tripped_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("project_key", sa.String(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("client_email", sa.String(length=320), nullable=True),
        sa.Column("client_name", sa.String(length=500), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=True),
        sa.Column("confidence", sa.Double(), nullable=True),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("escalate", sa.Boolean(), nullable=False),
        sa.Column("assignee", sa.String(length=320), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_key", "number", name="uq_item_number"),
        sa.UniqueConstraint("ref"),
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_items_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_client_email"), ["client_email"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_escalate"), ["escalate"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_needs_review"), ["needs_review"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_project_key"), ["project_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_status"), ["status"], unique=False)

    op.create_table(
        "project_counters",
        sa.Column("project_key", sa.String(length=16), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_key"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("item_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_events_item_id"), ["item_id"], unique=False)
        batch_op.create_foreign_key("fk_events_item_id", "items", ["item_id"], ["id"])

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("item_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("route", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_messages_item_id"), ["item_id"], unique=False)
        batch_op.create_foreign_key("fk_messages_item_id", "items", ["item_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        # WARNING: constraint name is None; this directive will fail as
        # rendered.  Add a name, or use a naming convention; see
        # https://alembic.sqlalchemy.org/en/latest/naming.html
        batch_op.drop_constraint("fk_messages_item_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_messages_item_id"))
        batch_op.drop_column("route")
        batch_op.drop_column("item_id")

    with op.batch_alter_table("events", schema=None) as batch_op:
        # WARNING: constraint name is None; this directive will fail as
        # rendered.  Add a name, or use a naming convention; see
        # https://alembic.sqlalchemy.org/en/latest/naming.html
        batch_op.drop_constraint("fk_events_item_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_events_item_id"))
        batch_op.drop_column("item_id")

    op.drop_table("project_counters")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_items_status"))
        batch_op.drop_index(batch_op.f("ix_items_project_key"))
        batch_op.drop_index(batch_op.f("ix_items_needs_review"))
        batch_op.drop_index(batch_op.f("ix_items_escalate"))
        batch_op.drop_index(batch_op.f("ix_items_client_email"))
        batch_op.drop_index(batch_op.f("ix_items_category"))

    op.drop_table("items")
    op.drop_table("breakers")
