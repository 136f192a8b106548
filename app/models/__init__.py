"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from app.models.actions import ACTION_METRICS, ActionStatus, ImprovementAction
from app.models.auth import (
    ApiKey,
    ApiScope,
    AuditLog,
    PasswordLink,
    PasswordLinkPurpose,
    RecoveryCode,
    Role,
    StaffSession,
    User,
)
from app.models.complaint import (
    Complainant,
    Complaint,
    ComplaintEvent,
    ComplaintKind,
    ComplaintStatus,
    EventType,
)
from app.models.distribution import (
    DistributionRule,
    Invitation,
    InvitationChannel,
    InvitationState,
    MessageDelivery,
    RuleTrigger,
    SuppressionReason,
)
from app.models.followup import (
    AlertDigestRun,
    FollowUp,
    FollowUpNote,
    FollowUpReason,
    FollowUpState,
)
from app.models.organisation import Category, Channel, OrganisationSettings, Unit
from app.models.phone import FAILED_OUTCOMES, CallAttempt, CallOutcome, PhoneUse
from app.models.questionnaire import Questionnaire, QuestionnaireVersion, VersionStatus
from app.models.response import Answer, Response, ResponseMode, ResponseSource
from app.models.rollup import HourlyDimensionFigures, HourlyFigures
from app.models.service import Campaign, CampaignState, Service, ServiceEvent
from app.models.targets import ServiceVolume, Target
from app.models.themes import CommentTheme, Theme
from app.models.walkin import ServicePoint, WalkInDevice
from app.models.webhook import DeliveryState, Webhook, WebhookDelivery

__all__ = [
    "FAILED_OUTCOMES",
    "CallAttempt",
    "CallOutcome",
    "PhoneUse",
    "ServicePoint",
    "WalkInDevice",
    "ServiceEvent",
    "Service",
    "CampaignState",
    "Campaign",
    "ResponseSource",
    "ResponseMode",
    "RuleTrigger",
    "ComplaintKind",
    "ACTION_METRICS",
    "ActionStatus",
    "AlertDigestRun",
    "Answer",
    "ApiKey",
    "ApiScope",
    "AuditLog",
    "Category",
    "Channel",
    "CommentTheme",
    "Complainant",
    "Complaint",
    "ComplaintEvent",
    "ComplaintStatus",
    "DeliveryState",
    "DistributionRule",
    "EventType",
    "FollowUp",
    "FollowUpNote",
    "FollowUpReason",
    "FollowUpState",
    "HourlyDimensionFigures",
    "HourlyFigures",
    "ImprovementAction",
    "Invitation",
    "InvitationChannel",
    "InvitationState",
    "MessageDelivery",
    "OrganisationSettings",
    "PasswordLink",
    "PasswordLinkPurpose",
    "Questionnaire",
    "QuestionnaireVersion",
    "RecoveryCode",
    "Response",
    "Role",
    "ServiceVolume",
    "StaffSession",
    "SuppressionReason",
    "Target",
    "Theme",
    "Unit",
    "User",
    "VersionStatus",
    "Webhook",
    "WebhookDelivery",
]
