"""baseline: work orders, evidence, camera status

The schema as metadata.create_all made it before migrations existed; such
databases are stamped at this revision (api.db.migrate.upgrade).

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 17:02:31.826509
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op



revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Long because a migration is one schema step read top to bottom, as alembic wrote it;
    splitting it would only scatter the tables of one revision."""
    op.create_table('cameras',
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('retry_in_s', sa.Float(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('last_online_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('camera_id', name=op.f('pk_cameras'))
    )
    op.create_table('work_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_no', sa.String(length=48), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('payload_sha256', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('category_code', sa.String(length=32), nullable=False),
    sa.Column('category_name', sa.String(length=128), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.Column('zone_id', sa.String(length=64), nullable=False),
    sa.Column('rule_id', sa.String(length=64), nullable=False),
    sa.Column('event_id', sa.String(length=128), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('model_name', sa.String(length=128), nullable=False),
    sa.Column('model_version', sa.String(length=64), nullable=False),
    sa.Column('boxes', sa.JSON(), nullable=False),
    sa.Column('grid_cell', sa.String(length=64), nullable=True),
    sa.Column('address', sa.String(length=256), nullable=True),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_orders')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_work_orders_idempotency_key')),
    sa.UniqueConstraint('order_no', name=op.f('uq_work_orders_order_no')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_orders_camera_id'), ['camera_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_orders_category_code'), ['category_code'], unique=False)
        batch_op.create_index('ix_work_orders_detected_at_id', ['detected_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_orders_grid_cell'), ['grid_cell'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_orders_priority'), ['priority'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_orders_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_orders_zone_id'), ['zone_id'], unique=False)

    op.create_table('camera_status_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('retry_in_s', sa.Float(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.camera_id'], name=op.f('fk_camera_status_events_camera_id_cameras'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_camera_status_events'))
    )
    with op.batch_alter_table('camera_status_events', schema=None) as batch_op:
        batch_op.create_index('ix_camera_status_events_camera_id_at', ['camera_id', 'at'], unique=False)

    op.create_table('evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('path', sa.String(length=512), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], name=op.f('fk_evidence_work_order_id_work_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence'))
    )
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_work_order_id'), ['work_order_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_work_order_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_sha256'))

    op.drop_table('evidence')
    with op.batch_alter_table('camera_status_events', schema=None) as batch_op:
        batch_op.drop_index('ix_camera_status_events_camera_id_at')

    op.drop_table('camera_status_events')
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_orders_zone_id'))
        batch_op.drop_index(batch_op.f('ix_work_orders_status'))
        batch_op.drop_index(batch_op.f('ix_work_orders_priority'))
        batch_op.drop_index(batch_op.f('ix_work_orders_grid_cell'))
        batch_op.drop_index('ix_work_orders_detected_at_id')
        batch_op.drop_index(batch_op.f('ix_work_orders_category_code'))
        batch_op.drop_index(batch_op.f('ix_work_orders_camera_id'))

    op.drop_table('work_orders')
    op.drop_table('cameras')
