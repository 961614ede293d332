"""Notices, feeds, lost and found and the contact box over the API (tag ``notices``)."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.api import bp
from portal.api.common import error, validated
from portal.api.spec import operation
from portal.db import db
from portal.errors import DomainError
from portal.notices import services as svc
from portal.notices.forms import ContactForm, NoticeForm, TrackForm
from portal.notices.models import ContactMessage, LostItem, MessageCategory, Notice, NoticeKind
from portal.notices.routes import all_community_choices, served_choices, text_arg, to_utc
from portal.security.access import staff_required
from portal.templating import page_arg

S, INT, B = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
NS, NINT = {"type": ["string", "null"]}, {"type": ["integer", "null"]}
NNUM = {"type": ["number", "null"]}


def _obj(props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(props)}


FIGURE = _obj({"offence": S, "count": INT, "previous": NINT, "change_pct": NNUM})
NOTICE = _obj(
    {
        "id": INT,
        "kind": S,
        "kind_label": S,
        "state": S,
        "title": S,
        "body_html": {"type": "string", "description": "sanitised on save; safe to render"},
        "summary": S,
        "unit": S,
        "author": NS,
        "pinned": B,
        "station_wide": B,
        "communities": {"type": "array", "items": S},
        "publish_at": NS,
        "expires_at": NS,
        "url": S,
        "period_start": NS,
        "period_end": NS,
        "advice": S,
        "figures": {"type": "array", "items": FIGURE},
    }
)
NOTICE_PAGE = _obj(
    {"items": {"type": "array", "items": NOTICE}, "total": INT, "page": INT, "feed": S}
)
ITEM = _obj(
    {
        "id": INT,
        "kind": S,
        "status": S,
        "status_label": S,
        "title": S,
        "description": S,
        "place": S,
        "happened_on": NS,
        "collect_at": S,
        "community": NS,
    }
)
MESSAGE = _obj(
    {
        "id": INT,
        "category": S,
        "community": S,
        "body": S,
        "created_at": S,
        "reply": NS,
        "replied_at": NS,
    }
)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def notice_json(n: Notice, with_figures: bool = False) -> dict[str, Any]:
    """A notice as the API shows it (the author's name only when they chose so)."""
    figures: list[dict[str, Any]] = []
    if with_figures and n.kind == NoticeKind.BULLETIN:
        rows = svc.bulletin_rows(n, svc.previous_bulletin(n))
        figures = [
            {
                "offence": r.offence,
                "count": r.count,
                "previous": r.previous,
                "change_pct": r.change_pct,
            }
            for r in rows
        ]
    return {
        "id": n.id,
        "kind": n.kind.value,
        "kind_label": n.kind.label,
        "state": n.state().value,
        "title": n.title,
        "body_html": n.body_html,
        "summary": n.body_text[:200],
        "unit": n.unit,
        "author": n.author.display_name if n.show_author and n.author else None,
        "pinned": n.pinned,
        "station_wide": n.station_wide,
        "communities": [c.slug for c in n.communities],
        "publish_at": _iso(n.publish_at),
        "expires_at": _iso(n.expires_at),
        "url": url_for("notices.show", notice_id=n.id),
        "period_start": _iso(n.period_start),
        "period_end": _iso(svc.half_month_end(n.period_start)) if n.period_start else None,
        "advice": n.advice,
        "figures": figures,
    }


@bp.route("/notices")
@operation(
    "notices",
    "Published notices, pinned first (?kind=, ?community=slug, ?q=, ?page=)",
    response=NOTICE_PAGE,
)
def notices() -> Any:
    """The public list with the same filters as the page."""
    from portal.notices.routes import _community_arg, _kind_arg

    kind, community, page = _kind_arg(), _community_arg(), page_arg()
    rows, total = svc.public_notices(
        kind=kind,
        community_id=community.id if community else None,
        q=text_arg("q", 50),
        page=page,
    )
    args = {
        k: v
        for k, v in (
            ("community", community.slug if community else None),
            ("kind", kind.value if kind else None),
        )
        if v
    }
    return jsonify(
        items=[notice_json(n) for n in rows],
        total=total,
        page=page,
        feed=url_for("notices.feed", **args),
    )


@bp.route("/notices/<int:notice_id>")
@operation(
    "notices",
    "One notice; a bulletin with its figures against the previous period",
    response=NOTICE,
)
def notice(notice_id: int) -> Any:
    """A published notice (or any the officer may edit)."""
    n = db.session.get(Notice, notice_id)
    if n is None or not n.can_read(current_user):
        return error(404, "not_found", _("信息不存在。"))
    return jsonify(notice_json(n, with_figures=True))


@bp.route("/notices/feeds")
@operation(
    "notices",
    "Atom feed links: the whole station, and per community and kind",
    response=_obj(
        {"items": {"type": "array", "items": _obj({"community": NS, "kind": NS, "href": S})}}
    ),
)
def feeds() -> Any:
    """Every feed a reader can subscribe to."""
    from portal.communities.services import all_communities

    base = current_app.config["BASE_URL"].rstrip("/")
    items = [{"community": None, "kind": None, "href": base + url_for("notices.feed")}]
    for c in all_communities():
        items.append(
            {
                "community": c.slug,
                "kind": None,
                "href": base + url_for("notices.feed", community=c.slug),
            }
        )
        for k in NoticeKind:
            items.append(
                {
                    "community": c.slug,
                    "kind": k.value,
                    "href": base + url_for("notices.feed", community=c.slug, kind=k.value),
                }
            )
    return jsonify(items=items)


def _figures(payload: Any) -> dict[str, int] | None:
    raw = payload.get("figures") if isinstance(payload, dict) else None
    if raw is None:
        return None
    allowed = set(svc.offences())
    if not isinstance(raw, dict) or not all(
        k in allowed and isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 100_000
        for k, v in raw.items()
    ):
        abort(422)
    return {k: int(v) for k, v in raw.items()}


def _save(n: Notice | None) -> Any:
    def prepare(form: Any) -> None:
        form.community_ids.choices = served_choices(current_user)

    payload = request.get_json(silent=True)
    form, err = validated(NoticeForm, prepare)
    if err is not None:
        return err
    ids = payload.get("community_ids") if isinstance(payload, dict) else None
    ids = [i for i in ids if isinstance(i, int)] if isinstance(ids, list) else []
    if any(i not in dict(served_choices(current_user)) for i in ids):
        return error(
            422,
            "invalid",
            _("提交的内容有误。"),
            {"community_ids": [_("只能面向您负责的社区发布。")]},
        )
    kind = NoticeKind(form.kind.data)
    try:
        saved = svc.save_notice(
            current_user,
            n,
            kind=kind,
            title=form.title.data,
            body_html=form.body_html.data or "",
            station_wide=bool(form.station_wide.data),
            community_ids=ids,
            pinned=bool(form.pinned.data),
            show_author=bool(form.show_author.data),
            publish_at=to_utc(form.publish_at.data),
            expires_at=to_utc(form.expires_at.data),
            advice=form.advice.data or "",
            period_start=form.period_start.data,
            figures=_figures(payload) if kind == NoticeKind.BULLETIN else None,
        )
    except DomainError as exc:
        return error(409, exc.code, exc.message, {exc.field: [exc.message]} if exc.field else None)
    return jsonify(notice_json(saved, with_figures=True)), 201 if n is None else 200


@bp.route("/notices", methods=["POST"])
@staff_required
@operation(
    "notices",
    "Write a notice (times are station-local YYYY-MM-DDTHH:MM; community_ids a list; "
    "bulletins take figures {offence: count})",
    form=NoticeForm,
    response=NOTICE,
    auth="officer",
    status=201,
)
def create_notice() -> Any:
    """Create a notice; the HTML is sanitised on save."""
    return _save(None)


def _editable(notice_id: int) -> Notice | None:
    n = db.session.get(Notice, notice_id)
    if n is None:
        abort(404)
    if not n.can_edit(current_user):
        abort(403)
    return n


@bp.route("/notices/<int:notice_id>", methods=["PUT"])
@staff_required
@operation("notices", "Change a notice", form=NoticeForm, response=NOTICE, auth="officer")
def update_notice(notice_id: int) -> Any:
    """Change a notice the officer may edit."""
    return _save(_editable(notice_id))


@bp.route("/notices/<int:notice_id>/publish", methods=["POST"])
@staff_required
@operation("notices", "Publish a notice now", response=NOTICE, auth="officer")
def publish_notice(notice_id: int) -> Any:
    """Publish at once; subscribers are told once."""
    n = _editable(notice_id)
    assert n is not None
    svc.publish_now(current_user, n)
    return jsonify(notice_json(n))


@bp.route("/lost-found")
@operation(
    "notices",
    "Lost-and-found items on show (?page=)",
    response=_obj({"items": {"type": "array", "items": ITEM}, "total": INT, "page": INT}),
)
def lost_found() -> Any:
    """Open and claimed items, newest first."""
    page = page_arg()
    rows, total = svc.public_items(page)
    return jsonify(items=[item_json(i) for i in rows], total=total, page=page)


def item_json(i: LostItem) -> dict[str, Any]:
    """A lost-and-found item (no reporter or claimant)."""
    return {
        "id": i.id,
        "kind": i.kind.value,
        "status": i.status.value,
        "status_label": i.status.label,
        "title": i.title,
        "description": i.description,
        "place": i.place,
        "happened_on": _iso(i.happened_on),
        "collect_at": i.collect_at,
        "community": i.community.slug if i.community else None,
    }


def message_json(m: ContactMessage) -> dict[str, Any]:
    """A contact-box message and its reply."""
    return {
        "id": m.id,
        "category": m.category.value,
        "community": m.community.slug,
        "body": m.body,
        "created_at": m.created_at.isoformat(),
        "reply": m.reply,
        "replied_at": _iso(m.replied_at),
    }


@bp.route("/contact", methods=["POST"])
@operation(
    "notices",
    "Send a message to the contact box; anonymous ones get a tracking code (shown once)",
    form=ContactForm,
    response=_obj({"id": INT, "tracking_code": NS}),
    status=201,
)
def contact() -> Any:
    """Named when logged in and not anonymous; otherwise nothing about the sender is kept."""

    def prepare(form: Any) -> None:
        form.community_id.choices = all_community_choices()

    form, err = validated(ContactForm, prepare)
    if err is not None:
        return err
    msg, code = svc.send_message(
        current_user if current_user.is_authenticated else None,
        community_id=form.community_id.data,
        category=MessageCategory(form.category.data),
        body=form.body.data,
        anonymous=bool(form.anonymous.data),
    )
    return jsonify(id=msg.id, tracking_code=code), 201


@bp.route("/contact/track", methods=["POST"])
@operation(
    "notices",
    "Read an anonymous message and its reply by tracking code",
    form=TrackForm,
    response=MESSAGE,
)
def contact_track() -> Any:
    """The code is posted, so it stays out of addresses and logs."""
    form, err = validated(TrackForm)
    if err is not None:
        return err
    msg = svc.message_by_code(form.code.data)
    if msg is None:
        return error(404, "not_found", _("查询码无效。"))
    return jsonify(message_json(msg))
