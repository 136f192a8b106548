"""answer search_terms: the stems a comment is found by (the comments explorer's search)

A text answer's words stemmed in its response's language (``app.wordforms``), so that a search
for "çöpler" finds "çöp" on SQLite and PostgreSQL alike. PostgreSQL indexes them for text search
(GIN over ``to_tsvector('simple', search_terms)``: the stems are made already, 'simple' only
splits them). Existing comments are stemmed here; new ones when they are stored.

Revision ID: b7d3f1a9c5e2
Revises: e2a9c4f7b1d3
Create Date: 2026-12-07 15:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

from app.wordforms import search_terms

# revision identifiers, used by Alembic.
revision = 'b7d3f1a9c5e2'
down_revision = 'e2a9c4f7b1d3'
branch_labels = None
depends_on = None

BATCH = 2000


# Plain ADD/DROP COLUMN, not a batch: SQLite's batch copies the table (see d5f8b3c1a7e9).
def upgrade():
    op.add_column('answer', sa.Column('search_terms', sa.Text(), nullable=True))
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(sa.text(
            "SELECT a.id, a.value_text, r.language FROM answer a JOIN response r"
            " ON r.id = a.response_id WHERE a.question_type = 'text'"
            " AND a.value_text IS NOT NULL AND a.id > :last ORDER BY a.id LIMIT :n"),
            {"last": last, "n": BATCH}).all()
        if not rows:
            break
        bind.execute(sa.text("UPDATE answer SET search_terms = :terms WHERE id = :id"),
                     [{"id": row[0], "terms": search_terms(row[1], row[2])} for row in rows])
        last = rows[-1][0]
    if bind.dialect.name == 'postgresql':
        op.execute("CREATE INDEX ix_answer_search_terms ON answer"
                   " USING gin (to_tsvector('simple', search_terms))")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP INDEX ix_answer_search_terms")
    op.execute("ALTER TABLE answer DROP COLUMN search_terms")
