"""Index notes by deck and source file.

Re-importing a file looks up the notes that file made in its deck (to find the ones gone
from it); without this index that meant reading the whole deck, which made importing into a
100,000-card deck four times slower than into a new one.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.create_index("ix_note_deck_source", ["deck_id", "source_file"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.drop_index("ix_note_deck_source")
