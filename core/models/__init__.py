"""Database tables. Chatwoot's own ids are the keys wherever Chatwoot's ids are global.

Every timestamp is timezone-aware UTC: SQLModel 0.0.50 rejects naive datetimes. Importing
this package registers every table in ``SQLModel.metadata``; each table lives in the module
named for what it holds, and is imported from here.
"""

from __future__ import annotations

from core.models.audit import AuditEntry, FollowUpSwitch
from core.models.autonomy import AutonomyChange, InboxSetting
from core.models.columns import UTCDateTime
from core.models.conversations import Account, Contact, Conversation, Inbox, Message
from core.models.deliveries import Delivery
from core.models.drafts import DRAFT_STATES, Draft, DraftMessage
from core.models.experiments import Arm, Assignment, Experiment
from core.models.forgotten_contacts import ForgottenContact
from core.models.handoffs import Handoff
from core.models.import_progress import ImportProgress
from core.models.outbox import OutboxItem
from core.models.reactivation import (
    FOLLOW_UP_STATES,
    FollowUp,
    FollowUpGroup,
    Lead,
    OptOut,
)

__all__ = [
    "DRAFT_STATES",
    "FOLLOW_UP_STATES",
    "Account",
    "AuditEntry",
    "Arm",
    "Assignment",
    "AutonomyChange",
    "Contact",
    "Conversation",
    "Delivery",
    "Draft",
    "DraftMessage",
    "Experiment",
    "FollowUp",
    "FollowUpGroup",
    "FollowUpSwitch",
    "ForgottenContact",
    "Handoff",
    "ImportProgress",
    "Inbox",
    "InboxSetting",
    "Lead",
    "Message",
    "OptOut",
    "OutboxItem",
    "UTCDateTime",
]
