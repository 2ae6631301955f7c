"""remote nodes: an AE title bound to a client certificate (its SHA-256 fingerprint)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('remote_node', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'tls_peer_fingerprint', sa.String(length=64), nullable=False, server_default=''
            )
        )


def downgrade() -> None:
    with op.batch_alter_table('remote_node', schema=None) as batch_op:
        batch_op.drop_column('tls_peer_fingerprint')
