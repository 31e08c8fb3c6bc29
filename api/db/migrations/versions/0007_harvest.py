"""harvest: frames worth labelling, the batches they came in, dataset versions

Issue 18, must-haves 1 and 3. Workers post harvest batches (raw frames, the model's boxes,
why each was picked); the frames' files live under settings.harvest_dir, their rows here
(an evicted frame keeps its row so its hashes still catch a re-send). Each import of
annotations records a dataset version. Only new tables: nothing existing changes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 07:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Long because a migration is one schema step read top to bottom;
    splitting it would only scatter the tables of one revision."""
    op.create_table('harvest_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=128), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('frames', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('over_budget', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_harvest_batches'))
    )
    op.create_index(op.f('ix_harvest_batches_received_at'), 'harvest_batches', ['received_at'], unique=False)
    op.create_table('harvest_frames',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.Column('captured_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('model_name', sa.String(length=128), nullable=False),
    sa.Column('model_version', sa.String(length=64), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('reason_tags', sa.String(length=128), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('boxes', sa.JSON(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('dhash', sa.String(length=16), nullable=False),
    sa.Column('bytes', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('path', sa.String(length=512), nullable=False),
    sa.Column('evicted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['harvest_batches.id'],
                            name=op.f('fk_harvest_frames_batch_id_harvest_batches'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_harvest_frames'))
    )
    op.create_index(op.f('ix_harvest_frames_batch_id'), 'harvest_frames', ['batch_id'], unique=False)
    op.create_index(op.f('ix_harvest_frames_sha256'), 'harvest_frames', ['sha256'], unique=False)
    op.create_index('ix_harvest_frames_camera_id_captured_at', 'harvest_frames', ['camera_id', 'captured_at'],
                    unique=False)
    op.create_index('ix_harvest_frames_status_evicted_at', 'harvest_frames', ['status', 'evicted_at'], unique=False)
    op.create_table('dataset_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('images', sa.Integer(), nullable=False),
    sa.Column('instances', sa.Integer(), nullable=False),
    sa.Column('classes', sa.JSON(), nullable=False),
    sa.Column('cameras', sa.JSON(), nullable=False),
    sa.Column('splits', sa.JSON(), nullable=False),
    sa.Column('harvest_frame_ids', sa.JSON(), nullable=False),
    sa.Column('path', sa.String(length=1024), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_versions')),
    sa.UniqueConstraint('name', 'version', name='uq_dataset_versions_name_version')
    )


def downgrade() -> None:
    op.drop_table('dataset_versions')
    op.drop_index('ix_harvest_frames_status_evicted_at', table_name='harvest_frames')
    op.drop_index('ix_harvest_frames_camera_id_captured_at', table_name='harvest_frames')
    op.drop_index(op.f('ix_harvest_frames_sha256'), table_name='harvest_frames')
    op.drop_index(op.f('ix_harvest_frames_batch_id'), table_name='harvest_frames')
    op.drop_table('harvest_frames')
    op.drop_index(op.f('ix_harvest_batches_received_at'), table_name='harvest_batches')
    op.drop_table('harvest_batches')
