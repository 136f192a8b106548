"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from app.models.auth import ApiKey, ApiScope, AuditLog, Role, User
from app.models.complaint import (
    Complainant,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    EventType,
)
from app.models.distribution import (
    DistributionRule,
    Invitation,
    InvitationState,
    SuppressionReason,
)
from app.models.organisation import Category, Channel, Unit
from app.models.questionnaire import Questionnaire, QuestionnaireVersion, VersionStatus
from app.models.response import Answer, Response
from app.models.targets import ServiceVolume, Target

__all__ = [
    "Answer",
    "ApiKey",
    "ApiScope",
    "AuditLog",
    "Category",
    "Channel",
    "Complainant",
    "Complaint",
    "ComplaintEvent",
    "ComplaintStatus",
    "DistributionRule",
    "EventType",
    "Invitation",
    "InvitationState",
    "Questionnaire",
    "QuestionnaireVersion",
    "Response",
    "Role",
    "ServiceVolume",
    "SuppressionReason",
    "Target",
    "Unit",
    "User",
    "VersionStatus",
]
