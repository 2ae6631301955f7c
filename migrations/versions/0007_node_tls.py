"""remote nodes over DICOM TLS: the flag, the CA file, our client certificate and key

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('remote_node', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tls', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('tls_ca_file', sa.String(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('tls_cert_file', sa.String(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('tls_key_file', sa.String(), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('remote_node', schema=None) as batch_op:
        batch_op.drop_column('tls_key_file')
        batch_op.drop_column('tls_cert_file')
        batch_op.drop_column('tls_ca_file')
        batch_op.drop_column('tls')
