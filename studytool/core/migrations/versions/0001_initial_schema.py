"""Initial schema: decks, notes, cards with FSRS state, review log, settings.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deck",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deck", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deck_name"), ["name"], unique=True)

    op.create_table(
        "setting",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deck_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("question", sa.String(), nullable=False),
        sa.Column("answer", sa.String(), nullable=False),
        sa.Column("context", sa.String(), nullable=False),
        sa.Column("rubric", sa.JSON(), nullable=False),
        sa.Column("hints", sa.JSON(), nullable=False),
        sa.Column("follow_ups", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("demo", sa.String(), nullable=True),
        sa.Column("source_file", sa.String(), nullable=True),
        sa.Column("source_line", sa.Integer(), nullable=True),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.Column("removed_from_source", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["deck_id"], ["deck.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("deck_id", "key", name="uq_note_deck_key"),
    )
    op.create_table(
        "card",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("note_id", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("stability", sa.Float(), nullable=True),
        sa.Column("difficulty", sa.Float(), nullable=True),
        sa.Column("due", sa.DateTime(), nullable=False),
        sa.Column("last_review", sa.DateTime(), nullable=True),
        sa.Column("reps", sa.Integer(), nullable=False),
        sa.Column("lapses", sa.Integer(), nullable=False),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("buried_until", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["note_id"], ["note.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("note_id", "ordinal", name="uq_card_note_ordinal"),
    )
    with op.batch_alter_table("card", schema=None) as batch_op:
        batch_op.create_index(
            "ix_card_learning",
            ["due"],
            unique=False,
            sqlite_where=sa.text("suspended = 0 AND reps > 0 AND state != 2"),
            postgresql_where=sa.text("suspended = false AND reps > 0 AND state != 2"),
        )
        batch_op.create_index(
            "ix_card_review",
            ["due"],
            unique=False,
            sqlite_where=sa.text("suspended = 0 AND reps > 0 AND state = 2"),
            postgresql_where=sa.text("suspended = false AND reps > 0 AND state = 2"),
        )
        batch_op.create_index(
            "ix_card_new",
            ["note_id", "ordinal"],
            unique=False,
            sqlite_where=sa.text("suspended = 0 AND reps = 0"),
            postgresql_where=sa.text("suspended = false AND reps = 0"),
        )

    op.create_table(
        "reviewlog",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("state_before", sa.Integer(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("typed_answer", sa.String(), nullable=True),
        sa.Column("undo", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["card.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reviewlog", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviewlog_card_id"), ["card_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reviewlog_reviewed_at"), ["reviewed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reviewlog", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reviewlog_reviewed_at"))
        batch_op.drop_index(batch_op.f("ix_reviewlog_card_id"))

    op.drop_table("reviewlog")
    with op.batch_alter_table("card", schema=None) as batch_op:
        batch_op.drop_index("ix_card_new")
        batch_op.drop_index("ix_card_review")
        batch_op.drop_index("ix_card_learning")

    op.drop_table("card")
    op.drop_table("note")
    op.drop_table("setting")
    with op.batch_alter_table("deck", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deck_name"))

    op.drop_table("deck")
