"""Saved interview-practice reports.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
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
        "interviewreport",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=False),
        sa.Column("decks", sa.JSON(), nullable=False),
        sa.Column("seconds_per_question", sa.Integer(), nullable=False),
        sa.Column("overall_score", sa.Float(), nullable=True),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("weakest_topics", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("interviewreport", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_interviewreport_started_at"), ["started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("interviewreport", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interviewreport_started_at"))
    op.drop_table("interviewreport")
