"""grid cell polygon: each cell's outline on the district map

Issue 17: the operations centre's wall map draws every grid cell (and through
them its community and street) coloured by its baseline. The outline is a
GeoJSON Polygon in WGS-84, stored as JSON; cells without one stay off the map.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 14:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('grid_cells', schema=None) as batch_op:
        batch_op.add_column(sa.Column('polygon', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('grid_cells', schema=None) as batch_op:
        batch_op.drop_column('polygon')
