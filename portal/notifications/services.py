"""One notification service every feature uses: in-site and by mail, never blocking.

``notify`` writes a notification and queues mail in the same transaction as the change
that caused it; the worker (``send_queued_mail``) delivers later, so a slow or broken
SMTP server never slows or breaks a request.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import Integer, func, insert, literal_column, or_, select, update

from portal.db import db, utcnow
from portal.notifications.models import Notification, OutboxMessage

if TYPE_CHECKING:
    from portal.accounts.models import User

log = logging.getLogger(__name__)
STALE_CLAIM = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 5


def notify(
    user: User,
    title: Any,
    body: Any = "",
    *,
    link: str | None = None,
    kind: str = "general",
    email: bool = True,
) -> int:
    """Tell a user something in the site, and by e-mail when they have an address;
    returns the notification's id.

    Pass lazy strings (``lazy_gettext``): they are rendered in the recipient's language
    (the station's default), not in the language of whoever caused the notification."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        title, body = str(title), str(body)
    # One Core statement writes the row and counts the user's other unread ones for the
    # bell (no ORM object: nothing in the request reads it back).
    note_id, others = db.session.execute(
        insert(_NOTIFICATIONS)
        .values(user_id=user.id, title=title[:200], body=body, link=link, kind=kind)
        .returning(_NOTIFICATIONS.c.id, _OTHER_UNREAD)
    ).one()
    if email and user.email:
        text = body + (f"\n\n{current_app.config['BASE_URL']}{link}" if link else "")
        queue_message(user.email, title, text)
    _publish_after_commit(user.id, others + 1)  # the new one is unread too
    return int(note_id)


_NOTIFICATIONS = Notification.__table__
# The RETURNING clause's count of the user's unread notifications other than the new one.
# Written out because RETURNING names the target table's columns unqualified; excluding
# the new row by id makes the figure the same whether the backend's subquery sees the row
# being inserted (SQLite) or not (PostgreSQL: the statement's snapshot).
_OTHER_UNREAD = literal_column(
    "(SELECT count(*) FROM notifications AS other"
    " WHERE other.user_id = notifications.user_id AND other.read_at IS NULL"
    " AND other.id <> notifications.id)",
    Integer,
)


def _publish_after_commit(user_id: int, count: int | None = None) -> None:
    from portal.realtime import publish_after_commit, user_room

    # The count is taken inside the transaction; no SQL is needed after commit.
    publish_after_commit(
        "unread",
        {"count": unread_count_by_id(user_id) if count is None else count},
        room=user_room(user_id),
        namespace="/notifications",
    )


def unread_count_by_id(user_id: int) -> int:
    """The bell count of a user by id."""
    stmt = select(func.count()).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    return db.session.scalar(stmt) or 0


def queue_message(to: str, subject: str, body: str, channel: str = "email") -> int:
    """Queue a message for the worker (one Core INSERT); returns its id."""
    table = OutboxMessage.__table__
    return int(
        db.session.execute(
            insert(table)
            .values(channel=channel, to_address=to, subject=subject[:200], body=body)
            .returning(table.c.id)
        ).scalar_one()
    )


def unread_count(user: User) -> int:
    """The number under the bell."""
    return unread_count_by_id(user.id)


def notifications_for(user: User, page: int, per_page: int = 20) -> tuple[list[Notification], int]:
    """A page of a user's notifications, newest first, and the total."""
    base = select(Notification).where(Notification.user_id == user.id)
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = db.session.scalars(
        base.order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows), total


def mark_read(user: User, note_id: int | None = None) -> int:
    """Mark one (or all) of a user's notifications read; returns how many changed."""
    stmt = update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    if note_id is not None:
        stmt = stmt.where(Notification.id == note_id)
    changed = db.session.execute(stmt.values(read_at=utcnow())).rowcount or 0
    if changed:
        _publish_after_commit(user.id)  # the other open tabs update their bell too
    return changed


def _claim(msg_id: int) -> bool:
    # A conditional update: of two workers racing for one message, exactly one wins.
    now = utcnow()
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == msg_id,
            or_(
                OutboxMessage.status == "queued",
                (OutboxMessage.status == "sending")
                & (OutboxMessage.claimed_at < now - STALE_CLAIM),
            ),
        )
        .values(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
    )
    db.session.commit()
    return result.rowcount == 1


def send_queued_mail(limit: int = 50) -> int:
    """Deliver queued messages; safe to run in several workers at once."""
    cutoff = utcnow() - STALE_CLAIM
    ids = db.session.scalars(
        select(OutboxMessage.id)
        .where(
            or_(
                OutboxMessage.status == "queued",
                (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < cutoff),
            )
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    db.session.commit()
    delivered = 0
    for msg_id in ids:
        if not _claim(msg_id):
            continue
        msg = db.session.get(OutboxMessage, msg_id)
        assert msg is not None
        try:
            status = _deliver(msg)
        except (OSError, smtplib.SMTPException) as exc:
            msg.status = "failed" if msg.attempts >= MAX_ATTEMPTS else "queued"
            msg.last_error = str(exc)[:500]
            log.warning("mail %s not sent: %s", msg.id, exc)
        else:
            msg.status = status
            msg.sent_at = utcnow()
            delivered += 1
        db.session.commit()
    return delivered


def _deliver(msg: OutboxMessage) -> str:
    cfg = current_app.config
    if msg.channel != "email" or not cfg.get("SMTP_HOST"):
        # Dev outbox: kept in the table for admins, and printed for whoever runs the server.
        print(f"[outbox] to={msg.to_address} subject={msg.subject}\n{msg.body}\n", flush=True)
        return "outbox"
    email = EmailMessage()
    email["From"] = cfg["MAIL_FROM"]
    email["To"] = msg.to_address
    email["Subject"] = msg.subject
    email.set_content(msg.body)
    with smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=20) as smtp:
        if cfg.get("SMTP_STARTTLS"):
            smtp.starttls()
        if cfg.get("SMTP_USER"):
            smtp.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"] or "")
        smtp.send_message(email)
    return "sent"


def outbox_page(page: int, per_page: int = 30) -> tuple[list[OutboxMessage], int]:
    """The dev outbox, newest first, for admins."""
    total = db.session.scalar(select(func.count(OutboxMessage.id))) or 0
    rows = db.session.scalars(
        select(OutboxMessage)
        .order_by(OutboxMessage.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows), total
