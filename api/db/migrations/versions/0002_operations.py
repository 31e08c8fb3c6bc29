"""operations centre: workflow, timeline, grid map, zones, webhooks

Issue 4. Cameras may now be registered before they report, so their status
columns become nullable; SQLite rebuilds those tables (batch mode) with
foreign keys off (see api.db.migrate).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 17:02:34.215555
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op



revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Long because a migration is one schema step read top to bottom, as alembic wrote it;
    splitting it would only scatter the tables of one revision."""
    op.create_table('teams',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('department', sa.String(length=128), nullable=False),
    sa.Column('contact', sa.String(length=128), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_teams'))
    )
    op.create_table('webhooks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=512), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('description', sa.String(length=256), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhooks'))
    )
    op.create_table('grid_cells',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=True),
    sa.Column('admin_area', sa.String(length=64), nullable=True),
    sa.Column('street', sa.String(length=64), nullable=True),
    sa.Column('community', sa.String(length=64), nullable=True),
    sa.Column('team_code', sa.String(length=64), nullable=True),
    sa.Column('manager', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['team_code'], ['teams.code'], name=op.f('fk_grid_cells_team_code_teams'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_grid_cells'))
    )
    op.create_table('order_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('payload_sha256', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('event_id', sa.String(length=128), nullable=False),
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.Column('work_order_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], name=op.f('fk_order_events_work_order_id_work_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_events')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_order_events_idempotency_key'))
    )
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_events_event_id'), ['event_id'], unique=False)

    op.create_table('timeline_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_status', sa.String(length=24), nullable=True),
    sa.Column('to_status', sa.String(length=24), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], name=op.f('fk_timeline_entries_work_order_id_work_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timeline_entries'))
    )
    with op.batch_alter_table('timeline_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_timeline_entries_work_order_id'), ['work_order_id'], unique=False)

    op.create_table('webhook_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('webhook_id', sa.Integer(), nullable=False),
    sa.Column('timeline_entry_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['timeline_entry_id'], ['timeline_entries.id'], name=op.f('fk_webhook_deliveries_timeline_entry_id_timeline_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['webhook_id'], ['webhooks.id'], name=op.f('fk_webhook_deliveries_webhook_id_webhooks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_state_next', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_deliveries_webhook_id'), ['webhook_id'], unique=False)

    op.create_table('zones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.Column('zone_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=True),
    sa.Column('polygon', sa.JSON(), nullable=False),
    sa.Column('grid_cell', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.camera_id'], name=op.f('fk_zones_camera_id_cameras'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['grid_cell'], ['grid_cells.code'], name=op.f('fk_zones_grid_cell_grid_cells'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zones')),
    sa.UniqueConstraint('camera_id', 'zone_id', name='uq_zones_camera_zone')
    )
    with op.batch_alter_table('cameras', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('address', sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column('grid_cell', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('latitude', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('longitude', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('registered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column('state',
               existing_type=sa.VARCHAR(length=16),
               nullable=True)
        batch_op.alter_column('at',
               existing_type=sa.DateTime(timezone=True),
               nullable=True)

    # The new foreign key makes SQLite rebuild the table: keep AUTOINCREMENT (order numbers
    # derive from ids and must never be reused).
    with op.batch_alter_table('work_orders', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('admin_area', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('street', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('community', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('latitude', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('longitude', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('team', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('department', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('assignee', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('filed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('overdue_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('escalation_level', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('rework_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('repeat_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('linked_order_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('verdict', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('verdict_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('verified_by_camera_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_work_orders_assignee'), ['assignee'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_orders_team'), ['team'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_work_orders_linked_order_id_work_orders'), 'work_orders', ['linked_order_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('work_orders', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_work_orders_linked_order_id_work_orders'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_work_orders_team'))
        batch_op.drop_index(batch_op.f('ix_work_orders_assignee'))
        batch_op.drop_column('verified_by_camera_at')
        batch_op.drop_column('verdict_reason')
        batch_op.drop_column('verdict')
        batch_op.drop_column('linked_order_id')
        batch_op.drop_column('last_seen_at')
        batch_op.drop_column('repeat_count')
        batch_op.drop_column('rework_count')
        batch_op.drop_column('escalation_level')
        batch_op.drop_column('overdue_at')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('dispatched_at')
        batch_op.drop_column('filed_at')
        batch_op.drop_column('assignee')
        batch_op.drop_column('department')
        batch_op.drop_column('team')
        batch_op.drop_column('longitude')
        batch_op.drop_column('latitude')
        batch_op.drop_column('community')
        batch_op.drop_column('street')
        batch_op.drop_column('admin_area')

    with op.batch_alter_table('cameras', schema=None) as batch_op:
        batch_op.alter_column('at',
               existing_type=sa.DateTime(timezone=True),
               nullable=False)
        batch_op.alter_column('state',
               existing_type=sa.VARCHAR(length=16),
               nullable=False)
        batch_op.drop_column('registered_at')
        batch_op.drop_column('longitude')
        batch_op.drop_column('latitude')
        batch_op.drop_column('grid_cell')
        batch_op.drop_column('address')
        batch_op.drop_column('name')

    op.drop_table('zones')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_deliveries_webhook_id'))
        batch_op.drop_index('ix_webhook_deliveries_state_next')

    op.drop_table('webhook_deliveries')
    with op.batch_alter_table('timeline_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timeline_entries_work_order_id'))

    op.drop_table('timeline_entries')
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_events_event_id'))

    op.drop_table('order_events')
    op.drop_table('grid_cells')
    op.drop_table('webhooks')
    op.drop_table('teams')
