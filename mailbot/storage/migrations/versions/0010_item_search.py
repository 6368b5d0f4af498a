"""full-text search over items (SQLite FTS5, PostgreSQL tsvector), filled for existing items

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from mailbot.storage.search import TABLE, create_index, reindex_items

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BATCH = 500


def upgrade() -> None:
    bind = op.get_bind()
    create_index(bind, bind.dialect.name)
    session = Session(bind=bind)
    ids = [row[0] for row in bind.execute(sa.text("SELECT id FROM items ORDER BY id"))]
    for start in range(0, len(ids), BATCH):
        reindex_items(session, ids[start : start + BATCH])
    session.flush()


def downgrade() -> None:
    op.execute(f"DROP TABLE {TABLE}")
