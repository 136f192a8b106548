"""undelivered invitations: the rollups count invitations sent that did not arrive

``hourly_figures.undelivered`` and ``hourly_dimension_figures.undelivered``: invitations sent
and not answered whose mail bounced for good or whose delivery was reported failed, so that the
response rate is over invitations delivered (sent - undelivered) and the bounce rate can be read
from the rollups. The triggers now also watch ``invitation.state`` (into or out of ``bounced``)
and ``invitation.delivery``; the new column is filled from the rows by a rebuild.

Revision ID: f4c2d9a7b1e6
Revises: d8a3f6c1e2b4
Create Date: 2026-12-07 18:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f4c2d9a7b1e6'
down_revision = 'd8a3f6c1e2b4'
branch_labels = None
depends_on = None

TABLES = ('hourly_figures', 'hourly_dimension_figures')
# The figures the PostgreSQL key of ``hourly_dimension_figures`` carries (INCLUDE), before.
BEFORE = ('responses', 'csat_n', 'csat_satisfied', 'csat_sum', 'csat_sum_sq', 'nps_n',
          'nps_promoters', 'nps_detractors', 'ces_n', 'ces_sum', 'ces_sum_sq', 'resolution_n',
          'resolution_yes', 'received', 'resolved_with_due', 'resolved_on_time', 'sent',
          'responded')
AFTER = (*BEFORE, 'undelivered')
KEY = 'dimension, value, hour, unit_id, slot'


def _drop_triggers(connection):
    """SQLite will not drop a column a trigger names; the rollup triggers go first (they come
    back from the application's definitions, for the columns the tables have then)."""
    if connection.dialect.name != 'sqlite':
        return
    names = connection.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'memnun_rollup_%'"
    ).scalars().all()
    for name in names:
        op.execute(f'DROP TRIGGER {name}')


def _key_carrying(connection, figures):
    """On PostgreSQL the key's index carries the figures, so a filtered view reads its range
    from the index alone: rebuilt to carry ``figures``."""
    if connection.dialect.name != 'postgresql':
        return
    op.execute('ALTER TABLE hourly_dimension_figures DROP CONSTRAINT pk_hourly_dimension_figures')
    op.execute('ALTER TABLE hourly_dimension_figures ADD CONSTRAINT pk_hourly_dimension_figures '
               f'PRIMARY KEY ({KEY}) INCLUDE ({", ".join(figures)})')


def upgrade():
    from app.analytics.rollup import install_triggers, rebuild

    connection = op.get_bind()
    for table in TABLES:
        op.execute(f'ALTER TABLE {table} ADD COLUMN undelivered INTEGER DEFAULT 0 NOT NULL')
    _key_carrying(connection, AFTER)
    install_triggers(connection)
    # Exact from the rows (bounces and failed SMS taken before this revision included).
    rebuild(connection)


def downgrade():
    from app.analytics.rollup import install_triggers

    connection = op.get_bind()
    _drop_triggers(connection)
    _key_carrying(connection, BEFORE)
    for table in TABLES:
        op.execute(f'ALTER TABLE {table} DROP COLUMN undelivered')
    install_triggers(connection)
