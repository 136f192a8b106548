"""phone interviews: rules that call people, each call's outcome, wrong numbers

A distribution rule says whether people are called (``phone_use``), how many times, how far
apart and in which local hours and weekdays. ``call_attempt`` holds each call of an invitation
by phone and how it ended; ``complainant.phone_wrong_at`` marks a number that reached someone
else.

Revision ID: b7d2e4f6a8c1
Revises: b8e2d4f6a1c3
Create Date: 2026-12-07 22:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import app.models.types

# revision identifiers, used by Alembic.
revision = 'b7d2e4f6a8c1'
down_revision = 'b8e2d4f6a1c3'
branch_labels = None
depends_on = None

TIME = app.models.types.UTCDateTime(timezone=True)
PHONE_USES = ('off', 'everyone', 'phone_only', 'fallback')
OUTCOMES = ('no_answer', 'busy', 'call_back', 'refused', 'wrong_number', 'completed')


def _enum(name, values):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _drop_sqlite_triggers(connection):
    """SQLite copies a table to add a CHECK, which renames it: the rollup triggers that refer
    to it go first and come back from the application's definitions."""
    names = connection.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'memnun_rollup_%'"
    ).scalars().all()
    for name in names:
        op.execute(f'DROP TRIGGER {name}')


def upgrade():
    from app.analytics.rollup import install_triggers

    connection = op.get_bind()
    sqlite = connection.dialect.name == 'sqlite'
    if sqlite:
        _drop_sqlite_triggers(connection)
    recreate = 'always' if sqlite else 'auto'
    with op.batch_alter_table('distribution_rule', recreate=recreate) as batch_op:
        batch_op.add_column(sa.Column('phone_use', _enum('phone_use', PHONE_USES),
                                      server_default='off', nullable=False))
        batch_op.add_column(sa.Column('phone_max_attempts', sa.Integer(), server_default='3',
                                      nullable=False))
        batch_op.add_column(sa.Column('phone_hours_between', sa.Integer(), server_default='4',
                                      nullable=False))
        batch_op.add_column(sa.Column('calling_hours_start', sa.String(length=5),
                                      server_default='10:00', nullable=False))
        batch_op.add_column(sa.Column('calling_hours_end', sa.String(length=5),
                                      server_default='18:00', nullable=False))
        batch_op.add_column(sa.Column('calling_days', sa.JSON(),
                                      server_default='[1, 2, 3, 4, 5]', nullable=False))
    with op.batch_alter_table('complainant') as batch_op:
        batch_op.add_column(sa.Column('phone_wrong_at', TIME, nullable=True))
    op.create_table(
        'call_attempt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('invitation_id', sa.Integer(), nullable=False),
        sa.Column('at', TIME, nullable=False),
        sa.Column('outcome', _enum('call_outcome', OUTCOMES), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('call_back_at', TIME, nullable=True),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'],
                                name=op.f('fk_call_attempt_invitation_id_invitation')),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                                name=op.f('fk_call_attempt_user_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_call_attempt')),
    )
    op.create_index('ix_call_attempt_invitation_at', 'call_attempt', ['invitation_id', 'at'])
    install_triggers(connection)


def downgrade():
    from app.analytics.rollup import install_triggers

    connection = op.get_bind()
    sqlite = connection.dialect.name == 'sqlite'
    if sqlite:
        _drop_sqlite_triggers(connection)
    op.drop_index('ix_call_attempt_invitation_at', table_name='call_attempt')
    op.drop_table('call_attempt')
    with op.batch_alter_table('complainant') as batch_op:
        batch_op.drop_column('phone_wrong_at')
    recreate = 'always' if sqlite else 'auto'
    with op.batch_alter_table('distribution_rule', recreate=recreate) as batch_op:
        batch_op.drop_constraint(op.f('ck_distribution_rule_phone_use'), type_='check')
        for column in ('calling_days', 'calling_hours_end', 'calling_hours_start',
                       'phone_hours_between', 'phone_max_attempts', 'phone_use'):
            batch_op.drop_column(column)
    install_triggers(connection)
