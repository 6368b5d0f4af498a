"""arrival time of each message; breakers that expire

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# A constant default: SQLite adds such a column in place, where anything else rebuilds the
# table, which its foreign keys refuse once there is mail in it.
EPOCH = "1970-01-01 00:00:00"


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "arrived_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=EPOCH,
            )
        )
    # Mail stored before arrival was recorded: the best we know is when we read it.
    messages = sa.table("messages", sa.column("arrived_at"), sa.column("received_at"))
    op.execute(messages.update().values(arrived_at=messages.c.received_at))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_messages_arrived_at"), ["arrived_at"], unique=False)

    with op.batch_alter_table("breakers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "expires_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=EPOCH,
            )
        )
    # Breakers from before expiry never ended (and silenced real clients): with the epoch
    # as their end, they are over.


def downgrade() -> None:
    with op.batch_alter_table("breakers", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_arrived_at"))
        batch_op.drop_column("arrived_at")
