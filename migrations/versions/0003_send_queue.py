"""outgoing send queue: transfer description, attempts, retry time, owner; item file data

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('transfer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.String(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('owner', sa.String(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_transfer_updated_at'), ['updated_at'], unique=False)

    with op.batch_alter_table('transfer_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sop_class_uid', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('transfer_syntax', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('file_path', sa.String(), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('transfer_item', schema=None) as batch_op:
        batch_op.drop_column('file_path')
        batch_op.drop_column('transfer_syntax')
        batch_op.drop_column('sop_class_uid')

    with op.batch_alter_table('transfer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfer_updated_at'))
        batch_op.drop_column('updated_at')
        batch_op.drop_column('owner')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('description')
