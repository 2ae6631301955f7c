"""patient and study: an index on every column the Database tab sorts by, so that a deep page
is a walk of that index rather than of the rows

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ('patient', 'patient_id'),
    ('patient', 'patient_name'),
    ('patient', 'birth_date'),
    ('patient', 'sex'),
    ('patient', 'num_studies'),
    ('patient', 'num_instances'),
    ('study', 'study_date'),
    ('study', 'study_time'),
)


def upgrade() -> None:
    for table, column in INDEXES:
        op.create_index(op.f(f'ix_{table}_{column}'), table, [column], unique=False)


def downgrade() -> None:
    for table, column in reversed(INDEXES):
        op.drop_index(op.f(f'ix_{table}_{column}'), table_name=table)
