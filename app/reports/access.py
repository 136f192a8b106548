"""Which units a member of staff may choose in a report: all of them, or a unit manager's own
units and the units below them. Decided from the signed-in user on the server, never from what
the browser sends."""

from __future__ import annotations

from flask_babel import gettext as _

from app.analytics.tree import unit_tree
from app.auth.scope import pickable_units
from app.collation import name_key
from app.models import User


class NotYourUnit(PermissionError):
    """The user asked for a unit outside their scope."""


def report_scope(user: User, unit_id: int | None,
                 organisation: str) -> tuple[list[int] | None, str]:
    """The units a report is about and its title: ``unit_id`` if given and allowed; else the
    whole organisation (None), or a unit manager's own units. Raises ``NotYourUnit``."""
    if unit_id is not None:
        tree = unit_tree()
        if unit_id not in pickable_units(user, tree):
            raise NotYourUnit(unit_id)
        return [unit_id], tree.nodes[unit_id].name
    if user.units:
        units = sorted(user.units, key=lambda unit: name_key(unit.name))
        return [unit.id for unit in units], ", ".join(unit.name for unit in units)
    return None, organisation or _("The organisation")
