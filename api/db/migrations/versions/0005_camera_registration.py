"""camera registration: zones and cameras as the worker's config has them

Issue 17: the camera page showed "0 zones" and the zone editor an empty list
while the worker ran the zones of its config file. Workers now register each
camera (grid cell, address, position, zones with their kind and rules); a zone
remembers whether it still follows the config ('config') or was made or edited
in the API ('dashboard', which then wins). Rows from before were made in the
API, so they start as 'dashboard'.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cameras', schema=None) as batch_op:
        batch_op.add_column(sa.Column('config_worker', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('config_registered_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('zones', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=16), nullable=False, server_default='dashboard'))
        batch_op.add_column(sa.Column('kind', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('rules', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('zones', schema=None) as batch_op:
        batch_op.drop_column('rules')
        batch_op.drop_column('kind')
        batch_op.drop_column('origin')
    with op.batch_alter_table('cameras', schema=None) as batch_op:
        batch_op.drop_column('config_registered_at')
        batch_op.drop_column('config_worker')
