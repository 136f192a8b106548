"""walk-in service points: the desks whose QR code opens a short survey

``service_point`` holds a unit's desks and branches with the SHA-256 hash of each one's current
link code; ``walk_in_device`` the keyed, per-day hashes that stop a device answering twice a day
at one point (deleted after two days); ``response.service_point_id`` says through which point a
walk-in answer came. The rollup triggers are made again: a response without a category (a
walk-in's) is counted under the value '' rather than failing on a NULL.

Revision ID: b7e2d4c6a8f1
Revises: b7d2e4f6a8c1
Create Date: 2026-12-07 21:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

import app.models.types

# revision identifiers, used by Alembic.
revision = 'b7e2d4c6a8f1'
down_revision = 'b7d2e4f6a8c1'
branch_labels = None
depends_on = None

TIME = app.models.types.UTCDateTime(timezone=True)


def _drop_sqlite_triggers(connection):
    """SQLite copies the response table to add a column with a foreign key, which renames it:
    the rollup triggers refer to it, so they go first and come back from the application's
    definitions."""
    names = connection.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'memnun_rollup_%'"
    ).scalars().all()
    for name in names:
        op.execute(f'DROP TRIGGER {name}')


def upgrade():
    from app.analytics.rollup import install_triggers

    connection = op.get_bind()
    sqlite = connection.dialect.name == 'sqlite'
    op.create_table(
        'service_point',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('questionnaire_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('generation', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', TIME, nullable=False),
        sa.Column('regenerated_at', TIME, nullable=True),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'],
                                name=op.f('fk_service_point_unit_id_unit')),
        sa.ForeignKeyConstraint(['questionnaire_id'], ['questionnaire.id'],
                                name=op.f('fk_service_point_questionnaire_id_questionnaire')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_service_point')),
        sa.UniqueConstraint('code', name=op.f('uq_service_point_code')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_service_point_token_hash')),
    )
    op.create_index(op.f('ix_service_point_unit_id'), 'service_point', ['unit_id'])
    op.create_table(
        'walk_in_device',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('service_point_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['service_point_id'], ['service_point.id'],
                                name=op.f('fk_walk_in_device_service_point_id_service_point'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_walk_in_device')),
        sa.UniqueConstraint('service_point_id', 'day', 'fingerprint',
                            name=op.f('uq_walk_in_device_service_point_id_day_fingerprint')),
    )
    op.create_index(op.f('ix_walk_in_device_day'), 'walk_in_device', ['day'])
    if sqlite:
        _drop_sqlite_triggers(connection)
    with op.batch_alter_table('response', recreate='always' if sqlite else 'auto') as batch_op:
        batch_op.add_column(sa.Column('service_point_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_response_service_point_id_service_point'),
                                    'service_point', ['service_point_id'], ['id'])
        batch_op.create_index(op.f('ix_response_service_point_id'), ['service_point_id'])
    # On both databases: the rollups now count a response without a category under ''.
    install_triggers(connection)


def downgrade():
    from app.analytics.rollup import install_triggers

    connection = op.get_bind()
    sqlite = connection.dialect.name == 'sqlite'
    # The schema before has no walk-in answers' point: they go with it.
    op.execute('DELETE FROM answer WHERE response_id IN '
               '(SELECT id FROM response WHERE service_point_id IS NOT NULL)')
    op.execute('DELETE FROM response WHERE service_point_id IS NOT NULL')
    if sqlite:
        _drop_sqlite_triggers(connection)
    with op.batch_alter_table('response', recreate='always' if sqlite else 'auto') as batch_op:
        batch_op.drop_index(op.f('ix_response_service_point_id'))
        batch_op.drop_constraint(op.f('fk_response_service_point_id_service_point'),
                                 type_='foreignkey')
        batch_op.drop_column('service_point_id')
    if sqlite:
        install_triggers(connection)
    op.drop_index(op.f('ix_walk_in_device_day'), table_name='walk_in_device')
    op.drop_table('walk_in_device')
    op.drop_index(op.f('ix_service_point_unit_id'), table_name='service_point')
    op.drop_table('service_point')
