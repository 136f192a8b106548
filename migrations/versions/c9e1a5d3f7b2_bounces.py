"""bounces: the invitation state ``bounced`` and the complainant's undeliverable address

``invitation.state`` may be ``bounced`` (a hard bounce came back); ``complainant.
email_undeliverable_at`` marks an address no e-mail goes to any more.

Revision ID: c9e1a5d3f7b2
Revises: b7d3f1a9c2e5
Create Date: 2026-12-07 15:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c9e1a5d3f7b2'
down_revision = 'b7d3f1a9c2e5'
branch_labels = None
depends_on = None

BEFORE = ('planned', 'sent', 'reminded', 'responded', 'expired', 'cancelled', 'suppressed',
          'failed')
AFTER = (*BEFORE, 'bounced')
CHECK = 'ck_invitation_invitation_state'


def _state(values):
    return sa.Enum(*values, name='invitation_state', native_enum=False, create_constraint=True,
                   length=32)


def _states(values):
    connection = op.get_bind()
    if connection.dialect.name == 'postgresql':
        listed = ', '.join(f"'{value}'" for value in values)
        op.execute(f'ALTER TABLE invitation DROP CONSTRAINT {CHECK}')
        op.execute(f'ALTER TABLE invitation ADD CONSTRAINT {CHECK} CHECK (state IN ({listed}))')
        return
    # SQLite changes a CHECK only by copying the table, which renames it: the rollup triggers
    # of the other tables refer to it, so they go first and come back from the application's
    # own definitions (as the rollup migrations install them).
    from app.analytics.rollup import install_triggers

    triggers = connection.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'memnun_rollup_%'"
    ).scalars().all()
    for name in triggers:
        op.execute(f'DROP TRIGGER {name}')
    old = AFTER if values == BEFORE else BEFORE
    with op.batch_alter_table('invitation', recreate='always') as batch_op:
        batch_op.alter_column('state', existing_type=_state(old), type_=_state(values),
                              existing_nullable=False)
    install_triggers(connection)


def upgrade():
    _states(AFTER)
    time = ('TIMESTAMP WITH TIME ZONE' if op.get_bind().dialect.name == 'postgresql'
            else 'DATETIME')
    op.execute(f'ALTER TABLE complainant ADD COLUMN email_undeliverable_at {time}')


def downgrade():
    op.execute("UPDATE invitation SET state = 'failed' WHERE state = 'bounced'")
    op.execute('ALTER TABLE complainant DROP COLUMN email_undeliverable_at')
    _states(BEFORE)
