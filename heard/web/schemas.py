"""API request and response bodies (validated by pydantic; invalid input is a 422)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from heard.access import MAX_ID

Channel = Literal["email", "chat", "social", "phone", "web_form", "api"]
Status = Literal["open", "pending", "snoozed", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]
Language = Literal["en", "fr", "es"]

# The largest id a client may send (heard.access.MAX_ID: 32-bit INTEGER columns).
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerIn(Strict):
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    handle: str | None = Field(default=None, max_length=320)

    @model_validator(mode="after")
    def one_identity(self) -> CustomerIn:
        if not (self.email or self.phone or self.handle):
            raise ValueError("give at least one of email, phone or handle")
        return self


class AttachmentIn(Strict):
    filename: str = Field(max_length=255)
    content_type: str = Field(default="application/octet-stream", max_length=255)
    size: int = Field(ge=0)
    url: str | None = Field(default=None, max_length=2000)


class InboundIn(Strict):
    channel: Channel
    customer: CustomerIn
    subject: str | None = Field(default=None, max_length=500)
    text: str = Field(min_length=1, max_length=200_000)
    html: str | None = Field(default=None, max_length=1_000_000)
    external_id: str | None = Field(default=None, min_length=1, max_length=255)
    thread_key: str | None = Field(default=None, min_length=1, max_length=255)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=100)


class InboundOut(BaseModel):
    conversation_id: int
    message_id: int
    created: bool


class ReplyIn(Strict):
    text: str = Field(min_length=1, max_length=200_000)
    html: str | None = Field(default=None, max_length=1_000_000)
    status: Status | None = None


class NoteIn(Strict):
    text: str = Field(min_length=1, max_length=200_000)


class AssignIn(Strict):
    agent_id: Id | None = None
    team_id: Id | None = None
    unassign_agent: bool = False
    unassign_team: bool = False


class StatusIn(Strict):
    status: Status
    snoozed_until: datetime | None = None

    @model_validator(mode="after")
    def aware(self) -> StatusIn:
        if self.snoozed_until is not None and self.snoozed_until.tzinfo is None:
            raise ValueError("snoozed_until needs a timezone (e.g. 2026-12-01T09:00:00Z)")
        return self


class PriorityIn(Strict):
    priority: Priority


class TagsIn(Strict):
    tags: list[str] = Field(min_length=1, max_length=20)


class MergeIn(Strict):
    source_id: Id


class CreatedOut(BaseModel):
    id: int


class MessageOut(BaseModel):
    id: int
    kind: str
    channel: str
    author_agent_id: int | None
    author_customer_id: int | None
    text: str
    html: str | None
    attachments: list[Any]
    external_id: str | None
    created_at: datetime
    reading: dict[str, Any] | None
    review: dict[str, Any] | None


class ConversationOut(BaseModel):
    id: int
    subject: str
    status: str
    priority: str
    channel: str
    language: str
    customer_id: int
    customer_name: str
    assignee_id: int | None
    team_id: int | None
    tags: list[str]
    created_at: datetime
    last_activity_at: datetime
    first_response_at: datetime | None
    emotion: str | None
    emotion_intensity: float
    anger_type: str
    urgency: float
    abuse: str


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None


class RatingOut(BaseModel):
    score: int = Field(description="1 bad, 2 okay, 3 good")
    label: Literal["bad", "okay", "good"]
    comment: str
    rated_at: datetime


class ConversationDetailOut(ConversationOut):
    messages: list[MessageOut]
    closed_at: datetime | None
    snoozed_until: datetime | None
    merged_into_id: int | None
    transfer_count: int
    rating: RatingOut | None = Field(
        default=None, description="The customer's satisfaction rating of this conversation")


class CustomerCreateIn(CustomerIn):
    language: Language | None = None


class CustomerUpdateIn(Strict):
    name: str | None = Field(default=None, max_length=200)
    language: Language | None = None


class IdentityOut(BaseModel):
    kind: str
    value: str


class CustomerOut(BaseModel):
    id: int
    name: str
    language: str | None
    identities: list[IdentityOut]
    merged_into_id: int | None


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    next_before_id: int | None


class AgentIn(Strict):
    email: str = Field(max_length=320)
    name: str = Field(min_length=1, max_length=200)
    role: Literal["agent", "lead", "admin"] = "agent"
    password: str | None = Field(default=None, min_length=8, max_length=200)
    languages: list[Language] = Field(default_factory=lambda: list[Language](["en"]), max_length=3)
    team_ids: list[Id] = Field(default_factory=list, max_length=50)


class AgentUpdateIn(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Literal["agent", "lead", "admin"] | None = None
    availability: Literal["available", "away", "on_break"] | None = None
    ui_language: Language | None = None
    is_active: bool | None = None


class AgentOut(BaseModel):
    id: int
    email: str
    name: str
    role: str
    availability: str
    languages: list[str]
    ui_language: str
    is_active: bool


class TeamIn(Strict):
    name: str = Field(min_length=1, max_length=120)


class TeamMembersIn(Strict):
    agent_ids: list[Id] = Field(max_length=500)


class TeamOut(BaseModel):
    id: int
    name: str
    agent_ids: list[int]


class TagIn(Strict):
    name: str = Field(min_length=1, max_length=80)


class TagOut(BaseModel):
    id: int
    name: str


class SavedReplyOut(BaseModel):
    id: int
    title: str
    body: str = Field(description="with its {customer_name}, {first_name}, {agent_name} unfilled")
    language: str
    team_id: int | None = Field(description="None: shared with every agent")
    updated_at: datetime


class TokenIn(Strict):
    name: str = Field(default="", max_length=120)


class TokenOut(BaseModel):
    token: str
