"""normalise complainant e-mail addresses to the form they are now stored and matched in

Revision ID: c4e7a2d9b1f3
Revises: c4e7a2d9f1b3
Create Date: 2026-12-07 08:45:00.000000

Addresses were stored trimmed with their ASCII letters lower-cased; since this revision they are
stored as app/emails.py gives them (email_validator's normalised form: the domain lower-cased in
Unicode, ``xn--`` decoded, NFC; the local part's ASCII letters lower-cased). This rewrites every
stored address in that form, with its own copy of the rule (a migration must not change when
the app does). An address email_validator refuses is left as it was stored.

Two rows that now hold the same address are the same person, as they would have been had the
address come in normalised (docs/design.md, "Complainant e-mail addresses"): rows are not
merged (each complaint keeps the complainant row it came with), but an opt-out of one of them
is carried to the others, with the earliest opt-out time, since an opt-out is never undone.
Erased rows hold no address and are not touched.

Downgrade leaves the addresses normalised: the spelling they came in with is not kept, and the
earlier code finds them all the same.
"""

import sqlalchemy as sa
from alembic import op
from email_validator import EmailNotValidError, validate_email

import app.models.types

# revision identifiers, used by Alembic.
revision = "c4e7a2d9b1f3"
down_revision = "c4e7a2d9f1b3"
branch_labels = None
depends_on = None

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
complainant = sa.table(
    "complainant",
    sa.column("id", sa.Integer),
    sa.column("email", sa.String),
    sa.column("opted_out_at", app.models.types.UTCDateTime()),
    sa.column("erased_at", app.models.types.UTCDateTime()),
)


def _normalised(address: str) -> str:
    try:
        normalized = validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return address.strip().translate(_ASCII_LOWER)
    local, _, domain = normalized.rpartition("@")
    return f"{local.translate(_ASCII_LOWER)}@{domain}"


def upgrade():
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(complainant.c.id, complainant.c.email, complainant.c.opted_out_at)
        .where(complainant.c.email.is_not(None), complainant.c.erased_at.is_(None))
        .order_by(complainant.c.id)
    ).all()
    people: dict[str, list] = {}
    for row in rows:
        address = _normalised(row.email)
        if address != row.email:
            connection.execute(
                complainant.update().where(complainant.c.id == row.id).values(email=address)
            )
        people.setdefault(address, []).append(row)
    for same in people.values():
        opted_out = [row.opted_out_at for row in same if row.opted_out_at is not None]
        if opted_out and len(opted_out) < len(same):
            connection.execute(
                complainant.update()
                .where(
                    complainant.c.id.in_([row.id for row in same]),
                    complainant.c.opted_out_at.is_(None),
                )
                .values(opted_out_at=min(opted_out))
            )


def downgrade():
    pass
