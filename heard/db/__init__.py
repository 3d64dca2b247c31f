"""SQLAlchemy models, one module per noun. Importing this package registers them all."""

from heard.db.agent import Agent, ApiToken
from heard.db.attachment import Attachment
from heard.db.audit import AuditEvent
from heard.db.base import Base, utcnow
from heard.db.conversation import Conversation
from heard.db.customer import Customer, CustomerIdentity
from heard.db.email import EmailDelivery, RawEmail
from heard.db.engine import Database, after_commit
from heard.db.mailbox import Mailbox
from heard.db.message import Message
from heard.db.outbox import OutboxItem
from heard.db.rating import SatisfactionRating
from heard.db.saved_reply import SavedReply
from heard.db.sla import SlaTarget
from heard.db.tag import ConversationTag, Tag
from heard.db.team import Team, TeamMember

__all__ = [
    "Agent",
    "ApiToken",
    "Attachment",
    "AuditEvent",
    "Base",
    "Conversation",
    "ConversationTag",
    "Customer",
    "CustomerIdentity",
    "Database",
    "EmailDelivery",
    "Mailbox",
    "Message",
    "OutboxItem",
    "RawEmail",
    "SatisfactionRating",
    "SavedReply",
    "SlaTarget",
    "Tag",
    "Team",
    "TeamMember",
    "after_commit",
    "utcnow",
]
