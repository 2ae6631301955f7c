"""remote nodes registry and transfer log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('remote_node',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('ae_title', sa.String(length=16), nullable=False),
    sa.Column('host', sa.String(), nullable=False),
    sa.Column('port', sa.Integer(), nullable=False),
    sa.Column('retrieve_method', sa.String(length=8), nullable=False),
    sa.Column('allowed_services', sa.String(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remote_node')),
    sa.UniqueConstraint('name', name=op.f('uq_remote_node_name'))
    )
    with op.batch_alter_table('remote_node', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_remote_node_ae_title'), ['ae_title'], unique=False)

    op.create_table('transfer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('node_name', sa.String(), nullable=False),
    sa.Column('ae_title', sa.String(length=16), nullable=False),
    sa.Column('peer_address', sa.String(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('total_images', sa.Integer(), nullable=False),
    sa.Column('total_bytes', sa.BigInteger(), nullable=False),
    sa.Column('done_images', sa.Integer(), nullable=False),
    sa.Column('failed_images', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer'))
    )
    with op.batch_alter_table('transfer', schema=None) as batch_op:
        batch_op.create_index('ix_transfer_direction_created', ['direction', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_status'), ['status'], unique=False)

    op.create_table('transfer_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transfer_pk', sa.Integer(), nullable=False),
    sa.Column('sop_uid', sa.String(length=64), nullable=False),
    sa.Column('series_uid', sa.String(length=64), nullable=False),
    sa.Column('study_uid', sa.String(length=64), nullable=False),
    sa.Column('patient_name', sa.String(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('error', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['transfer_pk'], ['transfer.id'], name=op.f('fk_transfer_item_transfer_pk_transfer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_item'))
    )
    with op.batch_alter_table('transfer_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfer_item_sop_uid'), ['sop_uid'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_item_transfer_pk'), ['transfer_pk'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('transfer_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfer_item_transfer_pk'))
        batch_op.drop_index(batch_op.f('ix_transfer_item_sop_uid'))
    op.drop_table('transfer_item')
    with op.batch_alter_table('transfer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfer_status'))
        batch_op.drop_index('ix_transfer_direction_created')
    op.drop_table('transfer')
    with op.batch_alter_table('remote_node', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remote_node_ae_title'))
    op.drop_table('remote_node')
