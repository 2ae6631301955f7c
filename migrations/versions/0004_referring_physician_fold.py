"""study: ReferringPhysicianName case-folded for matching, filled from the existing names

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.db.patterns import fold

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('referring_physician_fold', sa.String(), nullable=False, server_default='')
        )
        batch_op.create_index(
            batch_op.f('ix_study_referring_physician_fold'), ['referring_physician_fold'], unique=False
        )
    # Fold in Python, as the index writer does: the same answers on SQLite and PostgreSQL.
    study = sa.table(
        'study',
        sa.column('id', sa.Integer()),
        sa.column('referring_physician', sa.String()),
        sa.column('referring_physician_fold', sa.String()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(study.c.id, study.c.referring_physician).where(study.c.referring_physician != '')
    ).all()
    for row in rows:
        connection.execute(
            study.update()
            .where(study.c.id == row.id)
            .values(referring_physician_fold=fold(row.referring_physician))
        )


def downgrade() -> None:
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_study_referring_physician_fold'))
        batch_op.drop_column('referring_physician_fold')
