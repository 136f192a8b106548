"""hourly figures rollup, kept exact by triggers; indexes on resolved_at and sent_at

Revision ID: 7a1c3e9d2b40
Revises: e8f5b77b837c
Create Date: 2026-12-03 19:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

import app.models.types


# revision identifiers, used by Alembic.
revision = '7a1c3e9d2b40'
down_revision = 'e8f5b77b837c'
branch_labels = None
depends_on = None

COUNTS = ('responses', 'csat_n', 'csat_satisfied', 'nps_n', 'nps_promoters', 'nps_detractors',
          'ces_n', 'resolution_n', 'resolution_yes', 'received', 'resolved_with_due',
          'resolved_on_time', 'sent', 'responded')
SUMS = ('csat_sum', 'csat_sum_sq', 'ces_sum', 'ces_sum_sq')
ORDER = ('responses', 'csat_n', 'csat_satisfied', 'csat_sum', 'csat_sum_sq', 'nps_n',
         'nps_promoters', 'nps_detractors', 'ces_n', 'ces_sum', 'ces_sum_sq', 'resolution_n',
         'resolution_yes', 'received', 'resolved_with_due', 'resolved_on_time', 'sent',
         'responded')


def upgrade():
    op.create_table(
        'hourly_figures',
        sa.Column('hour', app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('unit_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('slot', sa.Integer(), autoincrement=False, server_default=sa.text('0'),
                  nullable=False),
        *[sa.Column(name, sa.Integer() if name in COUNTS else sa.Float(),
                    server_default=sa.text('0'), nullable=False) for name in ORDER],
        sa.PrimaryKeyConstraint('hour', 'unit_id', 'slot', name=op.f('pk_hourly_figures')),
    )
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index('ix_complaint_resolved_at', ['resolved_at'], unique=False)
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index('ix_invitation_sent_at', ['sent_at'], unique=False)
    # The triggers and the first fill come from the application's own definitions, so that
    # the rollup counts exactly what the queries count.
    # Only the rollup this revision has: hourly_dimension_figures comes later (e2a9c4f7b1d3).
    from app.analytics.rollup import HOURLY, install_triggers, rebuild

    connection = op.get_bind()
    install_triggers(connection, (HOURLY,))
    rebuild(connection, rollups=(HOURLY,))


def downgrade():
    connection = op.get_bind()
    for table in ('answer', 'response', 'complaint', 'invitation'):
        name = f'memnun_rollup_{table}'
        for suffix in ('delete', 'update_old', 'insert', 'update_new'):
            if connection.dialect.name == 'postgresql':
                op.execute(f'DROP TRIGGER IF EXISTS {name}_{suffix} ON {table}')
            else:
                op.execute(f'DROP TRIGGER IF EXISTS {name}_{suffix}')
        if connection.dialect.name == 'postgresql':
            op.execute(f'DROP FUNCTION IF EXISTS {name}_before()')
            op.execute(f'DROP FUNCTION IF EXISTS {name}_after()')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index('ix_invitation_sent_at')
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_resolved_at')
    op.drop_table('hourly_figures')
