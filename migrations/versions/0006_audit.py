"""audit trail: append-only hash-chained records and the chain's head / forwarding mark

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = '0' * 64  # core.audit.chain.GENESIS: the prev_hash of record 1


def upgrade() -> None:
    op.create_table(
        'audit_record',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.Column('event_code', sa.String(length=16), nullable=False),
        sa.Column('action', sa.String(length=1), nullable=False),
        sa.Column('outcome', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.String(), nullable=False),
        sa.Column('patients_fold', sa.String(), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('source_key', sa.String(), nullable=True),
        sa.Column('prev_hash', sa.String(length=64), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_record')),
        sa.UniqueConstraint('source_key', name=op.f('uq_audit_record_source_key')),
    )
    with op.batch_alter_table('audit_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_record_event_code'), ['event_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_record_recorded_at'), ['recorded_at'], unique=False)

    state = op.create_table(
        'audit_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('last_id', sa.Integer(), nullable=False),
        sa.Column('last_hash', sa.String(length=64), nullable=False),
        sa.Column('forwarded_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_state')),
    )
    op.bulk_insert(state, [{'id': 1, 'last_id': 0, 'last_hash': GENESIS, 'forwarded_id': 0}])


def downgrade() -> None:
    with op.batch_alter_table('audit_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_record_recorded_at'))
        batch_op.drop_index(batch_op.f('ix_audit_record_event_code'))

    op.drop_table('audit_state')
    op.drop_table('audit_record')
