"""Store the automatic and final grade of typed answers with each review.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reviewlog", schema=None) as batch_op:
        batch_op.add_column(sa.Column("auto_score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("auto_rating", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("auto_grade", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("final_grade", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reviewlog", schema=None) as batch_op:
        batch_op.drop_column("final_grade")
        batch_op.drop_column("auto_grade")
        batch_op.drop_column("auto_rating")
        batch_op.drop_column("auto_score")
