"""follow-ups of service users' answers: follow_up.complaint_id may be empty

A service user's low score (a response about a service event, issue 16) goes on the follow-up
list like a complainant's. Such a follow-up has no complaint: what it is about (the service
event: its service, unit and date) is reached through its response's ``service_event_id``, so
no column is added; ``follow_up.complaint_id`` only becomes nullable.

Downgrade: the schema before cannot hold a follow-up without a complaint, so the follow-ups of
service users' answers are DELETED, with their notes (what staff wrote about them is lost; the
responses and their answers stay). Complaint follow-ups are kept as they are.

Revision ID: c3d5e7f9a1b2
Revises: b7e2d4c6a8f1
Create Date: 2026-12-08 01:20:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c3d5e7f9a1b2'
down_revision = 'b7e2d4c6a8f1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('follow_up') as batch_op:
        batch_op.alter_column('complaint_id', existing_type=sa.Integer(), nullable=True)


def downgrade():
    # Notes first: SQLite runs migrations without enforcing the ON DELETE CASCADE.
    op.execute('DELETE FROM follow_up_note WHERE follow_up_id IN '
               '(SELECT id FROM follow_up WHERE complaint_id IS NULL)')
    op.execute('DELETE FROM follow_up WHERE complaint_id IS NULL')
    with op.batch_alter_table('follow_up') as batch_op:
        batch_op.alter_column('complaint_id', existing_type=sa.Integer(), nullable=False)
