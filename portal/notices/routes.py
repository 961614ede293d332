"""Pages: the public notices, feeds, lost and found, the contact box; and the officers'
back-office pages for writing notices, handling items and answering messages."""

from __future__ import annotations

import datetime as dt
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.models import User
from portal.appointments.slots import local_day
from portal.db import as_utc, db
from portal.errors import DomainError
from portal.notices import bp
from portal.notices import services as svc
from portal.notices.forms import (
    ClaimForm,
    ClaimVisitForm,
    ContactForm,
    FoundItemForm,
    LostItemForm,
    ModerateItemForm,
    NoticeForm,
    ReplyForm,
    TrackForm,
    figures_form,
    figures_from,
    no_controls,
)
from portal.notices.limits import count_message
from portal.notices.models import (
    ContactMessage,
    ItemClaim,
    ItemKind,
    LostItem,
    MessageCategory,
    Notice,
    NoticeKind,
)
from portal.security.access import login_required, require, staff_required
from portal.security.uploads import stored_path
from portal.templating import Page, page_arg

LOCAL = ZoneInfo("Asia/Shanghai")


def to_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A station-local wall-clock time from a form, as aware UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=LOCAL).astimezone(dt.UTC)


def to_local(value: dt.datetime | None) -> dt.datetime | None:
    """An aware time as a naive station-local time, for a form field."""
    if value is None:
        return None
    return as_utc(value).astimezone(LOCAL).replace(tzinfo=None)


def all_community_choices() -> list[tuple[int, str]]:
    """Every community, for filters and the contact box."""
    from portal.communities.services import all_communities

    return [(c.id, c.name) for c in all_communities()]


def served_choices(user: Any) -> list[tuple[int, str]]:
    """The communities an officer may aim at (admins: all)."""
    if user.role == "admin":
        return all_community_choices()
    return [(c.id, c.name) for c in user.served_communities]


def text_arg(name: str, limit: int) -> str:
    """A query argument without control characters (PostgreSQL refuses NUL), cut short."""
    return no_controls(request.args.get(name, ""))[:limit]


def _kind_arg() -> NoticeKind | None:
    try:
        return NoticeKind(request.args.get("kind", ""))
    except ValueError:
        return None


def _community_arg() -> Any:
    from portal.communities.services import community_by_slug

    slug = text_arg("community", 60)
    return community_by_slug(slug) if slug else None


# --- public ------------------------------------------------------------------------


@bp.route("/notices")
def index() -> Any:
    """Published notices: pinned first; filter by kind and community; search."""
    kind, community, page = _kind_arg(), _community_arg(), page_arg()
    q = text_arg("q", 50)
    rows, total = svc.public_notices(
        kind=kind, community_id=community.id if community else None, q=q, page=page
    )
    subscribed = (
        current_user.is_authenticated
        and current_user.community_id is not None
        and svc.is_subscribed(current_user, current_user.community_id)
    )
    from portal.communities.services import all_communities

    return render_template(
        "notices/index.html",
        page=Page(rows, min(total, svc.MAX_RESULTS) if q else total, page, 10),
        capped=bool(q) and total > svc.MAX_RESULTS,
        kinds=list(NoticeKind),
        kind=kind,
        community=community,
        communities=all_communities(),
        q=q,
        subscribed=subscribed,
    )


@bp.route("/notices/<int:notice_id>")
def show(notice_id: int) -> Any:
    """One notice with its date, the author's unit and related notices."""
    notice = db.session.get(Notice, notice_id) or abort(404)
    if not notice.can_read(current_user):
        abort(404)
    rows = total = chart = None
    if notice.kind == NoticeKind.BULLETIN:
        previous = svc.previous_bulletin(notice)
        rows = svc.bulletin_rows(notice, previous)
        total = svc.bulletin_total(rows)
        chart = svc.chart(rows)
    return render_template(
        "notices/show.html",
        notice=notice,
        related=svc.related(notice),
        rows=rows,
        total=total,
        chart=chart,
        period_end=svc.half_month_end(notice.period_start) if notice.period_start else None,
    )


@bp.route("/notices/feed.atom")
def feed() -> Any:
    """Atom 1.0 feed, optionally for one community (``community``) and kind (``kind``)."""
    kind, community = _kind_arg(), _community_arg()
    rows, _total = svc.public_notices(
        kind=kind, community_id=community.id if community else None, per_page=30
    )
    title = " · ".join(
        x
        for x in (_("网上警务室"), community.name if community else "", kind.label if kind else "")
        if x
    )
    args = {
        k: v
        for k, v in (
            ("community", community.slug if community else None),
            ("kind", kind.value if kind else None),
        )
        if v
    }
    body = svc.atom_feed(
        rows,
        title=title,
        self_url=url_for("notices.feed", **args),
        alternate_url=url_for("notices.index", **args),
        base=current_app.config["BASE_URL"].rstrip("/"),
    )
    return Response(body, mimetype="application/atom+xml")


@bp.route("/notices/images/<name>")
def image(name: str) -> Any:
    """An image in a notice (re-encoded when it was uploaded)."""
    path = stored_path("notice_images", name[:80])
    if path is None:
        abort(404)
    return send_file(path, max_age=86400)


@bp.route("/notices/subscription", methods=["POST"])
@login_required
def subscription() -> Any:
    """Subscribe to (or stop) the notices of one's own community."""
    try:
        if request.form.get("action") == "unsubscribe":
            svc.unsubscribe(current_user)
            flash(_("已取消订阅。"), "success")
        else:
            svc.subscribe(current_user)
            flash(_("已订阅本社区的警务公开，新发布时会通知您。"), "success")
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("notices.index")), 303
    return redirect(url_for("notices.index"))


@bp.route("/lost-found")
def lost_found() -> Any:
    """Items handed in and items lost, open ones first."""
    page = page_arg()
    rows, total = svc.public_items(page)
    return render_template("notices/lost_found.html", page=Page(rows, total, page, 20))


@bp.route("/lost-found/mine")
@login_required
def my_items() -> Any:
    """A resident's lost-item reports (with the moderator's note) and claims (with visits)."""
    return render_template(
        "notices/my_items.html",
        reports=svc.reported_by(current_user),
        claims=svc.claims_of(current_user),
    )


@bp.route("/lost-found/report", methods=["GET", "POST"])
@login_required
def report_lost() -> Any:
    """A resident reports a lost item; it is shown after an officer approves it."""
    form = LostItemForm()
    if form.validate_on_submit():
        svc.report_lost(
            current_user,
            title=form.title.data,
            description=form.description.data or "",
            place=form.place.data or "",
            happened_on=form.happened_on.data,
        )
        flash(_("已提交，民警审核后公开。"), "success")
        return redirect(url_for("notices.my_items"))
    return render_template("notices/report_lost.html", form=form), 422 if form.errors else 200


def _item_or_404(item_id: int) -> LostItem:
    item = db.session.get(LostItem, item_id) or abort(404)
    if not item.can_be_seen_by(current_user):
        abort(404)
    return item


@bp.route("/lost-found/<int:item_id>")
def item(item_id: int) -> Any:
    """One item; a found one can be claimed here, and its officers see the claims."""
    found = _item_or_404(item_id)
    mine = None
    if current_user.is_authenticated:
        mine = next((c for c in found.claims if c.claimant_id == current_user.id), None)
    return render_template(
        "notices/item.html",
        item=found,
        mine=mine,
        moderator=found.can_moderate(current_user),
        moderate=ModerateItemForm(formdata=None),
    )


@bp.route("/lost-found/<int:item_id>/claim", methods=["GET", "POST"])
@login_required
def claim(item_id: int) -> Any:
    """Claim a found item (认领): describe it, then book a visit to collect it."""
    found = _item_or_404(item_id)
    mine = next((c for c in found.claims if c.claimant_id == current_user.id), None)
    if mine is not None:
        flash(_("您已认领过该物品。"), "error")
        return redirect(url_for("notices.claim_page", claim_id=mine.id)), 303
    form = ClaimForm()
    if form.validate_on_submit():
        try:
            made = svc.claim_item(current_user, found, form.proof.data)
        except DomainError as exc:
            flash(exc.message, "error")
            return redirect(url_for("notices.item", item_id=found.id)), 303
        flash(_("已提交认领，请预约到警务室核对领取的时间。"), "success")
        return redirect(url_for("notices.claim_page", claim_id=made.id))
    if not found.can_be_claimed:
        flash(_("该物品不能认领。"), "error")
        return redirect(url_for("notices.item", item_id=found.id)), 303
    return render_template("notices/claim.html", item=found, form=form), 422 if form.errors else 200


def _claim_page(claim: ItemClaim, form: Any, status: int = 200) -> Any:
    from portal.appointments.models import OPEN_STATUSES
    from portal.appointments.services import free_slots

    mine = claim.claimant_id == current_user.id
    service = svc.claim_service() if mine else None
    providers = svc.claim_providers(current_user, claim.item, service) if service else []
    try:
        chosen = int(request.values.get("provider_id") or 0)
    except ValueError:
        chosen = 0
    provider = next((p for p in providers if p.id == chosen), providers[0] if providers else None)
    can_book = (
        mine
        and claim.status.value == "open"
        and (claim.booking is None or claim.booking.status not in OPEN_STATUSES)
    )
    slots: list[dt.datetime] = []
    if can_book and provider:
        # A week of times keeps the page short on a phone; look further only when the
        # week has none (a holiday week).
        slots = free_slots(service, provider.id, days=7) or free_slots(
            service, provider.id, days=21
        )
    days = [(day, list(group)) for day, group in groupby(slots, key=local_day)]
    return render_template(
        "notices/claim_visit.html",
        claim=claim,
        item=claim.item,
        service=service,
        providers=providers,
        provider=provider,
        can_book=can_book,
        days=days,
        form=form,
    ), status


@bp.route("/lost-found/claims/<int:claim_id>", methods=["GET", "POST"])
@login_required
def claim_page(claim_id: int) -> Any:
    """A claim: its state and the visit; without an open visit, the free times of the
    community officer to book one (through the appointments feature)."""
    from portal.appointments.services import SlotTaken

    made = db.session.get(ItemClaim, claim_id) or abort(404)
    require(made.can_be_seen_by(current_user))
    form = ClaimVisitForm()
    if request.method == "GET":
        return _claim_page(made, form)
    require(made.claimant_id == current_user.id)
    if not form.validate_on_submit():
        flash(_("请选择一个时段。"), "error")
        return _claim_page(made, form, 422)
    provider = db.session.get(User, form.provider_id.data)
    if provider is None:
        return _claim_page(made, form, 422)
    try:
        booking = svc.book_claim_visit(current_user, made, provider, form.starts_at_value)
    except SlotTaken as exc:
        flash(exc.message, "error")
        return _claim_page(made, form, 409)
    except DomainError as exc:
        flash(exc.message, "error")
        return _claim_page(made, form, 409)
    flash(_("已预约领取时间，请按时携带身份证件到警务室。"), "success")
    return redirect(url_for("appointments.show", code=booking.code), 303)


def too_many_messages(minutes: int) -> str:
    """The message shown when the contact-box limit is reached."""
    return _(
        "留言过于频繁，请 %(m)s 分钟后再发送。您填写的内容已保留。紧急情况请拨打110。",
        m=minutes,
    )


def _contact_form() -> ContactForm:
    form = ContactForm()
    form.community_id.choices = all_community_choices()
    if request.method == "GET" and current_user.is_authenticated and current_user.community_id:
        form.community_id.data = current_user.community_id
    return form


@bp.route("/contact", methods=["GET", "POST"])
def contact() -> Any:
    """The contact box: a tip or a suggestion, named or anonymous."""
    form = _contact_form()
    if form.validate_on_submit():
        verdict = count_message()
        if not verdict.allowed:
            return render_template(
                "notices/contact.html",
                form=form,
                track=TrackForm(formdata=None),
                throttled=too_many_messages(verdict.retry_minutes),
            ), 429
        sender = current_user if current_user.is_authenticated else None
        msg, code = svc.send_message(
            sender,
            community_id=form.community_id.data,
            category=MessageCategory(form.category.data),
            body=form.body.data,
            anonymous=bool(form.anonymous.data),
        )
        return render_template("notices/contact_sent.html", code=code, message=msg)
    return render_template(
        "notices/contact.html", form=form, track=TrackForm(formdata=None)
    ), 422 if form.errors else 200


@bp.route("/contact/track", methods=["POST"])
def track() -> Any:
    """Read the reply to an anonymous message with its tracking code (posted, so the code
    stays out of addresses and logs)."""
    form = TrackForm()
    msg = svc.message_by_code(form.code.data or "") if form.validate_on_submit() else None
    if msg is None:
        flash(_("查询码无效。"), "error")
        return redirect(url_for("notices.contact")), 303
    return render_template("notices/contact_track.html", message=msg)


@bp.route("/contact/mine")
@login_required
def my_messages() -> Any:
    """A named sender's own messages and their replies."""
    return render_template("notices/my_messages.html", messages=svc.sent_by(current_user))


# --- back office -------------------------------------------------------------------


@bp.route("/backoffice/notices")
@staff_required
def staff_index() -> Any:
    """The notices an officer may edit, with their states."""
    page = page_arg()
    rows, total = svc.staff_notices(current_user, page)
    return render_template("notices/staff_index.html", page=Page(rows, total, page, 20))


def _edit(notice: Notice | None) -> Any:
    offences = svc.offences()
    form = NoticeForm(obj=notice) if request.method == "GET" and notice else NoticeForm()
    form.community_ids.choices = served_choices(current_user)
    FiguresForm = figures_form(offences)  # noqa: N806
    figures = FiguresForm()
    if request.method == "GET" and notice is not None:
        form.community_ids.data = [c.id for c in notice.communities]
        form.publish_at.data = to_local(notice.publish_at)
        form.expires_at.data = to_local(notice.expires_at)
        form.kind.data = notice.kind.value
        counts = {f.offence: f.count for f in notice.figures}
        for i, name in enumerate(offences):
            getattr(figures, f"count_{i}").data = counts.get(name, 0)
    if form.validate_on_submit() and figures.validate():
        kind = NoticeKind(form.kind.data)
        try:
            saved = svc.save_notice(
                current_user,
                notice,
                kind=kind,
                title=form.title.data,
                body_html=form.body_html.data or "",
                station_wide=bool(form.station_wide.data),
                community_ids=form.community_ids.data or [],
                pinned=bool(form.pinned.data),
                show_author=bool(form.show_author.data),
                publish_at=to_utc(form.publish_at.data),
                expires_at=to_utc(form.expires_at.data),
                advice=form.advice.data or "",
                period_start=form.period_start.data,
                figures=figures_from(figures, offences) if kind == NoticeKind.BULLETIN else None,
            )
        except DomainError as exc:
            target = getattr(form, exc.field, None) if exc.field else None
            if target is not None:
                target.errors = list(target.errors) + [exc.message]
            else:
                flash(exc.message, "error")
        else:
            flash(_("已保存：%(state)s", state=saved.state().label), "success")
            return redirect(url_for("notices.staff_index"))
    status = 422 if (form.errors or figures.errors or request.method == "POST") else 200
    return render_template("notices/edit.html", form=form, figures=figures, notice=notice), status


@bp.route("/backoffice/notices/new", methods=["GET", "POST"])
@staff_required
def create() -> Any:
    """Write a new notice."""
    return _edit(None)


def _editable(notice_id: int) -> Notice:
    notice = db.session.get(Notice, notice_id) or abort(404)
    require(notice.can_edit(current_user))
    return notice


@bp.route("/backoffice/notices/<int:notice_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(notice_id: int) -> Any:
    """Change a notice."""
    return _edit(_editable(notice_id))


@bp.route(
    "/backoffice/notices/<int:notice_id>/<any(publish, withdraw):notice_action>", methods=["POST"]
)
@staff_required
def act(notice_id: int, notice_action: str) -> Any:
    """Publish at once, or withdraw."""
    notice = _editable(notice_id)
    if notice_action == "publish":
        svc.publish_now(current_user, notice)
        flash(_("已发布。"), "success")
    else:
        svc.withdraw(current_user, notice)
        flash(_("已撤回。"), "success")
    return redirect(url_for("notices.staff_index"))


@bp.route("/backoffice/notices/images", methods=["POST"])
@staff_required
def upload_image() -> Any:
    """Upload an image for the editor; answers JSON with the image's address."""
    upload = request.files.get("image")
    if upload is None:
        return jsonify(error={"code": "invalid", "message": _("请选择图片。")}), 422
    try:
        img = svc.store_notice_image(current_user, upload)
    except DomainError as exc:
        return jsonify(error={"code": "invalid", "message": exc.message}), 422
    return jsonify(url=url_for("notices.image", name=img.filename)), 201


@bp.route("/backoffice/lost-found", methods=["GET", "POST"])
@staff_required
def staff_lost_found() -> Any:
    """Register found items; approve lost-item reports; mark items returned."""
    form = FoundItemForm()
    form.community_id.choices = [(0, _("全站"))] + served_choices(current_user)
    if form.validate_on_submit():
        try:
            svc.register_found(
                current_user,
                title=form.title.data,
                description=form.description.data or "",
                place=form.place.data or "",
                happened_on=form.happened_on.data,
                collect_at=form.collect_at.data,
                community_id=form.community_id.data or None,
            )
        except DomainError as exc:
            flash(exc.message, "error")
            return redirect(url_for("notices.staff_lost_found")), 303
        flash(_("已登记招领物品。"), "success")
        return redirect(url_for("notices.staff_lost_found"))
    page = page_arg()
    rows, total = svc.staff_items(current_user, page)
    return render_template(
        "notices/staff_lost_found.html",
        form=form,
        page=Page(rows, total, page, 20),
        moderate=ModerateItemForm(formdata=None),
        ItemKind=ItemKind,
    ), 422 if form.errors else 200


@bp.route(
    "/backoffice/lost-found/<int:item_id>/<any(approve, reject, claimed, returned):item_action>",
    methods=["POST"],
)
@staff_required
def moderate(item_id: int, item_action: str) -> Any:
    """An officer's decision on a lost-and-found item."""
    item = db.session.get(LostItem, item_id) or abort(404)
    require(item.can_moderate(current_user))
    form = ModerateItemForm()
    form.validate()
    try:
        svc.moderate_item(current_user, item, item_action, form.reason.data or "")
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("notices.staff_lost_found")), 303
    flash(_("已处理。"), "success")
    return redirect(url_for("notices.staff_lost_found"))


@bp.route(
    "/backoffice/lost-found/claims/<int:claim_id>/<any(returned, reject):claim_action>",
    methods=["POST"],
)
@staff_required
def decide_claim(claim_id: int, claim_action: str) -> Any:
    """Hand the item to this claimant, or turn the claim down with a reason."""
    made = db.session.get(ItemClaim, claim_id) or abort(404)
    require(made.item.can_moderate(current_user))
    form = ModerateItemForm()
    form.validate()
    try:
        if claim_action == "returned":
            svc.moderate_item(current_user, made.item, "returned", claim=made)
        else:
            svc.reject_claim(current_user, made, form.reason.data or "")
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("notices.item", item_id=made.item_id)), 303
    flash(_("已归还。") if claim_action == "returned" else _("已处理。"), "success")
    return redirect(url_for("notices.item", item_id=made.item_id))


@bp.route("/backoffice/contact")
@staff_required
def staff_messages() -> Any:
    """Contact-box messages of the officer's communities, waiting ones first (``?waiting=1``:
    only those still without a reply)."""
    page = page_arg()
    waiting = request.args.get("waiting") == "1"
    messages, total = svc.message_page(current_user, page, waiting_only=waiting)
    late = {m.id for m in svc.overdue(messages)}
    return render_template(
        "notices/staff_messages.html",
        page=Page(messages, total, page, 20),
        late=late,
        waiting=waiting,
    )


@bp.route("/backoffice/contact/<int:message_id>", methods=["GET", "POST"])
@staff_required
def staff_message(message_id: int) -> Any:
    """Read and answer one message."""
    msg = db.session.get(ContactMessage, message_id) or abort(404)
    require(msg.can_answer(current_user))
    form = ReplyForm(obj=msg)
    if form.validate_on_submit():
        svc.reply(current_user, msg, form.reply.data)
        flash(_("已回复。"), "success")
        return redirect(url_for("notices.staff_messages", waiting=1))
    return render_template(
        "notices/staff_message.html", message=msg, form=form, due=svc.reply_due(msg)
    ), 422 if form.errors else 200
