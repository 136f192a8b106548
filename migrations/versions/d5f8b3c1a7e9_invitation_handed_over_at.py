"""invitation handed_over_at: a copy may be with the mail server while its outcome is not on record

Set in the commit before a message's final dot, cleared when its outcome is stored. A claim whose
lease ran out is a takeover (a possible duplicate) only when this is set; without it the process
that died never handed the message over, and it is sent as a fresh one.

Revision ID: d5f8b3c1a7e9
Revises: c4e7a2d9b1f3
Create Date: 2026-12-07 11:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

import app.models.types

# revision identifiers, used by Alembic.
revision = 'd5f8b3c1a7e9'
down_revision = 'c4e7a2d9b1f3'
branch_labels = None
depends_on = None


# Plain ADD/DROP COLUMN, not a batch: SQLite's batch copies the table, which the rollup's
# triggers on response (naming invitation) do not survive. Both databases do these in place.
def upgrade():
    op.add_column(
        'invitation',
        sa.Column('handed_over_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    )
    # Rows a dispatcher held when this ran may have been handed over: their next claim stays a
    # takeover, as it was before this column existed.
    op.execute(
        "UPDATE invitation SET handed_over_at = claimed_until WHERE claimed_until IS NOT NULL"
    )


def downgrade():
    op.execute("ALTER TABLE invitation DROP COLUMN handed_over_at")
