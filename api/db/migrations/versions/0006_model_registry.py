"""model registry: model versions and their files, camera groups, assignments, load reports, audit

Issue 18, must-have 5. An admin uploads a model version (manifest, weights, exports;
files on disk under settings.model_dir, checksums here), promotes it to all cameras,
a camera group (canary) or one camera, and rolls back; workers read their assignment
and report how the load went. Every change lands on the append-only model_audit.
Only new tables: nothing existing changes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 06:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Long because a migration is one schema step read top to bottom;
    splitting it would only scatter the tables of one revision."""
    op.create_table('model_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('version', sa.String(length=128), nullable=False),
    sa.Column('manifest_path', sa.String(length=512), nullable=False),
    sa.Column('manifest', sa.JSON(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by', sa.String(length=64), nullable=False),
    sa.Column('comparison', sa.JSON(), nullable=True),
    sa.Column('comparison_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_versions')),
    sa.UniqueConstraint('name', 'version', name='uq_model_versions_name_version')
    )
    op.create_table('model_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=512), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['model_versions.id'],
                            name=op.f('fk_model_files_model_id_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_files')),
    sa.UniqueConstraint('model_id', 'path', name='uq_model_files_model_path')
    )
    op.create_index(op.f('ix_model_files_model_id'), 'model_files', ['model_id'], unique=False)
    op.create_table('camera_groups',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=256), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_camera_groups'))
    )
    op.create_table('camera_group_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_name', sa.String(length=64), nullable=False),
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['group_name'], ['camera_groups.name'],
                            name=op.f('fk_camera_group_members_group_name_camera_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_camera_group_members')),
    sa.UniqueConstraint('group_name', 'camera_id', name='uq_camera_group_members_group_camera')
    )
    op.create_index(op.f('ix_camera_group_members_group_name'), 'camera_group_members', ['group_name'], unique=False)
    op.create_index(op.f('ix_camera_group_members_camera_id'), 'camera_group_members', ['camera_id'], unique=False)
    op.create_table('model_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=80), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('previous_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['model_id'], ['model_versions.id'],
                            name=op.f('fk_model_assignments_model_id_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_assignments')),
    sqlite_autoincrement=True
    )
    op.create_index(op.f('ix_model_assignments_model_id'), 'model_assignments', ['model_id'], unique=False)
    op.create_index('ix_model_assignments_scope_superseded', 'model_assignments', ['scope', 'superseded_at'],
                    unique=False)
    op.create_table('model_load_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=128), nullable=False),
    sa.Column('model_name', sa.String(length=128), nullable=False),
    sa.Column('model_version', sa.String(length=128), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('running_version', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_load_reports')),
    sa.UniqueConstraint('camera_id', 'assignment_id', name='uq_model_load_reports_camera_assignment')
    )
    op.create_index(op.f('ix_model_load_reports_camera_id'), 'model_load_reports', ['camera_id'], unique=False)
    op.create_index(op.f('ix_model_load_reports_assignment_id'), 'model_load_reports', ['assignment_id'],
                    unique=False)
    op.create_table('model_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('model_name', sa.String(length=128), nullable=True),
    sa.Column('model_version', sa.String(length=128), nullable=True),
    sa.Column('scope', sa.String(length=80), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_audit'))
    )
    op.create_index(op.f('ix_model_audit_at'), 'model_audit', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_model_audit_at'), table_name='model_audit')
    op.drop_table('model_audit')
    op.drop_index(op.f('ix_model_load_reports_assignment_id'), table_name='model_load_reports')
    op.drop_index(op.f('ix_model_load_reports_camera_id'), table_name='model_load_reports')
    op.drop_table('model_load_reports')
    op.drop_index('ix_model_assignments_scope_superseded', table_name='model_assignments')
    op.drop_index(op.f('ix_model_assignments_model_id'), table_name='model_assignments')
    op.drop_table('model_assignments')
    op.drop_index(op.f('ix_camera_group_members_camera_id'), table_name='camera_group_members')
    op.drop_index(op.f('ix_camera_group_members_group_name'), table_name='camera_group_members')
    op.drop_table('camera_group_members')
    op.drop_table('camera_groups')
    op.drop_index(op.f('ix_model_files_model_id'), table_name='model_files')
    op.drop_table('model_files')
    op.drop_table('model_versions')
