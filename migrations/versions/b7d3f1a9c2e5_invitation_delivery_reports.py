"""invitation delivery reports: what became of a message after the gateway or server took it

``delivery`` (delivered / failed) and ``delivery_reported_at``: set by the first final delivery
report of the invitation's own message (an SMS gateway's receipt; a hard bounce).

Revision ID: b7d3f1a9c2e5
Revises: b7d3f1a9c5e2
Create Date: 2026-12-07 15:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b7d3f1a9c2e5'
down_revision = 'b7d3f1a9c5e2'
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
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        for name in ("delivery_reported_at", "delivery"):
            op.execute(f"ALTER TABLE invitation DROP COLUMN {name}")
        return
    # SQLite drops a column under a table CHECK only by copying the table (a later revision may
    # have copied it, making the column's CHECK a table one), which renames it: the rollup
    # triggers of the other tables refer to it, so they go first and come back after.
    from app.analytics.rollup import install_triggers

    triggers = connection.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'memnun_rollup_%'"
    ).scalars().all()
    for name in triggers:
        op.execute(f"DROP TRIGGER {name}")
    with op.batch_alter_table("invitation", recreate="always") as batch_op:
        batch_op.drop_constraint(op.f("ck_invitation_invitation_delivery"), type_="check")
        batch_op.drop_column("delivery_reported_at")
        batch_op.drop_column("delivery")
    install_triggers(connection)
