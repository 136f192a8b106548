"""The data the hostile crawler walks through: the reports dataset (tests/support/datasets) with
something behind every kind of URL (a draft questionnaire, a rule, a follow-up, an action, a
target, a webhook, an API key, an outbox message, survey links), and one user per role.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from tests.support.datasets.reports import Data, at
from tests.support.factories import make_user, node

#: role name: (role, units). The unit users get "fen"; the sample follow-up is zabita's.
ROLES = {
    "viewer": ("viewer", None),
    "manager": ("viewer", ["fen"]),
    "designer": ("designer", None),
    "admin": ("admin", None),
    "unit designer": ("designer", ["fen"]),
    "unit admin": ("admin", ["fen"]),
}
PASSWORD = "correct horse battery"
SURVEY_LINKS = 40


@dataclass
class CrawlWorld:
    app: Flask
    api_key: str = ""
    survey_tokens: list[str] = field(default_factory=list)
    path_values: dict[str, str] = field(default_factory=dict)

    def email_of(self, role: str) -> str:
        return f"{role.replace(' ', '-')}@example.org"

    def restore_account(self, role: str) -> None:
        """The role's account as built, before it logs in: an earlier role's crawl of the
        account pages may have reset its password, disabled it, changed its role or units, or
        switched on two-factor login; that was the page doing its job, not lost data."""
        from sqlalchemy import delete, select

        from app.models import RecoveryCode, Role, Unit, User

        kind, units = ROLES[role]
        with self.app.app_context():
            user = db.session.scalar(select(User).where(User.email == self.email_of(role)))
            user.set_password(PASSWORD)
            user.active, user.role = True, Role(kind)
            user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
            user.units = list(db.session.scalars(select(Unit).where(Unit.code.in_(units or []))))
            db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
            db.session.commit()


def build_world(app: Flask) -> CrawlWorld:
    from app.auth.services import create_api_key
    from app.models import ApiScope

    world = CrawlWorld(app)
    with app.app_context():
        _organisation()
    for role, (kind, units) in ROLES.items():
        make_user(app, world.email_of(role), kind, PASSWORD, units)
    with app.app_context():
        world.survey_tokens = _survey_links()
        _, world.api_key = create_api_key("crawler", [ApiScope.ADMIN])
        create_api_key("to revoke", [ApiScope.READ])
        world.path_values = path_values(app)
    return world


def _organisation() -> None:
    from app.design.services import install_template, new_draft, template_paths
    from app.distribution.dispatcher import dispatch_due
    from app.followup.services import open_follow_up_if_needed
    from app.models import (
        Category,
        DistributionRule,
        ImprovementAction,
        Invitation,
        InvitationState,
        Target,
        Unit,
        Webhook,
    )

    data = Data().setup()
    # The codes of the OpenAPI document's examples.
    node(Unit, "fen.yol", "fen")
    node(Category, "cop", "temizlik")
    ces = install_template(next(p for p in template_paths() if p.stem == "ces"))
    db.session.add(
        DistributionRule(
            key="ces",
            questionnaire=ces,
            delay_minutes=0,
            send_window_start="00:00",
            send_window_end="23:59",
        )
    )
    data.bulk_responses("fen", at(2025, 1, 10), [5, 4, 4, 5, 3])
    theirs = data.response(
        "zabita", at(2025, 1, 15), overall=1, comment="<b>kötü</b>", email="z@example.org"
    )
    ours = data.response("fen", at(2025, 1, 16), overall=2, email="f@example.org")
    db.session.commit()
    for response in (theirs, ours):
        open_follow_up_if_needed(response)
    db.session.add_all(
        [
            ImprovementAction(
                unit_id=theirs.unit_id, metric="csat", title="Training", owner="Head of unit"
            ),
            ImprovementAction(unit_id=ours.unit_id, metric="nps", title="Calls", owner="Fen"),
            Target(unit_id=None, metric="csat", value=0.8),
            Webhook(
                url="https://hooks.example.org/memnun", secret="s" * 32, events=["response.created"]
            ),
        ]
    )
    db.session.commit()
    new_draft(ces)
    db.session.add(
        Invitation(
            complaint_id=ours.complaint_id,
            version_id=ours.version_id,
            state=InvitationState.PLANNED,
            language="tr",
            due_at=dt.datetime.now(dt.UTC),
        )
    )
    db.session.commit()
    assert dispatch_due().sent == 1  # a message in the outbox, for its page
    _walk_in_point()


def _walk_in_point() -> None:
    """A service point whose page links its survey, with an answer held for review."""
    from flask import current_app

    from tests.support.walkin import answer, make_point

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    point_id, _code = make_point(app, code="FEN-DESK", unit="fen")
    answer(app, point_id, device="crawler")
    answer(app, point_id, {"overall": 1}, device="crawler")  # held: the same device


def _survey_links() -> list[str]:
    """Invitations sent and waiting for an answer, one link each."""
    from app.distribution.tokens import assign_token
    from app.models import Complaint, Invitation, InvitationState, QuestionnaireVersion

    # The reports dataset's questionnaire: a rating, yes/no, NPS and a free text.
    version = db.session.scalars(
        select(QuestionnaireVersion).order_by(QuestionnaireVersion.id)
    ).first()
    complaint = db.session.scalars(select(Complaint).order_by(Complaint.id)).first()
    assert version is not None and complaint is not None
    now = dt.datetime.now(dt.UTC)
    invitations = [
        Invitation(
            complaint_id=complaint.id,
            version_id=version.id,
            state=InvitationState.SENT,
            language="en",
            sent_at=now,
            expires_at=now + dt.timedelta(days=30),
        )
        for _ in range(SURVEY_LINKS)
    ]
    db.session.add_all(invitations)
    db.session.flush()
    tokens = [assign_token(invitation) for invitation in invitations]
    db.session.commit()
    return tokens


def path_values(app: Flask) -> dict[str, str]:
    """A real value for each variable of the URL map, read from the database."""
    from app.models import (
        ApiKey,
        Complaint,
        DistributionRule,
        FollowUp,
        ImprovementAction,
        QuestionnaireVersion,
        ServicePoint,
        Target,
        Unit,
        Webhook,
    )

    def first(column: Any) -> str:
        return str(db.session.scalars(select(column).order_by(column)).first())

    draft = db.session.scalars(
        select(QuestionnaireVersion).where(QuestionnaireVersion.status == "draft")
    ).first()
    assert draft is not None
    outbox = sorted(p.name for p in _outbox(app).glob("*.eml"))
    return {
        "action_id": first(ImprovementAction.id),
        "follow_up_id": first(FollowUp.id),
        "target_id": first(Target.id),
        "key_id": str(db.session.scalars(select(ApiKey.id).order_by(ApiKey.id.desc())).first()),
        "webhook_id": first(Webhook.id),
        "ref": first(Complaint.id),
        "code": first(Unit.code),
        "key": draft.questionnaire.key,
        "number": str(draft.number),
        "question_key": draft.definition["questions"][0]["key"],
        "rule_key": first(DistributionRule.key),
        "name": outbox[0] if outbox else "x.eml",
        "token": "x" * 43,
        "package_name": "dash",
        "path": "drill",
        "filename": "css/app.css",
        "fingerprinted_path": "deps/polyfill@7.12.1.min.js",
        "point_id": first(ServicePoint.id),
        "kind": "poster",
        "decision": "accept",
    }


def _outbox(app: Flask) -> Any:
    from pathlib import Path

    return Path(app.config["MEMNUN_OUTBOX_DIR"])
