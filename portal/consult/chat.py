"""Live chat (在线交流) between a resident and their community's officers.

The socket handlers (``events.py``) call these services and commit; a message is in the
database before anyone hears of it (``publish_after_commit``). Each message carries the
client id its sender made: a resend of the same id returns the stored message instead of a
second copy, and a client that reconnects asks for everything after the last id it holds.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import (
    Exists,
    Insert,
    Select,
    Update,
    bindparam,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from portal.accounts.models import User
from portal.communities.models import Community, OfficerProfile, OfficerStatus, community_officers
from portal.consult import services as consult
from portal.consult.models import (
    Category,
    ChatMessage,
    Consultation,
    ConsultStatus,
    Conversation,
    MessageKind,
)
from portal.db import DriverStatement, as_utc, db, utcnow
from portal.errors import DomainError
from portal.forms import strip_control_characters
from portal.realtime import publish, publish_after_commit
from portal.security import audit
from portal.security.pii import mask_name
from portal.station.calendar import get_calendar

NAMESPACE = "/chat"
MAX_MESSAGE_CHARS = 2000
MAX_CLIENT_ID = 64
HISTORY_LIMIT = 200


def room(conversation_id: int) -> str:
    """The Socket.IO room of one conversation."""
    return f"conversation:{conversation_id}"


#: The room of admins' inboxes (they see every community's conversations).
ALL_INBOXES = "chat-inbox:all"


def inbox_room(community_id: int) -> str:
    """The room of the officers' chat inboxes for one community (unread, urgent, presence)."""
    return f"chat-inbox:{community_id}"


def inbox_rooms_of(user: User) -> list[str]:
    """The inbox rooms a member of staff listens to."""
    if str(user.role) == "admin":
        return [ALL_INBOXES]
    if str(user.role) != "officer":
        return []
    return [inbox_room(c.id) for c in user.served_communities]


def to_inboxes(event: str, data: dict, community_id: int, *, after_commit: bool = True) -> None:
    """Tell the inboxes of the conversation's community (and admins') about a change: one
    emit to both rooms (the packet is made once, and no one hears it twice)."""
    targets = [inbox_room(community_id), ALL_INBOXES]
    if after_commit:
        publish_after_commit(event, data, room=targets, namespace=NAMESPACE)
    else:
        publish(event, data, room=targets, namespace=NAMESPACE)


def message_dict(m: ChatMessage) -> dict:
    """What clients receive for a stored message."""
    return _wire_message(
        id=m.id,
        conversation_id=m.conversation_id,
        client_id=m.client_id,
        sender_id=m.sender_id,
        sender=m.sender.display_name if m.sender else "",
        body=m.body,
        created_at=m.created_at,
    )


def _wire_message(*, created_at: dt.datetime, **fields: Any) -> dict:
    """What clients receive for a message (the body is plain text; clients escape it):
    one shape for a message read back (``message_dict``) and one just written (``post_from``)."""
    return {**fields, "created_at": as_utc(created_at).isoformat()}


def conversation_for(resident: User) -> Conversation:
    """The resident's conversation with their community (made on first use)."""
    if resident.community_id is None:
        raise DomainError(_("请先在账户中选择所在社区。"), code="no_community")
    conv = db.session.scalar(
        select(Conversation).where(
            Conversation.resident_id == resident.id,
            Conversation.community_id == resident.community_id,
        )
    )
    if conv is None:
        conv = Conversation(resident_id=resident.id, community_id=resident.community_id)
        db.session.add(conv)
        db.session.flush()
    return conv


def _on_duty_exists() -> Exists:
    """Is an officer of the community (``:of_community``) on duty now?"""
    return (
        select(community_officers.c.officer_id)
        .join(OfficerProfile, OfficerProfile.user_id == community_officers.c.officer_id)
        .where(
            community_officers.c.community_id == bindparam("of_community"),
            # Plain comparisons, not an expanding IN: the statement is built once and
            # executed per message, and an IN list is re-rendered at every execution.
            or_(*(OfficerProfile.status == s for s in OfficerStatus if s.on_duty)),
        )
        .exists()
    )


def _conversation_changes(resident: bool, urgent: bool, read_up_to: Any) -> dict[str, Any]:
    """The conversation's columns after a new message (``:at``): the sender's side has read
    up to it (``read_up_to``), and an urgent resident message marks it urgent."""
    values: dict[str, Any] = {"last_message_at": bindparam("at")}
    values["resident_read_id" if resident else "staff_read_id"] = read_up_to
    if urgent:
        values["is_urgent"] = True
    return values


def _unread_column(resident: bool, *, not_yet_visible: int = 0) -> Any:
    """The ``unread`` column a message's bookkeeping returns: the resident's unread messages
    (``_unread_of_updated``), 0 for a staff message."""
    return (_unread_of_updated(not_yet_visible=not_yet_visible) if resident else literal(0)).label(
        "unread"
    )


@functools.cache
def _conversation_update(resident: bool, urgent: bool) -> Update:
    """SQLite: the conversation's update after a new message (``:conv_id``, ``:msg_id``,
    ``_conversation_changes``). It returns the urgent flag as it now is, whether an officer
    of the community (``:of_community``) is on duty (always for staff) and the resident's
    unread count (``:sender_id``): the columns ``_message_and_update`` returns after the id.
    Built once per variant: every chat message passes here, and building a statement costs
    more Python than executing one."""
    changes = _conversation_changes(resident, urgent, bindparam("msg_id"))
    return (
        update(Conversation)
        .where(Conversation.id == bindparam("conv_id"))
        .values(changes)
        .returning(
            Conversation.is_urgent,
            (_on_duty_exists() if resident else true()).label("on_duty"),
            _unread_column(resident),
        )
    )


def _unread_of_updated(*, not_yet_visible: int = 0) -> Any:
    """In the conversation's update: the resident's messages after what staff have read
    (``not_yet_visible``: the new message, when the statement that inserts it cannot see
    it)."""
    unread = (
        select(func.count(ChatMessage.id))
        .where(
            ChatMessage.conversation_id == bindparam("conv_id"),
            ChatMessage.sender_id == bindparam("sender_id"),
            ChatMessage.id > Conversation.staff_read_id,
        )
        .correlate(Conversation)
        .scalar_subquery()
    )
    return unread + not_yet_visible if not_yet_visible else unread


@functools.cache
def _message_and_update(resident: bool, urgent: bool, *, only_on_duty: bool) -> Select:
    """PostgreSQL: the insert and the conversation's update as one statement (the insert a
    data-modifying CTE the update reads), so a message is one round trip. One row: the new
    id (none when the client id was stored already, a resend: then nothing is updated
    either), the urgent flag, whether an officer is on duty (always for staff) and the
    resident's unread count.

    ``only_on_duty``: a resident's message is stored only while an officer of the community
    is on duty, so that the statement can run on its own (autocommit, ``_record``); when
    nobody is on duty, the message and its consultation are stored in one transaction."""
    on_duty: Any = _on_duty_exists() if resident else true()
    new = _insert_once_stmt("postgresql", only_on_duty=resident and only_on_duty)
    new = new.cte("new_message")
    changes = _conversation_changes(resident, urgent, select(new.c.id).scalar_subquery())
    changed = (
        update(Conversation)
        .where(Conversation.id == bindparam("conv_id"), exists(select(new.c.id)))
        .values(changes)
        .returning(Conversation.is_urgent, _unread_column(resident, not_yet_visible=1))
        .cte("conversation_update")
    )
    return select(
        select(new.c.id).scalar_subquery(),
        select(changed.c.is_urgent).scalar_subquery(),
        on_duty,
        select(changed.c.unread).scalar_subquery(),
    )


@functools.lru_cache(maxsize=32)
def _message_alone(resident: bool, urgent: bool, engine: Engine) -> DriverStatement:
    """``_message_and_update`` storing only what needs nothing stored with it, compiled once
    per engine and run on its own (autocommit, without SQLAlchemy's per-execution layers:
    every chat message passes here)."""
    return DriverStatement(_message_and_update(resident, urgent, only_on_duty=True), engine)


def officers_on_duty(community_id: int) -> list[User]:
    """Officers of the community whose whereabouts board says they are on duty."""
    rows = db.session.scalars(
        select(User)
        .join(community_officers, community_officers.c.officer_id == User.id)
        .join(OfficerProfile, OfficerProfile.user_id == User.id)
        .where(
            community_officers.c.community_id == community_id,
            OfficerProfile.status.in_([s for s in OfficerStatus if s.on_duty]),
        )
    ).all()
    return list(rows)


@dataclass
class Presence:
    """What the chat page says about the officers: on duty or not, and when they are back."""

    on_duty: bool
    officers: list[User]
    back_at: dt.datetime | None


def presence(community_id: int) -> Presence:
    """On duty, or the next opening of the station when nobody is."""
    on_duty = officers_on_duty(community_id)
    community = db.session.get(Community, community_id)
    officers = list(community.officers) if community else []
    if on_duty:
        return Presence(True, officers, None)
    cal = get_calendar()
    now = utcnow()
    # The station may be open while this community's officer is out; then there is no
    # promise to make beyond "as soon as possible", so no time is given.
    back = None if cal.is_open(now) else cal.next_opening(now)
    return Presence(False, officers, back)


def history(conv: Conversation, after_id: int = 0, limit: int = HISTORY_LIMIT) -> list[ChatMessage]:
    """Messages after ``after_id`` in order (resync after a reconnect)."""
    return list(
        db.session.scalars(
            select(ChatMessage)
            .where(ChatMessage.conversation_id == conv.id, ChatMessage.id > after_id)
            .order_by(ChatMessage.id)
            .limit(limit)
        )
    )


def page_before(conv: Conversation, before_id: int | None, limit: int = 50) -> list[ChatMessage]:
    """A page of older messages (before ``before_id``), oldest first, for scrolling back."""
    stmt = select(ChatMessage).where(ChatMessage.conversation_id == conv.id)
    if before_id:
        stmt = stmt.where(ChatMessage.id < before_id)
    rows = db.session.scalars(stmt.order_by(ChatMessage.id.desc()).limit(limit)).all()
    return list(reversed(rows))


@dataclass
class Posted:
    """The result of ``post_from``: the stored message (as clients see it, ``message_dict``),
    whether it is new, and the offline notice."""

    message: dict
    created: bool
    consultation_id: int | None = None
    back_at: dt.datetime | None = None
    offline: bool = False
    urgent: bool = False


@dataclass(frozen=True)
class Seat:
    """One user's place in one conversation, learnt when their socket first proves it
    belongs there (``Seat.of``). All of it is fixed for the conversation's life, so a message
    from a socket that holds its seat needs no conversation or user look-up (``post_from``);
    the resident's own seat also names what an inbox row shows.
    The names are as they were when the socket joined (a renamed user's messages carry the
    new name from their next page load)."""

    conversation_id: int
    community_id: int
    user_id: int
    sender_name: str
    is_resident: bool
    resident_name: str  # masked, as inboxes show it
    community_name: str

    @property
    def lasts_the_session(self) -> bool:
        """A resident's own conversation stays theirs; an officer's community may change, so
        staff seats are checked again at each session check."""
        return self.is_resident

    @classmethod
    def of(cls, conv: Conversation, user: User) -> Seat:
        return cls(
            conversation_id=conv.id,
            community_id=conv.community_id,
            user_id=user.id,
            sender_name=user.display_name,
            is_resident=conv.is_resident(user),
            resident_name=mask_name(conv.resident.display_name if conv.resident else ""),
            community_name=conv.community.name if conv.community else "",
        )


def _check(body: str, client_id: str) -> str:
    text = strip_control_characters(body or "").strip()
    if not text:
        raise DomainError(_("消息不能为空。"), field="body", code="invalid")
    if len(text) > MAX_MESSAGE_CHARS:
        raise DomainError(
            _("消息最多 %(n)s 个字。", n=MAX_MESSAGE_CHARS), field="body", code="too_long"
        )
    if (
        not client_id
        or len(client_id) > MAX_CLIENT_ID
        or client_id != strip_control_characters(client_id)
    ):
        raise DomainError(_("缺少消息编号。"), field="client_id", code="invalid")
    return text


@functools.cache
def _insert_once_stmt(dialect: str, *, only_on_duty: bool = False) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING id`` for a message (``:conv_id``,
    ``:sender_id``, ``:client_id``, ``:body``, ``:at``); ``only_on_duty``: no row unless an
    officer of the community (``:of_community``) is on duty."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    columns = ChatMessage.__table__.c
    fields = {
        "conversation_id": "conv_id",
        "sender_id": "sender_id",
        "client_id": "client_id",
        "body": "body",
        "created_at": "at",
    }
    if only_on_duty:
        row = select(*(bindparam(p, type_=columns[c].type) for c, p in fields.items()))
        stmt = insert(ChatMessage).from_select(list(fields), row.where(_on_duty_exists()))
    else:
        stmt = insert(ChatMessage).values({c: bindparam(p) for c, p in fields.items()})
    return stmt.on_conflict_do_nothing(
        index_elements=["conversation_id", "sender_id", "client_id"]
    ).returning(ChatMessage.id)


@dataclass
class _Recorded:
    msg_id: int
    is_urgent: bool
    on_duty: bool  # staff messages count as on duty
    unread: int  # the resident's unread messages; 0 for staff messages
    durable: bool  # committed already (stored on its own), not in the session's transaction


def _record(
    seat: Seat, client_id: str, text: str, at: dt.datetime, urgent: bool
) -> _Recorded | None:
    """Store the message unless this sender already stored this client id (then None), and
    update the conversation: the sender's side has read up to it, the urgent flag, and, for
    a resident, whether an officer is on duty and the unread count.

    ``INSERT … ON CONFLICT DO NOTHING RETURNING id``: no savepoint round trips, and a racing
    resend simply finds no row returned. Core statements: nothing the caller already knows
    is read back into an ORM object.

    On PostgreSQL the insert and the update are one statement (``_message_and_update``).
    Whenever the message needs nothing else stored with it (staff wrote, or an officer is
    on duty) that statement runs on its own, in autocommit: one round trip, with no
    ``BEGIN`` and ``COMMIT`` around it; it is durable when it returns. When no officer is on
    duty it stores nothing, and the message is stored again in the session's transaction,
    with the consultation the caller adds. On SQLite the insert and the update are two
    statements in the session's transaction."""
    params: dict[str, Any] = {
        "conv_id": seat.conversation_id,
        "sender_id": seat.user_id,
        "client_id": client_id,
        "body": text,
        "at": at,
    }
    if seat.is_resident:
        params["of_community"] = seat.community_id
    engine = db.engine
    if engine.dialect.name == "postgresql":
        row = _message_alone(seat.is_resident, urgent, engine).one(params)
        durable = True
        if row[0] is None and not row[2]:  # nobody on duty: store it with the consultation
            stmt = _message_and_update(seat.is_resident, urgent, only_on_duty=False)
            row = tuple(db.session.connection().execute(stmt, params).one())
            durable = False
        msg_id, rest = row[0], row[1:]
        if msg_id is None:
            return None
    else:
        connection = db.session.connection()
        msg_id = connection.execute(_insert_once_stmt(connection.dialect.name), params).scalar()
        if msg_id is None:
            return None
        params["msg_id"] = msg_id
        rest = connection.execute(_conversation_update(seat.is_resident, urgent), params).one()
        durable = False
    return _Recorded(msg_id, bool(rest[0]), bool(rest[1]), int(rest[2] or 0), durable)


def post_from(seat: Seat, body: str, client_id: str) -> Posted:
    """Store a message (once per client id) and announce it to the room once it is committed.

    When the resident writes while no officer of the community is on duty, the message also
    goes into a consultation in the queue, so that it is answered within the SLA.

    Every chat message passes here, so it does only what it must: the insert itself tells a
    resend apart (the unique client id), one update does the bookkeeping and says whether an
    officer is on duty, and nothing is read back that is already known. The conversation and
    the user are loaded only for a resend or when no officer is on duty."""
    text = _check(body, client_id)
    at = utcnow()
    urgent = seat.is_resident and consult.is_emergency(text)
    recorded = _record(seat, client_id, text, at, urgent)
    if recorded is None:  # a resend of a stored client id (or the same resend racing us)
        existing = db.session.scalar(
            select(ChatMessage).where(
                ChatMessage.conversation_id == seat.conversation_id,
                ChatMessage.sender_id == seat.user_id,
                ChatMessage.client_id == client_id,
            )
        )
        assert existing is not None
        conv = db.session.get(Conversation, seat.conversation_id)
        return Posted(
            message_dict(existing), False, conv.consultation_id if conv else None, urgent=urgent
        )
    message = _wire_message(
        id=recorded.msg_id,
        conversation_id=seat.conversation_id,
        client_id=client_id,
        sender_id=seat.user_id,
        sender=seat.sender_name,
        body=text,
        created_at=at,
    )
    result = Posted(message, True, urgent=urgent)
    # Stored on its own, the message is durable already: the room hears it now. Otherwise it
    # is part of the session's transaction, and the room hears it once that commits.
    announce = publish if recorded.durable else publish_after_commit
    announce("message", message, room=room(seat.conversation_id), namespace=NAMESPACE)
    if urgent:  # the event is idempotent: the flag is simply on
        announce(
            "urgent",
            {"conversation_id": seat.conversation_id, "urgent": True},
            room=room(seat.conversation_id),
            namespace=NAMESPACE,
        )
    if seat.is_resident and not recorded.on_duty:
        conv = db.session.get(Conversation, seat.conversation_id)
        user = db.session.get(User, seat.user_id)
        state = presence(seat.community_id)
        c = _to_consultation(user, conv, text)
        result.offline, result.back_at, result.consultation_id = True, state.back_at, c.id
    row = _inbox_row(seat, unread=recorded.unread, urgent=recorded.is_urgent, last_message_at=at)
    to_inboxes("inbox", row, seat.community_id, after_commit=not recorded.durable)
    return result


def _to_consultation(resident: User, conv: Conversation, text: str) -> Consultation:
    """Add the message to the conversation's open consultation, or start one."""
    current = db.session.get(Consultation, conv.consultation_id) if conv.consultation_id else None
    if current is not None and current.status != ConsultStatus.CLOSED:
        consult.follow_up(resident, current, text)
        return current
    c = consult.ask(
        resident,
        category=Category.OTHER,
        title=_("在线交流留言"),
        body=text,
        is_public=False,
        source="chat",
    )
    conv.consultation_id = c.id
    return c


def convert(officer: User, conv: Conversation) -> Consultation:
    """An officer turns the conversation into a consultation (resident's recent messages)."""
    if not conv.can_join(officer) or conv.is_resident(officer):
        raise DomainError(_("您不在这个对话中。"), code="forbidden")
    lines = [m.body for m in page_before(conv, None, limit=20) if m.sender_id == conv.resident_id]
    if not lines:
        raise DomainError(_("居民还没有发送消息。"), code="empty")
    resident = conv.resident
    c = consult.ask(
        resident,
        category=Category.OTHER,
        title=_("在线交流转咨询"),
        body="\n".join(lines),
        is_public=False,
        source="chat",
    )
    c.assignee_id = officer.id
    c.is_urgent = c.is_urgent or conv.is_urgent
    consult._add(c, officer, MessageKind.NOTE, _("由在线交流转为咨询。"))
    conv.consultation_id = c.id
    db.session.flush()
    return c


def clear_urgent(officer: User, conv: Conversation) -> None:
    """An officer has dealt with the emergency: the conversation is no longer urgent (the
    resident's 110 banner and the officers' mark go away). Audited. A later message with an
    emergency word marks it urgent again."""
    if not conv.can_join(officer) or conv.is_resident(officer):
        raise DomainError(_("您不在这个对话中。"), code="forbidden")
    if not conv.is_urgent:
        raise DomainError(_("这个对话没有紧急标记。"), code="not_urgent")
    conv.is_urgent = False
    audit.record(officer, "chat.urgent_cleared", subject=conv.resident, obj=conv)
    db.session.flush()
    publish_after_commit(
        "urgent",
        {"conversation_id": conv.id, "urgent": False},
        room=room(conv.id),
        namespace=NAMESPACE,
    )
    to_inboxes("inbox", inbox_row(conv), conv.community_id)


def mark_read(user: User, conv: Conversation, last_id: int) -> int:
    """Record what one side has read; announced to the room for read receipts."""
    if not conv.can_join(user):
        raise DomainError(_("您不在这个对话中。"), code="forbidden")
    top = (
        db.session.scalar(
            select(func.max(ChatMessage.id)).where(ChatMessage.conversation_id == conv.id)
        )
        or 0
    )
    last_id = max(0, min(int(last_id), top))
    side = "resident" if conv.is_resident(user) else "staff"
    if side == "resident":
        conv.resident_read_id = max(conv.resident_read_id, last_id)
        value = conv.resident_read_id
    else:
        conv.staff_read_id = max(conv.staff_read_id, last_id)
        value = conv.staff_read_id
    db.session.flush()
    publish_after_commit(
        "read",
        {"conversation_id": conv.id, "side": side, "last_id": value},
        room=room(conv.id),
        namespace=NAMESPACE,
    )
    if side == "staff":
        to_inboxes("inbox", inbox_row(conv, 0 if value == top else None), conv.community_id)
    return value


def _unread(conv: Conversation) -> Select[tuple[int]]:
    return select(func.count(ChatMessage.id)).where(
        ChatMessage.conversation_id == conv.id,
        ChatMessage.sender_id == conv.resident_id,
        ChatMessage.id > conv.staff_read_id,
    )


def unread_count(conv: Conversation) -> int:
    """The resident's messages no officer has read yet."""
    return db.session.scalar(_unread(conv)) or 0


def inbox_row(conv: Conversation, unread: int | None = None) -> dict:
    """What an inbox shows of a conversation (the resident's name masked)."""
    return _inbox_row(
        Seat.of(conv, conv.resident),  # the resident's own seat names what the row shows
        unread=unread_count(conv) if unread is None else unread,
        urgent=conv.is_urgent,
        last_message_at=conv.last_message_at,
    )


def _inbox_row(
    seat: Seat, *, unread: int, urgent: bool, last_message_at: dt.datetime | None
) -> dict:
    last = last_message_at
    return {
        "conversation_id": seat.conversation_id,
        "community_id": seat.community_id,
        "resident": seat.resident_name,
        "community": seat.community_name,
        "unread": unread,
        "urgent": urgent,
        "online": resident_online(seat.conversation_id),
        "last_message_at": last.replace(tzinfo=last.tzinfo or dt.UTC).isoformat() if last else None,
    }


# -- the resident's presence (this process's sockets) ----------------------------------------

_presence_lock = threading.Lock()


def _online() -> dict[int, set[str]]:
    """Conversation id -> the socket ids of the resident joined to it (per app)."""
    return current_app.extensions.setdefault("portal.chat_presence", {})


def resident_joined(conversation_id: int, sid: str) -> bool:
    """Record a resident's socket in the conversation; True when they just came online."""
    with _presence_lock:
        sids = _online().setdefault(conversation_id, set())
        was_offline = not sids
        sids.add(sid)
        return was_offline


def resident_left(sid: str, conversation_id: int | None = None) -> list[int]:
    """Forget a resident's socket (one conversation, or all of them on disconnect); the
    conversations where the resident is now offline."""
    gone: list[int] = []
    with _presence_lock:
        online = _online()
        ids = [conversation_id] if conversation_id is not None else list(online)
        for cid in ids:
            sids = online.get(cid)
            if sids and sid in sids:
                sids.discard(sid)
                if not sids:
                    del online[cid]
                    gone.append(cid)
    return gone


def resident_online(conversation_id: int) -> bool:
    with _presence_lock:
        return bool(_online().get(conversation_id))


def inbox(officer: User) -> list[tuple[Conversation, int]]:
    """Conversations of the officer's communities, urgent first, then latest, with unread
    counts."""
    stmt = select(Conversation)
    if str(officer.role) != "admin":
        served = select(community_officers.c.community_id).where(
            community_officers.c.officer_id == officer.id
        )
        stmt = stmt.where(Conversation.community_id.in_(served))
    convs = db.session.scalars(
        stmt.where(Conversation.last_message_at.is_not(None))
        .order_by(Conversation.is_urgent.desc(), Conversation.last_message_at.desc())
        .limit(100)
    ).all()
    if not convs:
        return []
    unread = dict(
        db.session.execute(
            select(ChatMessage.conversation_id, func.count())
            .join(Conversation, Conversation.id == ChatMessage.conversation_id)
            .where(
                ChatMessage.conversation_id.in_([c.id for c in convs]),
                ChatMessage.sender_id == Conversation.resident_id,
                ChatMessage.id > Conversation.staff_read_id,
            )
            .group_by(ChatMessage.conversation_id)
        ).all()
    )
    return [(c, unread.get(c.id, 0)) for c in convs]
