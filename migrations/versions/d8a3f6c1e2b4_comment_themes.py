"""comment themes: ``theme`` and ``comment_theme`` (each comment's theme)

Filled by the scheduler's themes job (``app.analytics.themes``); nothing to migrate.

Revision ID: d8a3f6c1e2b4
Revises: c9e1a5d3f7b2
Create Date: 2026-12-07 16:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = 'd8a3f6c1e2b4'
down_revision = 'c9e1a5d3f7b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'theme',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('terms', sa.Text(), nullable=False),
        sa.Column('label', sa.Text(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=True),
        sa.Column('merged_terms', sa.Text(), nullable=True),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('computed_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_theme')),
    )
    op.create_table(
        'comment_theme',
        sa.Column('answer_id', sa.Integer(), nullable=False),
        sa.Column('theme_id', sa.Integer(), nullable=False),
        sa.Column('weight', sa.Float(), nullable=False),
        sa.Column('band', sa.String(length=1), nullable=True),
        sa.ForeignKeyConstraint(['answer_id'], ['answer.id'],
                                name=op.f('fk_comment_theme_answer_id_answer'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['theme_id'], ['theme.id'],
                                name=op.f('fk_comment_theme_theme_id_theme'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('answer_id', name=op.f('pk_comment_theme')),
    )
    with op.batch_alter_table('comment_theme', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comment_theme_theme_id'), ['theme_id'], unique=False)


def downgrade():
    with op.batch_alter_table('comment_theme', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comment_theme_theme_id'))
    op.drop_table('comment_theme')
    op.drop_table('theme')
