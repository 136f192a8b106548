"""Which units a member of staff may see: the one rule, for every page, report and dashboard.

A unit manager (a user given units) sees their own units and every unit below them, whatever
their role: the units limit even an admin, who then works as that unit's manager. Staff without
units see the whole organisation. Decided from the signed-in user on the server, never from what
the browser sends. What a role may see at all (comments, contact data, follow-ups) is the
business of each area; this module says only where.

Pages that show or change the whole organisation at once (the integration: API keys, webhooks,
CSV import; the outbox and the operations page; distribution rules; questionnaires; targets;
the organisation settings)
cannot be cut down to some units: a user given units is refused them (403), whatever the role.
``WHOLE_ORGANISATION`` lists them, and ``app.auth.decorators.inside_own_units`` enforces it for
every request.
"""

from __future__ import annotations

from app.analytics.tree import Tree, unit_tree
from app.models import Role, User

#: Endpoint prefixes of the pages that show or change the whole organisation (see the module).
WHOLE_ORGANISATION = ("api_admin.", "webhooks_admin.", "intake_admin.", "distribution.",
                      "design.", "reports.targets", "reports.delete_target_view",
                      "staff.organisation", "reports.theme_")


def works_inside_units(user: User) -> bool:
    """Whether ``user`` was given units, and so sees and changes only those."""
    return bool(user.units)


def units_in_scope(user: User, units: Tree | None = None) -> frozenset[int] | None:
    """The ids of the units ``user`` may see; None: all of them (staff without units).

    ``units`` is the unit tree when the caller has it already (it is read whole otherwise).
    """
    own = [unit.id for unit in user.units]
    if not own:
        return None
    return frozenset((units or unit_tree()).below(own))


def organisation_unit(unit_id: int | None, units: Tree | None = None) -> int | None:
    """``unit_id`` as stored for targets and actions: None (the organisation) for the single
    root unit, which *is* the organisation, so the two are never told apart."""
    if unit_id is None:
        return None
    return None if unit_id == (units or unit_tree()).single_root() else unit_id


def pickable_units(user: User, units: Tree | None = None) -> list[int]:
    """The ids of the units ``user`` may pick in a form. For staff without units the single
    root unit is left out: the form's own first choice (the whole organisation, named as the
    organisation settings say) stands for it, so the organisation is never listed twice."""
    tree = units or unit_tree()
    allowed = units_in_scope(user, tree)
    if allowed is None:
        root = tree.single_root()
        return [uid for uid in tree.nodes if uid != root]
    return sorted(allowed)


def unit_choices(user: User, *, under: int = 0) -> list[tuple[int, str]]:
    """(id, label) of the units ``user`` may pick in a form (``pickable_units``), as a tree:
    each unit below its parent, indented a level, siblings by ``app.collation.name_key``
    (Çevre among the C's, İmar among the I's). ``under=1`` hangs the list below the form's
    first choice, as the dashboards' picker hangs the units below the root."""
    tree = unit_tree()
    return tree.labelled(pickable_units(user, tree), under=under)


def may_read_comments(user: User) -> bool:
    """Free text may name people: only admins and designers read it, never viewers."""
    return user.has_role(Role.DESIGNER)


def may_see_personal_data(user: User) -> bool:
    """Personal data (the complainant's contact data, and what people write about themselves
    in comments) only for admins: everyone else who reads comments reads them redacted
    (``app.analytics.redaction``)."""
    return user.role == Role.ADMIN


def may_call_people(user: User) -> bool:
    """The name, number and language of the people to call, on the call list and the call
    screen only (``app.phone``): admins, and users an admin made phone interviewers. Nowhere
    else does the permission reveal anything: every other page asks ``may_see_personal_data``."""
    return may_see_personal_data(user) or user.phone_interviewer
