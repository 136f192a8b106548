"""hourly dimension figures: the rollup per hour, unit and one filter's value

Per category, channel, questionnaire or language, so that a view filtered by one of them reads
rollup rows, not the source rows.

Also a partial index of the writers' rows (slot <> 0) on both rollups: the compaction reads
only those, instead of scanning the tables every five minutes.

Revision ID: e2a9c4f7b1d3
Revises: d5f8b3c1a7e9
Create Date: 2026-12-07 12:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import app.models.types

# revision identifiers, used by Alembic.
revision = 'e2a9c4f7b1d3'
down_revision = 'd5f8b3c1a7e9'
branch_labels = None
depends_on = None

COUNTS = ('responses', 'csat_n', 'csat_satisfied', 'nps_n', 'nps_promoters', 'nps_detractors',
          'ces_n', 'resolution_n', 'resolution_yes', 'received', 'resolved_with_due',
          'resolved_on_time', 'sent', 'responded')
ORDER = ('responses', 'csat_n', 'csat_satisfied', 'csat_sum', 'csat_sum_sq', 'nps_n',
         'nps_promoters', 'nps_detractors', 'ces_n', 'ces_sum', 'ces_sum_sq', 'resolution_n',
         'resolution_yes', 'received', 'resolved_with_due', 'resolved_on_time', 'sent',
         'responded')
WRITERS = sa.text('slot <> 0')


def upgrade():
    op.create_table(
        'hourly_dimension_figures',
        sa.Column('dimension', sa.String(length=16), nullable=False),
        sa.Column('value', sa.String(length=64), nullable=False),
        sa.Column('hour', app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('unit_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('slot', sa.Integer(), autoincrement=False, server_default=sa.text('0'),
                  nullable=False),
        *[sa.Column(name, sa.Integer() if name in COUNTS else sa.Float(),
                    server_default=sa.text('0'), nullable=False) for name in ORDER],
        # The figures ride in the key's index on PostgreSQL: a filtered view reads its range
        # from the index alone, however the triggers laid the rows out.
        sa.PrimaryKeyConstraint('dimension', 'value', 'hour', 'unit_id', 'slot',
                                name=op.f('pk_hourly_dimension_figures'),
                                postgresql_include=list(ORDER)),
    )
    for table in ('hourly_figures', 'hourly_dimension_figures'):
        op.create_index(f'ix_{table}_writers', table, ['slot'], unique=False,
                        postgresql_where=WRITERS, sqlite_where=WRITERS)
    # The triggers (now writing both rollups) and the first fill come from the application's
    # own definitions, so that the rollup counts exactly what the queries count.
    from app.analytics.rollup import BY_DIMENSION, install_triggers, rebuild

    connection = op.get_bind()
    install_triggers(connection)
    rebuild(connection, rollups=(BY_DIMENSION,))


def downgrade():
    from app.analytics.rollup import HOURLY, install_triggers

    install_triggers(op.get_bind(), (HOURLY,))  # the triggers stop writing the table first
    for table in ('hourly_figures', 'hourly_dimension_figures'):
        op.drop_index(f'ix_{table}_writers', table_name=table)
    op.drop_table('hourly_dimension_figures')
