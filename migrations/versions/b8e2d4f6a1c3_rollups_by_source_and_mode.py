"""rollups by source and mode: held responses left out, compliments counted apart

The rollups' triggers now leave held responses (and their answers) out until a person accepts
them, count only records of kind ``complaint`` as complaints received and resolved, count
compliments received (``compliments``, new in both tables), key ``hourly_dimension_figures``
by two more dimensions (``source``, ``mode``), and count the invitations of service events
under their event's unit and channel (a trigger on ``service_event`` moves them). A dimension
without a value (a service user's category) adds no row. Both tables are rebuilt from the rows.

Revision ID: b8e2d4f6a1c3
Revises: a1f7c3e9d5b2
Create Date: 2026-12-07 22:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b8e2d4f6a1c3'
down_revision = 'a1f7c3e9d5b2'
branch_labels = None
depends_on = None

TABLES = ('hourly_figures', 'hourly_dimension_figures')
# The figures the PostgreSQL key of ``hourly_dimension_figures`` carries (INCLUDE), before.
BEFORE = ('responses', 'csat_n', 'csat_satisfied', 'csat_sum', 'csat_sum_sq', 'nps_n',
          'nps_promoters', 'nps_detractors', 'ces_n', 'ces_sum', 'ces_sum_sq', 'resolution_n',
          'resolution_yes', 'received', 'resolved_with_due', 'resolved_on_time', 'sent',
          'responded', 'undelivered')
AFTER = (*BEFORE, 'compliments')
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
    """On PostgreSQL the key's index carries the figures (a filtered view reads its range from
    the index alone): rebuilt to carry ``figures``."""
    if connection.dialect.name != 'postgresql':
        return
    op.execute('ALTER TABLE hourly_dimension_figures DROP CONSTRAINT pk_hourly_dimension_figures')
    op.execute('ALTER TABLE hourly_dimension_figures ADD CONSTRAINT pk_hourly_dimension_figures '
               f'PRIMARY KEY ({KEY}) INCLUDE ({", ".join(figures)})')


def upgrade():
    from app.analytics.rollup import install_triggers, rebuild

    connection = op.get_bind()
    for table in TABLES:
        op.execute(f'ALTER TABLE {table} ADD COLUMN compliments INTEGER DEFAULT 0 NOT NULL')
    _key_carrying(connection, AFTER)
    install_triggers(connection)
    # Exact from the rows: held responses out, other kinds out of the complaints, the new
    # dimensions' rows in.
    rebuild(connection)


def downgrade():
    from app.analytics.rollup import install_triggers, rebuild

    connection = op.get_bind()
    _drop_triggers(connection)
    if connection.dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS memnun_rollup_service_event_delete ON service_event')
        op.execute('DROP TRIGGER IF EXISTS memnun_rollup_service_event_update_old '
                   'ON service_event')
        op.execute('DROP TRIGGER IF EXISTS memnun_rollup_service_event_insert ON service_event')
        op.execute('DROP TRIGGER IF EXISTS memnun_rollup_service_event_update_new '
                   'ON service_event')
    _key_carrying(connection, BEFORE)
    for table in TABLES:
        op.execute(f'ALTER TABLE {table} DROP COLUMN compliments')
    # The triggers of a1f7c3e9d5b2 (they watch none of its new columns, which its own
    # downgrade drops): every record a complaint, no response held.
    install_triggers(connection, legacy=True)
    rebuild(connection, legacy=True)
