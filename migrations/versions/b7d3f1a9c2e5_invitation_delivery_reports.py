"""invitation delivery reports: what became of a message after the gateway or server took it

``delivery`` (delivered / failed) and ``delivery_reported_at``: set by the first final delivery
report of the invitation's own message (an SMS gateway's receipt; a hard bounce).

Revision ID: b7d3f1a9c2e5
Revises: e2a9c4f7b1d3
Create Date: 2026-12-07 15:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b7d3f1a9c2e5'
down_revision = 'e2a9c4f7b1d3'
branch_labels = None
depends_on = None


# Added in place (ALTER TABLE ... ADD COLUMN, the same SQL on SQLite and PostgreSQL) rather than
# by a batch copy of the table: on SQLite the copy renames the invitation table, which the
# rollup triggers of other tables refer to. The CHECK is the one str_enum gives the model.
COLUMNS = (
    "delivery VARCHAR(32) CONSTRAINT ck_invitation_invitation_delivery "
    "CHECK (delivery IN ('delivered', 'failed'))",
    "delivery_reported_at {time}",
)


def upgrade():
    connection = op.get_bind()
    time = "TIMESTAMP WITH TIME ZONE" if connection.dialect.name == "postgresql" else "DATETIME"
    for column in COLUMNS:
        op.execute(f"ALTER TABLE invitation ADD COLUMN {column.format(time=time)}")


def downgrade():
    for name in ("delivery_reported_at", "delivery"):
        op.execute(f"ALTER TABLE invitation DROP COLUMN {name}")
