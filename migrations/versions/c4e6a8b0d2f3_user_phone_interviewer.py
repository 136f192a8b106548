"""user_account phone_interviewer: who sees the people to call on the call list

A per-user permission set by an admin: the user sees the name and number of the people on the
call list and the call screen of their units, and nowhere else (``app.auth.scope``). Every
existing account starts without it.

Revision ID: c4e6a8b0d2f3
Revises: c3d5e7f9a1b2
Create Date: 2026-12-08 01:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c4e6a8b0d2f3'
down_revision = "c3d5e7f9a1b2"
branch_labels = None
depends_on = None


# Plain ADD/DROP COLUMN, not a batch: both databases do these in place.
def upgrade():
    op.add_column(
        'user_account',
        sa.Column('phone_interviewer', sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade():
    op.execute("ALTER TABLE user_account DROP COLUMN phone_interviewer")
