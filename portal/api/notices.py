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
from portal.notices.forms import (
    ApiModerateForm,
    ClaimForm,
    ClaimVisitForm,
    ContactForm,
    ModerateItemForm,
    NoticeForm,
    ReplyForm,
    TrackForm,
)
from portal.notices.limits import count_message
from portal.notices.models import (
    ContactMessage,
    ItemClaim,
    LostItem,
    MessageCategory,
    Notice,
    NoticeKind,
)
from portal.notices.routes import (
    all_community_choices,
    served_choices,
    text_arg,
    to_utc,
    too_many_messages,
)
from portal.security.access import login_required, staff_required
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
    {
        "items": {"type": "array", "items": NOTICE},
        "total": INT,
        "total_capped": {
            "type": "boolean",
            "description": "a search with more than 1000 matches (total says 1000)",
        },
        "page": INT,
        "feed": S,
    }
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
STAFF_MESSAGE = _obj(
    {
        **MESSAGE["properties"],
        "anonymous": B,
        "sender": {"type": ["string", "null"], "description": "named senders only, masked"},
        "reply_due": S,
        "overdue": B,
    }
)
BOOKING_REF = {
    "type": ["object", "null"],
    "properties": {"code": S, "starts_at": S, "status": S, "url": S},
}
CLAIM = _obj(
    {
        "id": INT,
        "item_id": INT,
        "item_title": S,
        "status": S,
        "status_label": S,
        "proof": S,
        "reason": NS,
        "created_at": S,
        "claimant": {"type": ["string", "null"], "description": "for the officers only"},
        "booking": BOOKING_REF,
        "service_id": {
            "type": ["integer", "null"],
            "description": "for the claimant: the appointment service to book the visit "
            "with (its slots: /api/v1/appointments/services/{id}/slots?provider_id=)",
        },
        "provider_ids": {"type": "array", "items": INT},
    }
)
STAFF_ITEM = _obj({**ITEM["properties"], "reason": NS, "claims": {"type": "array", "items": CLAIM}})


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
        total=min(total, svc.MAX_RESULTS),
        total_capped=total > svc.MAX_RESULTS,
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
    "Send a message to the contact box; anonymous ones get a tracking code (shown once). "
    "Limited per address (429 too_many_messages); the address is never stored",
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
    verdict = count_message()
    if not verdict.allowed:
        resp = error(429, "too_many_messages", too_many_messages(verdict.retry_minutes))
        resp.headers["Retry-After"] = str(verdict.retry_minutes * 60)
        return resp
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


@bp.route("/notices/<int:notice_id>/withdraw", methods=["POST"])
@staff_required
@operation(
    "notices", "Withdraw a notice (it stays in the back office)", response=NOTICE, auth="officer"
)
def withdraw_notice(notice_id: int) -> Any:
    """Take a notice down; publishing it again brings it back."""
    n = _editable(notice_id)
    assert n is not None
    svc.withdraw(current_user, n)
    return jsonify(notice_json(n))


# --- lost and found: moderation and claims ---------------------------------------------


def refused(exc: DomainError) -> Any:
    """A refused use case: 422 naming the field when input was missing or wrong, else a
    409 conflict with the item's state."""
    if exc.field:
        return error(422, "invalid", exc.message, {exc.field: [exc.message]})
    return error(409, exc.code, exc.message)


def claim_json(c: ItemClaim, for_officer: bool = False) -> dict[str, Any]:
    """A claim on a found item with its visit; the claimant's name only for officers."""
    from portal.db import as_utc

    # What to book with is the claimant's business; the officers' lists skip the look-up.
    service = svc.claim_service() if c.status.value == "open" and not for_officer else None
    providers = svc.claim_providers(c.claimant, c.item, service) if service else []
    b = c.booking
    return {
        "id": c.id,
        "item_id": c.item_id,
        "item_title": c.item.title,
        "status": c.status.value,
        "status_label": c.status.label,
        "proof": c.proof,
        "reason": c.reason,
        "created_at": as_utc(c.created_at).isoformat(),
        "claimant": c.claimant.display_name if for_officer else None,
        "booking": {
            "code": b.code,
            "starts_at": as_utc(b.starts_at).isoformat(),
            "status": b.status.value,
            "url": url_for("appointments.show", code=b.code),
        }
        if b is not None
        else None,
        "service_id": service.id if service else None,
        "provider_ids": [p.id for p in providers],
    }


def _item(item_id: int) -> LostItem:
    item = db.session.get(LostItem, item_id)
    if item is None or not item.can_be_seen_by(current_user):
        abort(404)
    return item


@bp.route("/lost-found/manage")
@staff_required
@operation(
    "notices",
    "Items an officer handles: reports to moderate first, then claimed and open (?page=)",
    response=_obj({"items": {"type": "array", "items": STAFF_ITEM}, "total": INT, "page": INT}),
    auth="officer",
)
def staff_lost_found() -> Any:
    """The moderation queue with each item's claims."""
    page = page_arg()
    rows, total = svc.staff_items(current_user, page)
    items = [
        {
            **item_json(i),
            "reason": i.reason,
            "claims": [claim_json(c, for_officer=True) for c in i.claims],
        }
        for i in rows
    ]
    return jsonify(items=items, total=total, page=page)


@bp.route("/lost-found/<int:item_id>/<item_action>", methods=["POST"])
@staff_required
@operation(
    "notices",
    "approve or reject (reason required) a resident's lost-item report; mark a found item "
    "claimed or returned (to one claim with claim_id)",
    form=ApiModerateForm,
    response=ITEM,
    auth="officer",
)
def moderate_item(item_id: int, item_action: str) -> Any:
    """An officer's decision on an item of a community they serve."""
    item = db.session.get(LostItem, item_id)
    if item is None or item_action not in svc.MODERATION_ACTIONS:
        return error(404, "not_found", _("物品不存在。"))
    if not item.can_moderate(current_user):
        return error(403, "forbidden", _("无权处理该物品。"))
    form, err = validated(ApiModerateForm)
    if err is not None:
        return err
    claim = None
    if form.claim_id.data:
        claim = db.session.get(ItemClaim, form.claim_id.data)
        if claim is None or claim.item_id != item.id:
            return error(404, "not_found", _("认领不存在。"))
    try:
        svc.moderate_item(current_user, item, item_action, form.reason.data or "", claim=claim)
    except DomainError as exc:
        return refused(exc)
    return jsonify(item_json(item))


@bp.route("/lost-found/<int:item_id>/claims", methods=["POST"])
@login_required
@operation(
    "notices",
    "Claim a found item (认领) by describing it; then book the visit with "
    "/lost-found/claims/{claim_id}/visit",
    form=ClaimForm,
    response=CLAIM,
    auth="any",
    status=201,
)
def claim_item(item_id: int) -> Any:
    """Say a found item is yours; the officers are told."""
    item = _item(item_id)
    form, err = validated(ClaimForm)
    if err is not None:
        return err
    try:
        made = svc.claim_item(current_user, item, form.proof.data)
    except DomainError as exc:
        return refused(exc)
    return jsonify(claim_json(made)), 201


def _claim(claim_id: int) -> ItemClaim:
    made = db.session.get(ItemClaim, claim_id)
    if made is None:
        abort(404)
    if not made.can_be_seen_by(current_user):
        abort(403)
    return made


@bp.route("/lost-found/claims/<int:claim_id>")
@login_required
@operation("notices", "One claim and its visit", response=CLAIM, auth="any")
def claim(claim_id: int) -> Any:
    """The claimant's or the officers' view of a claim."""
    made = _claim(claim_id)
    return jsonify(claim_json(made, for_officer=made.claimant_id != current_user.id))


@bp.route("/lost-found/claims/<int:claim_id>/visit", methods=["POST"])
@login_required
@operation(
    "notices",
    "Book the visit to collect a claimed item (starts_at from the service's slots)",
    form=ClaimVisitForm,
    response=CLAIM,
    auth="any",
    status=201,
)
def claim_visit(claim_id: int) -> Any:
    """Book through the appointments feature; the booking note names the item."""
    from portal.accounts.models import User
    from portal.appointments.services import SlotTaken

    made = _claim(claim_id)
    if made.claimant_id != current_user.id:
        return error(403, "forbidden", _("只能为自己的认领预约。"))
    form, err = validated(ClaimVisitForm)
    if err is not None:
        return err
    provider = db.session.get(User, form.provider_id.data)
    if provider is None:
        return error(
            422, "invalid", _("提交的内容有误。"), {"provider_id": [_("该服务不可预约。")]}
        )
    try:
        svc.book_claim_visit(current_user, made, provider, form.starts_at_value)
    except SlotTaken as exc:  # other times: the service's slots endpoint
        return error(409, exc.code, exc.message)
    except DomainError as exc:
        return refused(exc)
    return jsonify(claim_json(made)), 201


@bp.route("/lost-found/claims/<int:claim_id>/reject", methods=["POST"])
@staff_required
@operation(
    "notices",
    "Turn a claim down with a reason; its open visit is cancelled",
    form=ModerateItemForm,
    response=CLAIM,
    auth="officer",
)
def reject_claim(claim_id: int) -> Any:
    """Not the owner: the item is open again unless someone else claims it."""
    made = _claim(claim_id)
    if not made.item.can_moderate(current_user):
        return error(403, "forbidden", _("无权处理该物品。"))
    form, err = validated(ModerateItemForm)
    if err is not None:
        return err
    try:
        svc.reject_claim(current_user, made, form.reason.data or "")
    except DomainError as exc:
        return refused(exc)
    return jsonify(claim_json(made, for_officer=True))


# --- contact box: the officers' side -----------------------------------------------------


def staff_message_json(m: ContactMessage, now: Any) -> dict[str, Any]:
    """A message as its officers see it: a named sender masked, an anonymous one not at all."""
    from portal.db import as_utc
    from portal.security.pii import mask_name

    due = svc.reply_due(m)
    return {
        **message_json(m),
        "anonymous": m.sender_id is None,
        "sender": mask_name(m.sender.display_name) if m.sender is not None else None,
        "reply_due": as_utc(due).isoformat(),
        "overdue": m.replied_at is None and due < now,
    }


@bp.route("/contact/messages")
@staff_required
@operation(
    "notices",
    "Contact-box messages of the officer's communities, waiting ones first (?waiting=1)",
    response=_obj({"items": {"type": "array", "items": STAFF_MESSAGE}, "overdue": INT}),
    auth="officer",
)
def contact_messages() -> Any:
    """The reply-back rule (回告制): every message gets a reply; late ones are flagged."""
    from portal.db import utcnow

    waiting = request.args.get("waiting") in ("1", "true", "yes")
    rows = svc.messages_for(current_user, waiting_only=waiting)
    now = utcnow()
    items = [staff_message_json(m, now) for m in rows]
    return jsonify(items=items, overdue=sum(1 for i in items if i["overdue"]))


@bp.route("/contact/messages/<int:message_id>/reply", methods=["POST"])
@staff_required
@operation(
    "notices",
    "Answer a contact-box message (a named sender is notified)",
    form=ReplyForm,
    response=STAFF_MESSAGE,
    auth="officer",
)
def contact_reply(message_id: int) -> Any:
    """Reply to a message of a community the officer serves."""
    from portal.db import utcnow

    msg = db.session.get(ContactMessage, message_id)
    if msg is None:
        return error(404, "not_found", _("留言不存在。"))
    if not msg.can_answer(current_user):
        return error(403, "forbidden", _("无权回复该留言。"))
    form, err = validated(ReplyForm)
    if err is not None:
        return err
    svc.reply(current_user, msg, form.reply.data)
    return jsonify(staff_message_json(msg, utcnow()))
