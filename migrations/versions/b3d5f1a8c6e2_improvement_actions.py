"""improvement actions: the register of management actions against targets

Revision ID: b3d5f1a8c6e2
Revises: 7a1c3e9d2b40
Create Date: 2026-12-03 20:15:00.000000

"""
from alembic import op
import sqlalchemy as sa

import app.models.types


# revision identifiers, used by Alembic.
revision = 'b3d5f1a8c6e2'
down_revision = '7a1c3e9d2b40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('improvement_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('metric', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('open', 'in_progress', 'done', 'dropped', name='action_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_improvement_action_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_improvement_action'))
    )
    with op.batch_alter_table('improvement_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_improvement_action_closed_at'), ['closed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_improvement_action_status'), ['status'], unique=False)
        batch_op.create_index('ix_improvement_action_unit_metric', ['unit_id', 'metric'], unique=False)


def downgrade():
    with op.batch_alter_table('improvement_action', schema=None) as batch_op:
        batch_op.drop_index('ix_improvement_action_unit_metric')
        batch_op.drop_index(batch_op.f('ix_improvement_action_status'))
        batch_op.drop_index(batch_op.f('ix_improvement_action_closed_at'))

    op.drop_table('improvement_action')
