"""user language: the staff member's chosen language, remembered across sessions

Revision ID: c4e7a2d9f1b3
Revises: c4e7a2b9d1f3
Create Date: 2026-12-07 08:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e7a2d9f1b3'
down_revision = 'c4e7a2b9d1f3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('language')
