"""Consultation use cases: ask, reply, follow up, wait, close, reopen, rate; the queue,
the knowledge base, and the dashboard panel.

Services flush and never commit (the request boundary does), raise ``DomainError`` when a
rule refuses, and ``notify`` the people concerned in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
from dataclasses import dataclass

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, inspect, or_, select, union, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, selectinload

from portal import search
from portal.accounts.models import Role, User
from portal.backoffice.panels import Panel, register_panel
from portal.communities.models import community_officers
from portal.consult import sla
from portal.consult.models import (
    PUBLIC_KINDS,
    CannedReply,
    Category,
    Consultation,
    ConsultMessage,
    ConsultStatus,
    MessageKind,
)
from portal.db import as_utc, db, utcnow
from portal.errors import DomainError
from portal.jobs import register_job
from portal.notifications.services import notify
from portal.security import audit
from portal.station.calendar import get_calendar

DEFAULT_EMERGENCY_WORDS = (
    "救命",
    "抢劫",
    "有人打人",
    "着火",
    "失火",
    "杀人",
    "绑架",
    "持刀",
    "自杀",
    "家暴",
)
#: Another officer who opened an item within this long is "on it".
VIEWING_WINDOW = dt.timedelta(minutes=5)
TABS = ("unassigned", "mine", "overdue", "waiting", "closed")


def emergency_words() -> tuple[str, ...]:
    """The configured words that signal an emergency (config or ``PORTAL_CONSULT_EMERGENCY_WORDS``,
    comma-separated), else the defaults."""
    configured = current_app.config.get("CONSULT_EMERGENCY_WORDS") or os.environ.get(
        "PORTAL_CONSULT_EMERGENCY_WORDS"
    )
    if isinstance(configured, str):
        configured = [w.strip() for w in configured.split(",")]
    words = tuple(w for w in (configured or DEFAULT_EMERGENCY_WORDS) if w)
    return words


def is_emergency(*texts: str) -> bool:
    """Whether any text contains an emergency word (the resident is shown the 110 banner)."""
    words = emergency_words()
    return any(w in (t or "") for t in texts for w in words)


def _now() -> dt.datetime:
    return utcnow()


def _add(c: Consultation, author: User | None, kind: MessageKind, body: str) -> ConsultMessage:
    msg = ConsultMessage(
        consultation=c, author_id=author.id if author else None, kind=kind, body=body
    )
    db.session.add(msg)
    return msg


# Plain paths rather than url_for: services also run outside requests (seed, jobs, chat).
def _link(c: Consultation) -> str:
    return f"/consult/{c.id}"


def _staff_link(c: Consultation) -> str:
    return f"/backoffice/consult/{c.id}"


def handlers_of(c: Consultation) -> list[User]:
    """Who hears of a new question: the assignee, else the community's officers (and, for a
    legal question, the lawyers)."""
    if c.assignee is not None:
        return [c.assignee]
    people: list[User] = []
    if c.community is not None:
        people.extend(c.community.officers)
    if c.category == Category.LEGAL:
        people.extend(db.session.scalars(select(User).where(User.role == Role.LAWYER)).all())
    return people


# -- the resident ----------------------------------------------------------------------------


def ask(
    resident: User,
    *,
    category: Category,
    title: str,
    body: str,
    is_public: bool,
    source: str = "web",
) -> Consultation:
    """A resident asks a question; the reply target is set on the station calendar."""
    now = _now()
    c = Consultation(
        asker_id=resident.id,
        community_id=resident.community_id,
        category=category,
        title=title.strip(),
        body=body.strip(),
        is_public=is_public,
        is_urgent=is_emergency(title, body),
        source=source,
        created_at=now,
        status=ConsultStatus.OPEN,
    )
    c.due_at = c.first_due_at = sla.reply_target(get_calendar(), now, complex_case=False)
    db.session.add(c)
    _add(c, resident, MessageKind.QUESTION, c.body)
    db.session.flush()
    db.session.refresh(c, ["community"])
    for person in handlers_of(c):
        notify(
            person,
            _l("新的咨询：%(title)s", title=c.title),
            _l("居民提交了新的咨询，请按时答复。"),
            link=_staff_link(c),
            kind="consult.new",
            email=False,
        )
    return c


def follow_up(resident: User, c: Consultation, body: str) -> ConsultMessage:
    """The asker adds to the question; a reply is owed again (the paused clock resumes)."""
    if not c.can_be_followed_by(resident):
        raise DomainError(_("只有提问人可以补充。"), code="forbidden")
    if c.status == ConsultStatus.CLOSED:
        raise DomainError(_("咨询已关闭，请先重新打开。"), code="closed")
    now = _now()
    cal = get_calendar()
    if c.status == ConsultStatus.WAITING and c.paused_remaining is not None:
        c.due_at = sla.resume(cal, dt.timedelta(seconds=c.paused_remaining), now)
    elif c.status != ConsultStatus.OPEN or c.due_at is None:
        c.due_at = sla.reply_target(cal, now, complex_case=c.is_complex)
    c.paused_remaining = None
    c.status = ConsultStatus.OPEN
    if is_emergency(body):
        c.is_urgent = True
    msg = _add(c, resident, MessageKind.FOLLOWUP, body.strip())
    db.session.flush()
    for person in handlers_of(c):
        notify(
            person,
            _l("咨询有新的补充：%(title)s", title=c.title),
            body[:200],
            link=_staff_link(c),
            kind="consult.followup",
            email=False,
        )
    return msg


def close(user: User, c: Consultation) -> None:
    """The asker or a handler closes the question."""
    if not (c.can_be_followed_by(user) or c.can_be_handled_by(user)):
        raise DomainError(_("无权关闭此咨询。"), code="forbidden")
    if c.status == ConsultStatus.CLOSED:
        raise DomainError(_("咨询已关闭。"), code="closed")
    c.status = ConsultStatus.CLOSED
    c.closed_at = _now()
    c.due_at = None
    c.paused_remaining = None
    _add(c, user, MessageKind.EVENT, _("咨询已关闭。"))
    db.session.flush()
    if user.id != c.asker_id:
        notify(
            c.asker,
            _l("您的咨询已关闭：%(title)s", title=c.title),
            _l("如仍有疑问，可以重新打开并说明原因。"),
            link=_link(c),
            kind="consult.closed",
        )


def reopen(resident: User, c: Consultation, reason: str) -> None:
    """The asker reopens a closed question with a reason; a new reply target is set."""
    if not c.can_be_followed_by(resident):
        raise DomainError(_("只有提问人可以重新打开。"), code="forbidden")
    if c.status != ConsultStatus.CLOSED:
        raise DomainError(_("只有已关闭的咨询可以重新打开。"), code="not_closed")
    now = _now()
    c.status = ConsultStatus.OPEN
    c.closed_at = None
    c.due_at = sla.reply_target(get_calendar(), now, complex_case=c.is_complex)
    _add(c, resident, MessageKind.REOPEN, reason.strip())
    db.session.flush()
    for person in handlers_of(c):
        notify(
            person,
            _l("咨询被重新打开：%(title)s", title=c.title),
            reason[:200],
            link=_staff_link(c),
            kind="consult.reopen",
            email=False,
        )


def rate(resident: User, c: Consultation, score: int, comment: str = "") -> None:
    """The asker rates the answer, 1 to 5, once it has one (a later rating replaces it)."""
    if not c.can_be_followed_by(resident):
        raise DomainError(_("只有提问人可以评价。"), code="forbidden")
    if c.first_reply_at is None:
        raise DomainError(_("答复之后才能评价。"), code="not_answered")
    if not 1 <= score <= 5:
        raise DomainError(_("评分须为 1 到 5。"), field="score", code="invalid")
    c.rating = score
    c.rating_comment = comment.strip() or None
    db.session.flush()


# -- officers and lawyers --------------------------------------------------------------------


def _require_handler(user: User, c: Consultation) -> None:
    if not c.can_be_handled_by(user):
        raise DomainError(_("您不能处理这条咨询。"), code="forbidden")


def reply(officer: User, c: Consultation, body: str) -> ConsultMessage:
    """Answer the resident; the first reply stops the SLA clock and claims an unassigned item."""
    _require_handler(officer, c)
    if c.status == ConsultStatus.CLOSED:
        raise DomainError(_("咨询已关闭。"), code="closed")
    now = _now()
    if c.first_reply_at is None:
        c.first_reply_at = now
        c.first_reply_by_id = officer.id
    if c.assignee_id is None:
        c.assignee_id = officer.id
    c.status = ConsultStatus.ANSWERED
    c.due_at = None
    c.paused_remaining = None
    msg = _add(c, officer, MessageKind.REPLY, body.strip())
    db.session.flush()
    notify(
        c.asker,
        _l("您的咨询有了答复：%(title)s", title=c.title),
        body[:200],
        link=_link(c),
        kind="consult.reply",
    )
    return msg


def add_note(officer: User, c: Consultation, body: str) -> ConsultMessage:
    """An internal note: officers and lawyers see it, residents never do."""
    _require_handler(officer, c)
    msg = _add(c, officer, MessageKind.NOTE, body.strip())
    db.session.flush()
    return msg


def mark_waiting(officer: User, c: Consultation, body: str = "") -> None:
    """Ask the resident for something and pause the SLA clock until they answer."""
    _require_handler(officer, c)
    if c.status not in (ConsultStatus.OPEN, ConsultStatus.ANSWERED):
        raise DomainError(_("当前状态不能标记为等待居民补充。"), code="bad_state")
    now = _now()
    due = as_utc(c.due_at)
    if c.status == ConsultStatus.OPEN and due is not None:
        c.paused_remaining = int(sla.pause(get_calendar(), due, now).total_seconds())
    c.status = ConsultStatus.WAITING
    c.due_at = None
    if c.assignee_id is None:
        c.assignee_id = officer.id
    text = body.strip() or _("请补充相关信息。")
    _add(c, officer, MessageKind.REPLY, text)
    db.session.flush()
    notify(
        c.asker,
        _l("请补充您的咨询：%(title)s", title=c.title),
        text[:200],
        link=_link(c),
        kind="consult.waiting",
    )


def mark_complex(officer: User, c: Consultation) -> None:
    """A complex case is due within 3 working days of its arrival instead of the same day."""
    _require_handler(officer, c)
    if c.is_complex:
        return
    c.is_complex = True
    if c.status == ConsultStatus.OPEN:
        c.due_at = sla.reply_target(get_calendar(), as_utc(c.created_at), complex_case=True)
        if c.first_reply_at is None:
            c.first_due_at = c.due_at
    _add(c, officer, MessageKind.NOTE, _("标记为复杂咨询（3 个工作日内答复）。"))
    db.session.flush()


def clear_urgent(officer: User, c: Consultation) -> None:
    """解除紧急: the emergency was dealt with; the item is ordered by its due time again.
    Noted in the thread (internal) and audited."""
    _require_handler(officer, c)
    if not c.is_urgent:
        raise DomainError(_("这条咨询没有紧急标记。"), code="not_urgent")
    c.is_urgent = False
    _add(c, officer, MessageKind.NOTE, _("已解除紧急标记。"))
    audit.record(officer, "consult.urgent_cleared", subject=c.asker, obj=c)
    db.session.flush()


def claim(officer: User, c: Consultation) -> None:
    """Take an unassigned item."""
    _require_handler(officer, c)
    if c.assignee_id is not None and c.assignee_id != officer.id:
        raise DomainError(_("这条咨询已由他人认领。"), code="taken")
    c.assignee_id = officer.id
    db.session.flush()


def assign(officer: User, c: Consultation, colleague: User) -> None:
    """Hand an item to a colleague who may handle it."""
    _require_handler(officer, c)
    if not c.can_be_handled_by(colleague):
        raise DomainError(_("该同事不能处理这条咨询。"), field="assignee_id", code="invalid")
    c.assignee_id = colleague.id
    _add(c, officer, MessageKind.NOTE, _("已转交给 %(name)s。", name=colleague.display_name))
    db.session.flush()
    if colleague.id != officer.id:
        notify(
            colleague,
            _l("咨询转交给您：%(title)s", title=c.title),
            "",
            link=_staff_link(c),
            kind="consult.assigned",
            email=False,
        )


def colleagues_for(c: Consultation) -> list[User]:
    """People an item may be assigned to."""
    people = list(c.community.officers) if c.community else []
    if c.category == Category.LEGAL:
        people += db.session.scalars(select(User).where(User.role == Role.LAWYER)).all()
    return [p for p in people if c.can_be_handled_by(p)]


def open_by(officer: User, c: Consultation) -> User | None:
    """Record that ``officer`` is looking at the item; return another who opened it recently."""
    now = _now()
    other = None
    seen = as_utc(c.viewing_at)
    if c.viewing_by_id not in (None, officer.id) and seen and now - seen < VIEWING_WINDOW:
        other = db.session.get(User, c.viewing_by_id)
    c.viewing_by_id = officer.id
    c.viewing_at = now
    db.session.flush()
    return other


def visible_messages(c: Consultation, viewer: User) -> list[ConsultMessage]:
    """The thread as ``viewer`` may see it: internal notes only for handlers."""
    if c.can_be_handled_by(viewer):
        return list(c.messages)
    return [m for m in c.messages if m.kind in PUBLIC_KINDS]


# -- lists -----------------------------------------------------------------------------------


def _scope(stmt: Select, user: User) -> Select:
    role = str(user.role)
    if role == "admin":
        return stmt
    if role == "lawyer":
        return stmt.where(Consultation.category == Category.LEGAL)
    served = select(community_officers.c.community_id).where(
        community_officers.c.officer_id == user.id
    )
    return stmt.where(
        or_(Consultation.community_id.in_(served), Consultation.community_id.is_(None))
    )


def _tab_filter(stmt: Select, tab: str, user: User, now: dt.datetime) -> Select:
    if tab == "unassigned":
        return stmt.where(
            Consultation.assignee_id.is_(None), Consultation.status == ConsultStatus.OPEN
        )
    if tab == "mine":
        return stmt.where(
            Consultation.assignee_id == user.id, Consultation.status != ConsultStatus.CLOSED
        )
    if tab == "overdue":
        return stmt.where(Consultation.status == ConsultStatus.OPEN, Consultation.due_at < now)
    if tab == "waiting":
        return stmt.where(Consultation.status == ConsultStatus.WAITING)
    return stmt.where(Consultation.status == ConsultStatus.CLOSED)


def queue(user: User, tab: str, page: int, per_page: int = 20) -> tuple[list[Consultation], int]:
    """One tab of the queue, urgent and earliest-due first."""
    tab = tab if tab in TABS else "unassigned"
    stmt = _tab_filter(_scope(select(Consultation), user), tab, user, _now())
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    order = (
        [Consultation.closed_at.desc()]
        if tab == "closed"
        else [Consultation.is_urgent.desc(), Consultation.due_at.asc(), Consultation.id]
    )
    rows = db.session.scalars(
        stmt.order_by(*order).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return list(rows), total


def tab_counts(user: User) -> dict[str, int]:
    """How many items each open tab holds (closed is not counted)."""
    now = _now()
    return {
        tab: db.session.scalar(
            select(func.count()).select_from(
                _tab_filter(_scope(select(Consultation.id), user), tab, user, now).subquery()
            )
        )
        or 0
        for tab in TABS[:-1]
    }


def mine(resident: User, page: int, per_page: int = 20) -> tuple[list[Consultation], int]:
    """A resident's own questions, newest first."""
    stmt = select(Consultation).where(Consultation.asker_id == resident.id)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(
        stmt.order_by(Consultation.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return list(rows), total


def canned_replies() -> list[CannedReply]:
    return list(db.session.scalars(select(CannedReply).order_by(CannedReply.title)).all())


def add_canned_reply(officer: User, title: str, body: str) -> CannedReply:
    """A new stock answer; titles are unique."""
    if db.session.scalar(select(CannedReply.id).where(CannedReply.title == title.strip())):
        raise DomainError(_("已有同名的常用答复。"), field="title", code="conflict")
    row = CannedReply(title=title.strip(), body=body.strip())
    db.session.add(row)
    db.session.flush()
    audit.record(officer, "consult.canned_reply", obj=row)
    return row


# -- knowledge base --------------------------------------------------------------------------

#: The kind under which answered public questions are in the shared keyword index
#: (``portal/search.py``); ``portal search-reindex consult`` rebuilds it.
SEARCH_KIND = "consult"
#: Candidates a search or a suggestion ranks (the best ``limit`` of them are shown).
KB_CANDIDATES = 200


def search_terms(query: str) -> list[str]:
    """The keyword-index tokens of a query (Chinese cut into two-character pieces, Latin
    words in lower case), as ``portal/search.py`` cuts them."""
    return search.query_tokens(query)


def _kb_text(c: Consultation) -> str:
    """What the index holds of a question: its title, its text and the staff's answers
    (never the internal notes, never who asked)."""
    replies = [m.body for m in c.messages if m.kind == MessageKind.REPLY]
    return "\n".join([c.title, c.body, *replies])


def sync_knowledge_base(c: Consultation) -> None:
    """Keep the index in step with one question: in it while public and answered (its text
    as now), out of it otherwise. Runs by itself after every flush that answers, publishes
    or changes a question (``_kb_changes`` below), whichever code made the change."""
    if c.in_knowledge_base():
        search.index(SEARCH_KIND, c.id, _kb_text(c))
    else:
        search.remove(SEARCH_KIND, c.id)


_KB_FIELDS = ("is_public", "first_reply_at", "title", "body")


@sa_event.listens_for(Session, "after_flush")
def _kb_changes(session: Session, _context: object) -> None:
    """Note the questions whose knowledge-base entry a flush changed: made public or
    private, answered, retitled or rewritten, or given a new staff answer."""
    changed: set[Consultation] = set(session.info.get("portal.kb_sync", ()))
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Consultation):
            state = inspect(obj)
            if obj in session.new or any(state.attrs[k].history.has_changes() for k in _KB_FIELDS):
                changed.add(obj)
        elif isinstance(obj, ConsultMessage) and obj.kind == MessageKind.REPLY:
            if obj in session.new and obj.consultation is not None:
                changed.add(obj.consultation)
    if changed:
        session.info["portal.kb_sync"] = changed


@sa_event.listens_for(Session, "after_flush_postexec")
def _kb_sync(session: Session, _context: object) -> None:
    for c in session.info.pop("portal.kb_sync", ()):
        sync_knowledge_base(c)


@search.register_source(SEARCH_KIND)
def _all_kb_texts() -> list[tuple[int, str]]:
    rows = db.session.scalars(_kb_base().options(selectinload(Consultation.messages))).all()
    return [(c.id, _kb_text(c)) for c in rows]


def _kb_base() -> Select:
    return select(Consultation).where(
        Consultation.is_public.is_(True), Consultation.first_reply_at.is_not(None)
    )


def _ranked(rows: list[Consultation], terms: list[str], limit: int) -> list[Consultation]:
    """Most query pieces first (a piece in the title counts double), then the newest."""

    def score(c: Consultation) -> int:
        title, body = search.tokens(c.title), search.tokens(c.body)
        return sum(2 * (t in title) + (t in body) for t in terms)

    return sorted(rows, key=lambda c: (-score(c), -c.id))[:limit]


def knowledge_base(
    query: str = "", category: Category | None = None, limit: int = 20
) -> list[Consultation]:
    """Answered public questions holding every piece of the query (the shared keyword
    index), best first."""
    stmt = _kb_base()
    if category is not None:
        stmt = stmt.where(Consultation.category == category)
    terms = search_terms(query)
    if not terms:
        return list(
            db.session.scalars(stmt.order_by(Consultation.first_reply_at.desc()).limit(limit))
        )
    found = search.matches(SEARCH_KIND, query, few=KB_CANDIDATES)
    rows = db.session.scalars(
        stmt.where(found.where(Consultation.id))
        .order_by(Consultation.id.desc())
        .limit(KB_CANDIDATES)
    ).all()
    return _ranked(list(rows), terms, limit)


def similar_questions(title: str, limit: int = 5) -> list[Consultation]:
    """Suggestions while a resident types a title: answered public questions sharing the
    most two-character pieces with it. Unlike a search, a suggestion need not hold every
    piece (a half-typed title rarely would): each piece is looked up in the index and the
    questions holding most of them come first."""
    if len(title.strip()) < 2:
        return []
    terms = search_terms(title)
    if not terms:
        return []
    ids = union(*(search.match(SEARCH_KIND, t) for t in terms)).subquery()
    rows = db.session.scalars(
        _kb_base()
        .where(Consultation.id.in_(select(ids.c[0])))
        .order_by(Consultation.id.desc())
        .limit(KB_CANDIDATES)
    ).all()
    return _ranked(list(rows), terms, limit)


def answers_of(c: Consultation) -> list[ConsultMessage]:
    """What the knowledge base shows of a thread: the question and the staff replies."""
    return [m for m in c.messages if m.kind in (MessageKind.QUESTION, MessageKind.REPLY)]


# -- figures ---------------------------------------------------------------------------------


@dataclass
class Figures:
    """First-reply performance of one officer or community."""

    name: str
    answered: int
    median_minutes: float | None
    within_target: float | None


def figures(user: User, days: int = 90) -> tuple[list[Figures], list[Figures]]:
    """Median first-reply time and share answered within target, per officer and community,
    over questions first answered in the last ``days`` days."""
    since = _now() - dt.timedelta(days=days)
    stmt = _scope(
        select(Consultation).where(
            Consultation.first_reply_at.is_not(None), Consultation.first_reply_at >= since
        ),
        user,
    )
    rows = db.session.scalars(stmt).all()
    by_officer: dict[str, list[Consultation]] = {}
    by_community: dict[str, list[Consultation]] = {}
    names = dict(
        db.session.execute(
            select(User.id, User.display_name).where(
                User.id.in_({c.first_reply_by_id for c in rows if c.first_reply_by_id})
            )
        ).all()
    )
    for c in rows:
        by_officer.setdefault(names.get(c.first_reply_by_id, "?"), []).append(c)
        by_community.setdefault(c.community.name if c.community else "-", []).append(c)

    def summarise(name: str, items: list[Consultation]) -> Figures:
        minutes = [
            (as_utc(c.first_reply_at) - as_utc(c.created_at)).total_seconds() / 60 for c in items
        ]
        met = [
            c
            for c in items
            if c.first_due_at and as_utc(c.first_reply_at) <= as_utc(c.first_due_at)
        ]
        return Figures(
            name,
            len(items),
            round(statistics.median(minutes), 1) if minutes else None,
            round(len(met) / len(items), 3) if items else None,
        )

    return (
        [summarise(n, i) for n, i in sorted(by_officer.items())],
        [summarise(n, i) for n, i in sorted(by_community.items())],
    )


# -- jobs ------------------------------------------------------------------------------------


@register_job("consult-sla-warning", every=60)
def warn_before_breach() -> int:
    """Tell the handlers of open questions that are due within the hour (once per target).

    Safe in two workers at once: each warning is claimed with a conditional UPDATE and sent
    only by the worker whose update changed the row."""
    now = _now()
    ids = db.session.scalars(
        select(Consultation.id).where(
            Consultation.status == ConsultStatus.OPEN,
            Consultation.due_at > now,
            Consultation.due_at <= now + sla.WARN_BEFORE,
            or_(
                Consultation.warned_for_due.is_(None),
                Consultation.warned_for_due != Consultation.due_at,
            ),
        )
    ).all()
    db.session.commit()
    sent = 0
    for cid in ids:
        claimed = db.session.execute(
            update(Consultation)
            .where(
                Consultation.id == cid,
                Consultation.status == ConsultStatus.OPEN,
                or_(
                    Consultation.warned_for_due.is_(None),
                    Consultation.warned_for_due != Consultation.due_at,
                ),
            )
            .values(warned_for_due=Consultation.due_at)
        ).rowcount
        if claimed != 1:
            db.session.rollback()
            continue
        c = db.session.get(Consultation, cid)
        assert c is not None
        for person in handlers_of(c):
            notify(
                person,
                _l("咨询即将超时：%(title)s", title=c.title),
                _l("请在答复期限前答复居民。"),
                link=_staff_link(c),
                kind="consult.due_soon",
                email=False,
            )
        db.session.commit()
        sent += 1
    return sent


# -- dashboard -------------------------------------------------------------------------------


@register_panel(20)
def consult_panel(officer: User) -> Panel | None:
    """Open consultations: overdue ones highlighted, the earliest due listed."""
    now = _now()
    base = _scope(select(Consultation), officer).where(Consultation.status == ConsultStatus.OPEN)
    open_count = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    overdue = (
        db.session.scalar(
            select(func.count()).select_from(base.where(Consultation.due_at < now).subquery())
        )
        or 0
    )
    soon = db.session.scalars(
        base.order_by(Consultation.is_urgent.desc(), Consultation.due_at).limit(5)
    ).all()
    rows = []
    for c in soon:
        due = as_utc(c.due_at)
        flag = ""
        if c.is_urgent:
            flag = "⚠ " + _("紧急") + " "
        if due and due < now:
            flag += "[" + _("已超时") + "] "
        elif sla.due_soon(due, now):
            flag += "[" + _("即将超时") + "] "
        rows.append((flag + c.title, url_for("consult.queue_item", cid=c.id)))
    title = _("待答复的咨询")
    if overdue:
        title = _("待答复的咨询（%(n)s 条已超时）", n=overdue)
    return Panel(
        key="consult",
        title=title,
        count=open_count,
        link=url_for("consult.queue", tab="overdue" if overdue else "unassigned"),
        rows=rows,
        empty_text=_("没有待答复的咨询。"),
        alert=overdue > 0 or any(c.is_urgent for c in soon),
    )
