"""Consultations (在线咨询), their messages, canned replies, and live-chat conversations."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, LabelledEnum, as_utc, str_enum, utcnow

if TYPE_CHECKING:
    from portal.accounts.models import User
    from portal.communities.models import Community


class Category(LabelledEnum):
    """What a question is about; lawyers handle only ``LEGAL``."""

    LEGAL = "legal", _l("法律咨询")
    HOUSEHOLD = "household", _l("户籍与证件")
    SECURITY = "security", _l("治安")
    RENTAL = "rental", _l("出租房屋与流动人口")
    OTHER = "other", _l("其他")


class ConsultStatus(LabelledEnum):
    """Where a consultation stands.

    ``open``: the station owes a reply (the SLA clock runs). ``answered``: replied, the ball
    is with the resident. ``waiting``: an officer asked the resident for something (the
    clock is paused). ``closed``: done; the asker may reopen it with a reason.
    """

    OPEN = "open", _l("待答复")
    ANSWERED = "answered", _l("已答复")
    WAITING = "waiting", _l("等待居民补充")
    CLOSED = "closed", _l("已关闭")


class MessageKind(enum.StrEnum):
    """A line in a consultation's thread. ``note`` is internal: residents never see it."""

    QUESTION = "question"
    REPLY = "reply"
    FOLLOWUP = "followup"
    NOTE = "note"
    REOPEN = "reopen"
    EVENT = "event"


PUBLIC_KINDS = (
    MessageKind.QUESTION,
    MessageKind.REPLY,
    MessageKind.FOLLOWUP,
    MessageKind.REOPEN,
    MessageKind.EVENT,
)


class Consultation(Base):
    """A resident's question and its thread, with the SLA reply target."""

    __tablename__ = "consultations"
    __table_args__ = (
        Index("ix_consultations_status_due_at", "status", "due_at"),
        Index("ix_consultations_community_id_status", "community_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    category: Mapped[Category] = mapped_column(str_enum(Category))
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    is_complex: Mapped[bool] = mapped_column(Boolean, default=False)
    is_urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[ConsultStatus] = mapped_column(
        str_enum(ConsultStatus), default=ConsultStatus.OPEN
    )
    source: Mapped[str] = mapped_column(String(10), default="web")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    #: The reply target; None while no reply is owed (answered, waiting, closed).
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    #: Office time left on the SLA when it was paused (waiting on the resident), in seconds.
    paused_remaining: Mapped[int | None] = mapped_column(Integer)
    #: The target a "due soon" warning was sent for (a new target may warn again).
    warned_for_due: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    first_reply_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    first_due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    first_reply_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rating_comment: Mapped[str | None] = mapped_column(String(500))
    viewing_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    viewing_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    asker: Mapped[User] = relationship(foreign_keys=[asker_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    community: Mapped[Community | None] = relationship()
    messages: Mapped[list[ConsultMessage]] = relationship(
        back_populates="consultation", order_by="ConsultMessage.id", cascade="all, delete-orphan"
    )

    def is_overdue(self, now: dt.datetime) -> bool:
        """A reply is owed and its target has passed."""
        due = as_utc(self.due_at)
        return self.status == ConsultStatus.OPEN and due is not None and due < now

    def can_be_handled_by(self, user: User) -> bool:
        """Officers of the community, admins, and lawyers for legal questions."""
        if not user.is_authenticated:
            return False
        role = str(user.role)
        if role == "admin":
            return True
        if role == "lawyer":
            return self.category == Category.LEGAL
        if role == "officer":
            return self.community_id is None or user.serves(self.community_id)
        return False

    def can_be_followed_by(self, user: User) -> bool:
        """Only the asker follows a question as its owner."""
        return user.is_authenticated and user.id == self.asker_id

    def in_knowledge_base(self) -> bool:
        """Public and answered: shown to everyone without the asker's identity."""
        return self.is_public and self.first_reply_at is not None


class ConsultMessage(Base):
    """One entry of a consultation's thread (question, reply, follow-up, internal note…)."""

    __tablename__ = "consult_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[MessageKind] = mapped_column(str_enum(MessageKind))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    consultation: Mapped[Consultation] = relationship(back_populates="messages")
    author: Mapped[User | None] = relationship()

    @property
    def is_internal(self) -> bool:
        return self.kind == MessageKind.NOTE


class CannedReply(Base):
    """A stock answer officers insert into a reply and then edit."""

    __tablename__ = "consult_canned_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(60), unique=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Conversation(Base):
    """A live chat between a resident and the officers of their community (one per pair)."""

    __tablename__ = "chat_conversations"
    __table_args__ = (UniqueConstraint("resident_id", "community_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_message_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    #: The last message id each side has read (read receipts and unread counts).
    resident_read_id: Mapped[int] = mapped_column(Integer, default=0)
    staff_read_id: Mapped[int] = mapped_column(Integer, default=0)
    #: The consultation messages went to while no officer was on duty.
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id"))
    #: The resident wrote an emergency word: shown first and marked in the officers' inbox.
    is_urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    resident: Mapped[User] = relationship()
    community: Mapped[Community] = relationship()

    def can_join(self, user: User) -> bool:
        """The resident, the officers serving the community, and admins."""
        if not user.is_authenticated:
            return False
        if user.id == self.resident_id:
            return True
        return str(user.role) in ("officer", "admin") and user.serves(self.community_id)

    def is_resident(self, user: User) -> bool:
        return user.id == self.resident_id


class ChatMessage(Base):
    """A chat line. ``client_id`` (made by the sender's browser) makes a resend harmless."""

    __tablename__ = "chat_messages"
    __table_args__ = (UniqueConstraint("conversation_id", "sender_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("chat_conversations.id", ondelete="CASCADE"), index=True
    )
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    sender: Mapped[User] = relationship()
