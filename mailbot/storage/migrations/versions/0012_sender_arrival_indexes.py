"""a sender's mails by arrival, a message's outgoing mail by kind; no index on state alone

The hourly answer limit and the repeat check look up a sender's mails of the last hour
(of one subject, for a repeat); with an index on the sender alone they read every mail the
sender ever wrote. The state alone is indexed twice (also with the due time): every stage
writes both.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 13:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_messages_sender_arrival", "messages", ["from_email", "arrived_at", "subject_normalized"]
    )
    op.drop_index("ix_messages_from_email", table_name="messages")
    op.create_index("ix_outbox_message_kind", "outbox", ["message_pk", "kind"])
    op.drop_index("ix_outbox_message_pk", table_name="outbox")
    op.drop_index("ix_messages_state", table_name="messages")


def downgrade() -> None:
    op.create_index("ix_messages_state", "messages", ["state"])
    op.create_index("ix_outbox_message_pk", "outbox", ["message_pk"])
    op.drop_index("ix_outbox_message_kind", table_name="outbox")
    op.create_index("ix_messages_from_email", "messages", ["from_email"])
    op.drop_index("ix_messages_sender_arrival", table_name="messages")
