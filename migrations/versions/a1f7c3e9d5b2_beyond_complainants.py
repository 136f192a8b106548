"""beyond complainants: services, service events, campaigns, kinds, sources and modes

The foundation of issues 16 and 17. ``service``, ``service_event`` and ``campaign`` are new;
``complaint.kind`` says whether a record is a complaint, a request, a suggestion or a
compliment. An invitation is for a complaint or a service event (a campaign's too), and may go
by phone. A response may have no invitation (walk-in) and no complaint (a service user's); it
records whom it speaks for (``source``), how it was given (``mode``, filled from the
invitation's channel for the responses already stored), who interviewed, and whether it is held
out of the figures.

Revision ID: a1f7c3e9d5b2
Revises: f4c2d9a7b1e6
Create Date: 2026-12-07 21:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

import app.models.types

# revision identifiers, used by Alembic.
revision = 'a1f7c3e9d5b2'
down_revision = 'f4c2d9a7b1e6'
branch_labels = None
depends_on = None

TIME = app.models.types.UTCDateTime(timezone=True)
CHANNELS = ('web', 'phone', 'email', 'walk_in', 'social', 'mobile_app', 'letter', 'other')
KINDS = ('complaint', 'request', 'suggestion', 'compliment')
TRIGGERS = ('complaint_resolved', 'service_event')
SOURCES = ('complainant', 'service_user', 'campaign')
MODES = ('email', 'sms', 'phone', 'walk_in')
INVITATION_CHANNELS_BEFORE = ('email', 'sms')
INVITATION_CHANNELS_AFTER = ('email', 'sms', 'phone')


def _enum(name, values):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _create_tables():
    op.create_table(
        'service',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('parent_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['parent_id'], ['service.id'],
                                name=op.f('fk_service_parent_id_service')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_service')),
        sa.UniqueConstraint('code', name=op.f('uq_service_code')),
    )
    op.create_index(op.f('ix_service_parent_id'), 'service', ['parent_id'])
    op.create_table(
        'service_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=64), nullable=False),
        sa.Column('external_id', sa.String(length=128), nullable=False),
        sa.Column('occurred_at', TIME, nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('service_id', sa.Integer(), nullable=False),
        sa.Column('channel', _enum('channel', CHANNELS), nullable=False),
        sa.Column('complainant_id', sa.Integer(), nullable=True),
        sa.Column('created_at', TIME, nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'],
                                name=op.f('fk_service_event_unit_id_unit')),
        sa.ForeignKeyConstraint(['service_id'], ['service.id'],
                                name=op.f('fk_service_event_service_id_service')),
        sa.ForeignKeyConstraint(['complainant_id'], ['complainant.id'],
                                name=op.f('fk_service_event_complainant_id_complainant')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_service_event')),
        sa.UniqueConstraint('source', 'external_id',
                            name=op.f('uq_service_event_source_external_id')),
    )
    op.create_index('ix_service_event_unit_occurred', 'service_event', ['unit_id', 'occurred_at'])
    op.create_index('ix_service_event_service_occurred', 'service_event',
                    ['service_id', 'occurred_at'])
    op.create_index(op.f('ix_service_event_complainant_id'), 'service_event', ['complainant_id'])
    op.create_table(
        'campaign',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('questionnaire_id', sa.Integer(), nullable=False),
        sa.Column('served_from', TIME, nullable=False),
        sa.Column('served_until', TIME, nullable=False),
        sa.Column('margin_of_error', sa.Float(), nullable=False),
        sa.Column('expected_response_rate', sa.Float(), nullable=False),
        sa.Column('state', _enum('campaign_state', ('draft', 'running', 'closed')),
                  nullable=False),
        sa.Column('started_at', TIME, nullable=True),
        sa.Column('closes_at', TIME, nullable=False),
        sa.Column('closed_at', TIME, nullable=True),
        sa.Column('created_at', TIME, nullable=False),
        sa.ForeignKeyConstraint(['questionnaire_id'], ['questionnaire.id'],
                                name=op.f('fk_campaign_questionnaire_id_questionnaire')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign')),
        sa.UniqueConstraint('key', name=op.f('uq_campaign_key')),
    )


def _drop_sqlite_triggers(connection):
    """SQLite copies a table to change a column or a CHECK, which renames it: the rollup
    triggers refer to these tables, so they go first and come back from the application's
    definitions."""
    names = connection.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'memnun_rollup_%'"
    ).scalars().all()
    for name in names:
        op.execute(f'DROP TRIGGER {name}')


def _alter(table, recreate, change):
    with op.batch_alter_table(table, recreate=recreate) as batch_op:
        change(batch_op)


def _complaint(batch_op):
    batch_op.add_column(sa.Column('kind', _enum('complaint_kind', KINDS),
                                  server_default='complaint', nullable=False))


def _rule(batch_op):
    batch_op.add_column(sa.Column('triggered_by', _enum('rule_trigger', TRIGGERS),
                                  server_default='complaint_resolved', nullable=False))
    batch_op.add_column(sa.Column('service_codes', sa.JSON(), server_default='[]',
                                  nullable=False))


def _invitation(batch_op):
    batch_op.alter_column('complaint_id', existing_type=sa.Integer(), nullable=True)
    batch_op.add_column(sa.Column('service_event_id', sa.Integer(), nullable=True))
    batch_op.add_column(sa.Column('campaign_id', sa.Integer(), nullable=True))
    batch_op.create_foreign_key(op.f('fk_invitation_service_event_id_service_event'),
                                'service_event', ['service_event_id'], ['id'])
    batch_op.create_foreign_key(op.f('fk_invitation_campaign_id_campaign'),
                                'campaign', ['campaign_id'], ['id'])
    batch_op.create_index(op.f('ix_invitation_service_event_id'), ['service_event_id'])
    batch_op.create_index(op.f('ix_invitation_campaign_id'), ['campaign_id'])
    batch_op.create_check_constraint(
        'subject', 'complaint_id IS NOT NULL OR service_event_id IS NOT NULL')


def _response(batch_op):
    for column in ('invitation_id', 'complaint_id', 'category_id'):
        batch_op.alter_column(column, existing_type=sa.Integer(), nullable=True)
    batch_op.add_column(sa.Column('service_event_id', sa.Integer(), nullable=True))
    batch_op.add_column(sa.Column('service_id', sa.Integer(), nullable=True))
    batch_op.add_column(sa.Column('source', _enum('response_source', SOURCES),
                                  server_default='complainant', nullable=False))
    batch_op.add_column(sa.Column('mode', _enum('response_mode', MODES),
                                  server_default='email', nullable=False))
    batch_op.add_column(sa.Column('interviewer_id', sa.Integer(), nullable=True))
    batch_op.add_column(sa.Column('held', sa.Boolean(), server_default=sa.false(),
                                  nullable=False))
    batch_op.add_column(sa.Column('held_reason', sa.String(length=64), nullable=True))
    batch_op.create_foreign_key(op.f('fk_response_service_event_id_service_event'),
                                'service_event', ['service_event_id'], ['id'])
    batch_op.create_foreign_key(op.f('fk_response_service_id_service'),
                                'service', ['service_id'], ['id'])
    batch_op.create_foreign_key(op.f('fk_response_interviewer_id_user_account'),
                                'user_account', ['interviewer_id'], ['id'])
    batch_op.create_index(op.f('ix_response_service_event_id'), ['service_event_id'])


def _invitation_channels(connection, values):
    check = 'ck_invitation_invitation_channel'
    if connection.dialect.name == 'postgresql':
        listed = ', '.join(f"'{value}'" for value in values)
        op.execute(f'ALTER TABLE invitation DROP CONSTRAINT {check}')
        op.execute(f'ALTER TABLE invitation ADD CONSTRAINT {check} CHECK (channel IN ({listed}))')
        return
    old = (INVITATION_CHANNELS_AFTER if values == INVITATION_CHANNELS_BEFORE
           else INVITATION_CHANNELS_BEFORE)
    with op.batch_alter_table('invitation', recreate='always') as batch_op:
        batch_op.alter_column('channel', existing_type=_enum('invitation_channel', old),
                              type_=_enum('invitation_channel', values),
                              existing_nullable=False, existing_server_default='email')


def upgrade():
    from app.analytics.rollup import install_triggers

    connection = op.get_bind()
    sqlite = connection.dialect.name == 'sqlite'
    if sqlite:
        _drop_sqlite_triggers(connection)
    _create_tables()
    recreate = 'always' if sqlite else 'auto'
    _alter('complaint', recreate, _complaint)
    _alter('distribution_rule', recreate, _rule)
    _invitation_channels(connection, INVITATION_CHANNELS_AFTER)
    _alter('invitation', recreate, _invitation)
    _alter('response', recreate, _response)
    # The responses stored so far were all given through their invitation's link.
    op.execute("UPDATE response SET mode = 'sms' WHERE invitation_id IN "
               "(SELECT id FROM invitation WHERE channel = 'sms')")
    install_triggers(connection)


def downgrade():
    from app.analytics.rollup import install_triggers

    connection = op.get_bind()
    sqlite = connection.dialect.name == 'sqlite'
    # What the schema before cannot hold goes: responses and invitations without a complaint.
    op.execute('DELETE FROM answer WHERE response_id IN '
               '(SELECT id FROM response WHERE complaint_id IS NULL OR invitation_id IS NULL)')
    op.execute('DELETE FROM response WHERE complaint_id IS NULL OR invitation_id IS NULL')
    op.execute('DELETE FROM invitation WHERE complaint_id IS NULL')
    op.execute("UPDATE invitation SET channel = 'sms' WHERE channel = 'phone'")
    if sqlite:
        _drop_sqlite_triggers(connection)
    recreate = 'always' if sqlite else 'auto'

    def response(batch_op):
        batch_op.drop_index(op.f('ix_response_service_event_id'))
        for name in ('fk_response_service_event_id_service_event',
                     'fk_response_service_id_service', 'fk_response_interviewer_id_user_account'):
            batch_op.drop_constraint(op.f(name), type_='foreignkey')
        for check in ('ck_response_response_source', 'ck_response_response_mode'):
            batch_op.drop_constraint(op.f(check), type_='check')
        for column in ('service_event_id', 'service_id', 'source', 'mode', 'interviewer_id',
                       'held', 'held_reason'):
            batch_op.drop_column(column)
        for column in ('invitation_id', 'complaint_id', 'category_id'):
            batch_op.alter_column(column, existing_type=sa.Integer(), nullable=False)

    def invitation(batch_op):
        batch_op.drop_constraint(op.f('ck_invitation_subject'), type_='check')
        batch_op.drop_index(op.f('ix_invitation_service_event_id'))
        batch_op.drop_index(op.f('ix_invitation_campaign_id'))
        batch_op.drop_constraint(op.f('fk_invitation_service_event_id_service_event'),
                                 type_='foreignkey')
        batch_op.drop_constraint(op.f('fk_invitation_campaign_id_campaign'), type_='foreignkey')
        batch_op.drop_column('service_event_id')
        batch_op.drop_column('campaign_id')
        batch_op.alter_column('complaint_id', existing_type=sa.Integer(), nullable=False)

    _alter('response', recreate, response)
    _alter('invitation', recreate, invitation)
    _invitation_channels(connection, INVITATION_CHANNELS_BEFORE)
    _alter('distribution_rule', recreate,
           lambda batch_op: (batch_op.drop_constraint(op.f('ck_distribution_rule_rule_trigger'),
                                                      type_='check'),
                             batch_op.drop_column('triggered_by'),
                             batch_op.drop_column('service_codes')))
    _alter('complaint', recreate,
           lambda batch_op: (batch_op.drop_constraint(op.f('ck_complaint_complaint_kind'),
                                                      type_='check'),
                             batch_op.drop_column('kind')))
    op.drop_table('campaign')
    op.drop_index('ix_service_event_unit_occurred', table_name='service_event')
    op.drop_index('ix_service_event_service_occurred', table_name='service_event')
    op.drop_index(op.f('ix_service_event_complainant_id'), table_name='service_event')
    op.drop_table('service_event')
    op.drop_index(op.f('ix_service_parent_id'), table_name='service')
    op.drop_table('service')
    install_triggers(connection)
