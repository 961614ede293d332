"""Consultation pages for residents, the officers' queue, the knowledge base and chat pages.

Thin: an access decorator, a form, one service call, a render or redirect.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.models import User
from portal.consult import bp, chat
from portal.consult import services as svc
from portal.consult.forms import (
    AskForm,
    AssignForm,
    CannedReplyForm,
    MessageForm,
    RateForm,
    ReopenForm,
)
from portal.consult.models import Category, Consultation, ConsultStatus, Conversation
from portal.consult.sla import describe_target, due_soon
from portal.db import as_utc, db
from portal.errors import DomainError
from portal.forms import strip_control_characters
from portal.security.access import login_required, require, roles_required
from portal.templating import Page, page_arg

handler_required = roles_required("officer", "admin", "lawyer")
chat_staff_required = roles_required("officer", "admin")


def _consultation(cid: int) -> Consultation:
    c = db.session.get(Consultation, cid)
    if c is None:
        abort(404)
    return c


def _refused(err: DomainError, target: str) -> Any:
    flash(err.message, "error")
    g.rollback = True
    return redirect(target, code=303)


def _invalid(form: Any, target: str) -> Any:
    for errors in form.errors.values():
        for e in errors:
            flash(str(e), "error")
    g.rollback = True
    return redirect(target, code=303)


# -- residents -------------------------------------------------------------------------------


@bp.route("/consult")
@login_required
def mine() -> Any:
    """The resident's own questions."""
    page = page_arg()
    rows, total = svc.mine(current_user, page)
    return render_template("consult/mine.html", page=Page(rows, total, page, 20), now=svc._now())


@bp.route("/consult/ask", methods=["GET", "POST"])
@login_required
def ask() -> Any:
    """Ask a question; similar answered questions are suggested while typing (consult.js)."""
    form = AskForm()
    if form.validate_on_submit():
        c = svc.ask(
            current_user,
            category=Category(form.category.data),
            title=form.title.data,
            body=form.body.data,
            is_public=bool(form.is_public.data),
        )
        flash(describe_target(as_utc(c.due_at), svc._now()), "success")
        if c.is_urgent:
            flash(_("您的描述可能涉及紧急情况：紧急情况请立即拨打110！"), "error")
        return redirect(url_for("consult.show", cid=c.id))
    status = 422 if request.method == "POST" else 200
    return (
        render_template("consult/ask.html", form=form, words=svc.emergency_words()),
        status,
    )


def _show(
    c: Consultation,
    *,
    follow_form: MessageForm | None = None,
    reopen_form: ReopenForm | None = None,
    rate_form: RateForm | None = None,
    status: int = 200,
) -> Any:
    """The question page; a rejected form comes back with its errors and the typed text."""
    if status >= 400:
        g.rollback = True
    return (
        render_template(
            "consult/show.html",
            c=c,
            messages=[m for m in c.messages if not m.is_internal],
            target=describe_target(as_utc(c.due_at), svc._now()) if c.due_at else None,
            follow_form=follow_form or MessageForm(formdata=None),
            reopen_form=reopen_form or ReopenForm(formdata=None),
            rate_form=rate_form or RateForm(formdata=None),
            urgent=c.is_urgent,
            words=svc.emergency_words(),
        ),
        status,
    )


def _field_error(form: Any, field: str | None, default: str, message: str) -> None:
    """Put a refusal's message on the field it names (else on the form's main field)."""
    target = getattr(form, field or default, None) or getattr(form, default)
    target.errors = [*target.errors, message]


@bp.route("/consult/<int:cid>")
@login_required
def show(cid: int) -> Any:
    """The asker's view of a question (internal notes are never in it)."""
    c = _consultation(cid)
    require(c.can_be_followed_by(current_user))
    return _show(c)


@bp.route("/consult/<int:cid>/follow-up", methods=["POST"])
@login_required
def follow_up(cid: int) -> Any:
    c = _consultation(cid)
    require(c.can_be_followed_by(current_user))
    form = MessageForm()
    if not form.validate_on_submit():
        return _show(c, follow_form=form, status=422)
    try:
        svc.follow_up(current_user, c, form.body.data)
    except DomainError as err:
        _field_error(form, err.field, "body", err.message)
        return _show(c, follow_form=form, status=422)
    if svc.is_emergency(form.body.data):
        flash(_("您的描述可能涉及紧急情况：紧急情况请立即拨打110！"), "error")
    return redirect(url_for("consult.show", cid=cid), code=303)


@bp.route("/consult/<int:cid>/close", methods=["POST"])
@login_required
def close(cid: int) -> Any:
    c = _consultation(cid)
    require(c.can_be_followed_by(current_user))
    target = url_for("consult.show", cid=cid)
    try:
        svc.close(current_user, c)
    except DomainError as err:
        return _refused(err, target)
    return redirect(target, code=303)


@bp.route("/consult/<int:cid>/reopen", methods=["POST"])
@login_required
def reopen(cid: int) -> Any:
    c = _consultation(cid)
    require(c.can_be_followed_by(current_user))
    form = ReopenForm()
    if not form.validate_on_submit():
        return _show(c, reopen_form=form, status=422)
    try:
        svc.reopen(current_user, c, form.reason.data)
    except DomainError as err:
        _field_error(form, err.field, "reason", err.message)
        return _show(c, reopen_form=form, status=422)
    flash(describe_target(as_utc(c.due_at), svc._now()), "success")
    return redirect(url_for("consult.show", cid=cid), code=303)


@bp.route("/consult/<int:cid>/rate", methods=["POST"])
@login_required
def rate(cid: int) -> Any:
    c = _consultation(cid)
    require(c.can_be_followed_by(current_user))
    form = RateForm()
    if not form.validate_on_submit():
        return _show(c, rate_form=form, status=422)
    try:
        svc.rate(current_user, c, form.score.data, form.comment.data or "")
    except DomainError as err:
        _field_error(form, err.field, "comment", err.message)
        return _show(c, rate_form=form, status=422)
    flash(_("感谢您的评价。"), "success")
    return redirect(url_for("consult.show", cid=cid), code=303)


# -- knowledge base (public) -----------------------------------------------------------------


@bp.route("/consult/kb")
def kb() -> Any:
    """Answered public questions; the asker is never shown."""
    q = strip_control_characters(request.args.get("q", ""))[:100]
    cat = request.args.get("category", "")
    category = Category(cat) if cat in {c.value for c in Category} else None
    rows = svc.knowledge_base(q, category)
    return render_template(
        "consult/kb.html", rows=rows, q=q, category=cat, categories=list(Category)
    )


@bp.route("/consult/kb/<int:cid>")
def kb_item(cid: int) -> Any:
    c = _consultation(cid)
    if not c.in_knowledge_base():
        abort(404)
    return render_template("consult/kb_item.html", c=c, messages=svc.answers_of(c))


# -- live chat (resident) --------------------------------------------------------------------


@bp.route("/consult/chat")
@login_required
def chat_page() -> Any:
    """The resident's live chat with their community's officer."""
    if current_user.role != "resident":
        return redirect(url_for("consult.chat_inbox"))
    try:
        conv = chat.conversation_for(current_user)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("accounts.account"))
    return render_template(
        "consult/chat.html",
        conv=conv,
        messages=chat.history(conv),
        presence=chat.presence(conv.community_id),
        words=svc.emergency_words(),
        staff=False,
    )


# -- the back office -------------------------------------------------------------------------


@bp.route("/backoffice/consult")
@handler_required
def queue() -> Any:
    """The officers' queue: unassigned, mine, overdue, waiting on resident, closed."""
    tab = request.args.get("tab", "unassigned")
    tab = tab if tab in svc.TABS else "unassigned"
    page = page_arg()
    rows, total = svc.queue(current_user, tab, page)
    return render_template(
        "consult/queue.html",
        page=Page(rows, total, page, 20),
        tab=tab,
        tabs=svc.TABS,
        counts=svc.tab_counts(current_user),
        now=svc._now(),
        due_soon=due_soon,
        aware=as_utc,
    )


def _queue_item(c: Consultation, form: MessageForm | None = None, status: int = 200) -> Any:
    """One item with its whole thread; a rejected reply or note keeps the typed text."""
    if status >= 400:
        g.rollback = True
    other = svc.open_by(current_user, c)
    assign_form = AssignForm(formdata=None)
    assign_form.assignee_id.choices = [(u.id, u.display_name) for u in svc.colleagues_for(c)]
    return (
        render_template(
            "consult/queue_item.html",
            c=c,
            messages=svc.visible_messages(c, current_user),
            other=other,
            form=form or MessageForm(formdata=None),
            assign_form=assign_form,
            canned=svc.canned_replies(),
            now=svc._now(),
            aware=as_utc,
            due_soon=due_soon,
            statuses=ConsultStatus,
        ),
        status,
    )


@bp.route("/backoffice/consult/<int:cid>")
@handler_required
def queue_item(cid: int) -> Any:
    """One item with its whole thread, internal notes included."""
    c = _consultation(cid)
    require(c.can_be_handled_by(current_user))
    return _queue_item(c)


ACTIONS = ("claim", "reply", "note", "waiting", "close", "complex", "assign", "clear-urgent")


@bp.route("/backoffice/consult/<int:cid>/<action>", methods=["POST"])
@handler_required
def queue_action(cid: int, action: str) -> Any:
    """Claim, reply, note, wait on the resident, close, mark complex, assign, clear the
    urgent mark."""
    if action not in ACTIONS:
        abort(404)
    c = _consultation(cid)
    require(c.can_be_handled_by(current_user))
    target = url_for("consult.queue_item", cid=cid)
    try:
        if action in ("reply", "note"):
            form = MessageForm()
            if not form.validate_on_submit():
                return _queue_item(c, form, 422)
            try:
                (svc.reply if action == "reply" else svc.add_note)(current_user, c, form.body.data)
            except DomainError as err:
                _field_error(form, err.field, "body", err.message)
                return _queue_item(c, form, 422)
        elif action == "waiting":
            body = strip_control_characters(request.form.get("body", ""))[:5000]
            svc.mark_waiting(current_user, c, body)
        elif action == "claim":
            svc.claim(current_user, c)
        elif action == "close":
            svc.close(current_user, c)
        elif action == "complex":
            svc.mark_complex(current_user, c)
        elif action == "clear-urgent":
            svc.clear_urgent(current_user, c)
        else:
            form = AssignForm()
            form.assignee_id.choices = [(u.id, u.display_name) for u in svc.colleagues_for(c)]
            if not form.validate_on_submit():
                return _invalid(form, target)
            colleague = db.session.get(User, form.assignee_id.data)
            if colleague is None:
                abort(404)
            svc.assign(current_user, c, colleague)
    except DomainError as err:
        return _refused(err, target)
    flash(_("已保存。"), "success")
    return redirect(target, code=303)


@bp.route("/backoffice/consult/canned", methods=["GET", "POST"])
@handler_required
def canned() -> Any:
    """The canned replies officers insert into answers."""
    form = CannedReplyForm()
    if form.validate_on_submit():
        try:
            svc.add_canned_reply(current_user, form.title.data, form.body.data)
        except DomainError as err:
            form.title.errors.append(err.message)
        else:
            flash(_("已保存。"), "success")
            return redirect(url_for("consult.canned"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("consult/canned.html", form=form, rows=svc.canned_replies()), status


@bp.route("/backoffice/consult/figures")
@handler_required
def figures() -> Any:
    """Median first-reply time and share within target, per officer and per community."""
    officers, communities = svc.figures(current_user)
    return render_template("consult/figures.html", officers=officers, communities=communities)


@bp.route("/backoffice/chat")
@chat_staff_required
def chat_inbox() -> Any:
    """Live conversations of the officer's communities, with unread counts."""
    return render_template(
        "consult/inbox.html", rows=chat.inbox(current_user), online=chat.resident_online
    )


@bp.route("/backoffice/chat/<int:conv_id>")
@chat_staff_required
def chat_room(conv_id: int) -> Any:
    conv = db.session.get(Conversation, conv_id) or abort(404)
    require(conv.can_join(current_user))
    return render_template(
        "consult/chat.html",
        conv=conv,
        messages=chat.history(conv),
        presence=None,
        words=(),
        staff=True,
        resident_online=chat.resident_online(conv.id),
    )


@bp.route("/backoffice/chat/<int:conv_id>/convert", methods=["POST"])
@chat_staff_required
def chat_convert(conv_id: int) -> Any:
    conv = db.session.get(Conversation, conv_id) or abort(404)
    require(conv.can_join(current_user))
    try:
        c = chat.convert(current_user, conv)
    except DomainError as err:
        return _refused(err, url_for("consult.chat_room", conv_id=conv_id))
    flash(_("已转为咨询。"), "success")
    return redirect(url_for("consult.queue_item", cid=c.id), code=303)


@bp.route("/backoffice/chat/<int:conv_id>/clear-urgent", methods=["POST"])
@chat_staff_required
def chat_clear_urgent(conv_id: int) -> Any:
    """解除紧急: the officer has dealt with the emergency (confirmed on the page, audited)."""
    conv = db.session.get(Conversation, conv_id) or abort(404)
    require(conv.can_join(current_user))
    target = url_for("consult.chat_room", conv_id=conv_id)
    try:
        chat.clear_urgent(current_user, conv)
    except DomainError as err:
        return _refused(err, target)
    flash(_("已解除紧急标记。"), "success")
    return redirect(target, code=303)
