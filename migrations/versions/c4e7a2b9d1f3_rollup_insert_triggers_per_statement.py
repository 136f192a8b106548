"""rollup: insert triggers count once per statement (PostgreSQL), so bulk intake adds up once

Revision ID: c4e7a2b9d1f3
Revises: c4e7a9d1f3b5
Create Date: 2026-12-07 08:30:00.000000

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "c4e7a2b9d1f3"
down_revision = "c4e7a9d1f3b5"
branch_labels = None
depends_on = None

TABLES = ("answer", "response", "complaint", "invitation")


def upgrade():
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return  # SQLite has no statement-level triggers: its row-level ones stay
    # The application's own definitions: the insert triggers become statement-level ones
    # over the transition table; the others are recreated unchanged.
    # Only the rollup this revision has: hourly_dimension_figures comes later (e2a9c4f7b1d3).
    from app.analytics.rollup import HOURLY, install_triggers

    install_triggers(connection, (HOURLY,))


def downgrade():
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    for table in TABLES:
        name = f"memnun_rollup_{table}"
        op.execute(f"DROP TRIGGER IF EXISTS {name}_insert ON {table}")
        op.execute(
            f"CREATE TRIGGER {name}_insert AFTER INSERT ON {table} FOR EACH ROW "
            f"EXECUTE FUNCTION {name}_after()"
        )
        op.execute(f"DROP FUNCTION IF EXISTS {name}_inserted()")
