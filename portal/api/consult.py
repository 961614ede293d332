"""Consultations, the knowledge base and chat history over the API (tag ``consult``).

Residents see their own questions without internal notes (``visible_messages``); the
knowledge base never names the asker.
"""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request
from flask_login import current_user

from portal.api import bp
from portal.api.common import error, validated
from portal.api.spec import operation
from portal.consult import chat
from portal.consult import services as svc
from portal.consult.forms import AskForm, MessageForm, RateForm, ReopenForm
from portal.consult.models import Category, Consultation, Conversation
from portal.consult.sla import describe_target
from portal.db import as_utc, db
from portal.errors import DomainError
from portal.security.access import login_required, require
from portal.templating import page_arg

_MSG = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string", "enum": ["question", "reply", "followup", "reopen", "event"]},
        "body": {"type": "string"},
        "created_at": {"type": "string"},
        "from_staff": {"type": "boolean"},
    },
    "required": ["id", "kind", "body", "created_at", "from_staff"],
}
_SUMMARY_PROPS = {
    "id": {"type": "integer"},
    "category": {"type": "string", "enum": [c.value for c in Category]},
    "title": {"type": "string"},
    "status": {"type": "string"},
    "is_public": {"type": "boolean"},
    "is_urgent": {"type": "boolean"},
    "created_at": {"type": "string"},
    "due_at": {"type": ["string", "null"]},
    "reply_target": {"type": ["string", "null"]},
    "rating": {"type": ["integer", "null"]},
}
QUESTION = {
    "type": "object",
    "properties": {**_SUMMARY_PROPS, "messages": {"type": "array", "items": _MSG}},
    "required": [*_SUMMARY_PROPS, "messages"],
}
QUESTION_PAGE = {
    "type": "object",
    "properties": {
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": _SUMMARY_PROPS,
                "required": list(_SUMMARY_PROPS),
            },
        },
        "total": {"type": "integer"},
        "page": {"type": "integer"},
    },
    "required": ["items", "total", "page"],
}
KB_ITEM = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "category": {"type": "string"},
        "title": {"type": "string"},
        "question": {"type": "string"},
        "answers": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["id", "category", "title", "question", "answers"],
}
KB_LIST = {
    "type": "object",
    "properties": {"items": {"type": "array", "items": KB_ITEM}},
    "required": ["items"],
}
CHAT_MESSAGE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "conversation_id": {"type": "integer"},
        "client_id": {"type": "string"},
        "sender_id": {"type": "integer"},
        "sender": {"type": "string"},
        "body": {"type": "string"},
        "created_at": {"type": "string"},
    },
    "required": ["id", "conversation_id", "client_id", "sender_id", "sender", "body", "created_at"],
}
CHAT_PAGE = {
    "type": "object",
    "properties": {
        "conversation_id": {"type": "integer"},
        "items": {"type": "array", "items": CHAT_MESSAGE},
    },
    "required": ["conversation_id", "items"],
}


def _summary(c: Consultation) -> dict[str, Any]:
    due = as_utc(c.due_at)
    return {
        "id": c.id,
        "category": c.category.value,
        "title": c.title,
        "status": c.status.value,
        "is_public": c.is_public,
        "is_urgent": c.is_urgent,
        "created_at": as_utc(c.created_at).isoformat(),
        "due_at": due.isoformat() if due else None,
        "reply_target": describe_target(due, svc._now()) if due else None,
        "rating": c.rating,
    }


def question_json(c: Consultation) -> dict[str, Any]:
    """A question as its asker sees it: internal notes are never included."""
    messages = [m for m in c.messages if not m.is_internal]
    return {
        **_summary(c),
        "messages": [
            {
                "id": m.id,
                "kind": m.kind.value,
                "body": m.body,
                "created_at": as_utc(m.created_at).isoformat(),
                "from_staff": m.author_id is not None and m.author_id != c.asker_id,
            }
            for m in messages
        ],
    }


def kb_json(c: Consultation) -> dict[str, Any]:
    """A knowledge-base entry: no asker, no notes."""
    answers = svc.answers_of(c)
    return {
        "id": c.id,
        "category": c.category.value,
        "title": c.title,
        "question": c.body,
        "answers": [m.body for m in answers if m.kind.value == "reply"],
    }


def _own(cid: int) -> Consultation:
    c = db.session.get(Consultation, cid)
    if c is None:
        abort(404)
    require(c.can_be_followed_by(current_user))
    return c


def _refused(err: DomainError) -> Any:
    return error(409, err.code, err.message, {err.field: [err.message]} if err.field else None)


@bp.route("/consult/questions", methods=["POST"])
@login_required
@operation("consult", "Ask a question", form=AskForm, response=QUESTION, auth="any", status=201)
def consult_ask() -> Any:
    """The answer carries the reply target in the resident's terms."""
    form, err = validated(AskForm)
    if err:
        return err
    c = svc.ask(
        current_user,
        category=Category(form.category.data),
        title=form.title.data,
        body=form.body.data,
        is_public=bool(form.is_public.data),
    )
    return jsonify(question_json(c)), 201


@bp.route("/consult/questions")
@login_required
@operation("consult", "My questions, newest first (?page=)", response=QUESTION_PAGE, auth="any")
def consult_mine() -> Any:
    page = page_arg()
    rows, total = svc.mine(current_user, page)
    return jsonify(items=[_summary(c) for c in rows], total=total, page=page)


@bp.route("/consult/questions/<int:cid>")
@login_required
@operation("consult", "One of my questions with its thread", response=QUESTION, auth="any")
def consult_question(cid: int) -> Any:
    return jsonify(question_json(_own(cid)))


@bp.route("/consult/questions/<int:cid>/follow-up", methods=["POST"])
@login_required
@operation("consult", "Add a follow-up", form=MessageForm, response=QUESTION, auth="any")
def consult_follow_up(cid: int) -> Any:
    c = _own(cid)
    form, err = validated(MessageForm)
    if err:
        return err
    try:
        svc.follow_up(current_user, c, form.body.data)
    except DomainError as exc:
        return _refused(exc)
    return jsonify(question_json(c))


@bp.route("/consult/questions/<int:cid>/close", methods=["POST"])
@login_required
@operation("consult", "Close my question", response=QUESTION, auth="any")
def consult_close(cid: int) -> Any:
    c = _own(cid)
    try:
        svc.close(current_user, c)
    except DomainError as exc:
        return _refused(exc)
    return jsonify(question_json(c))


@bp.route("/consult/questions/<int:cid>/reopen", methods=["POST"])
@login_required
@operation(
    "consult",
    "Reopen a closed question with a reason",
    form=ReopenForm,
    response=QUESTION,
    auth="any",
)
def consult_reopen(cid: int) -> Any:
    c = _own(cid)
    form, err = validated(ReopenForm)
    if err:
        return err
    try:
        svc.reopen(current_user, c, form.reason.data)
    except DomainError as exc:
        return _refused(exc)
    return jsonify(question_json(c))


@bp.route("/consult/questions/<int:cid>/rate", methods=["POST"])
@login_required
@operation("consult", "Rate the answer (1-5)", form=RateForm, response=QUESTION, auth="any")
def consult_rate(cid: int) -> Any:
    c = _own(cid)
    form, err = validated(RateForm)
    if err:
        return err
    try:
        svc.rate(current_user, c, form.score.data, form.comment.data or "")
    except DomainError as exc:
        return _refused(exc)
    return jsonify(question_json(c))


def _category_arg() -> Category | None:
    value = request.args.get("category", "")
    return Category(value) if value in {c.value for c in Category} else None


@bp.route("/consult/kb")
@operation("consult", "Search the knowledge base (?q=&category=)", response=KB_LIST)
def consult_kb() -> Any:
    """A simple token match over answered public questions (no asker shown)."""
    rows = svc.knowledge_base(request.args.get("q", "")[:100], _category_arg())
    return jsonify(items=[kb_json(c) for c in rows])


@bp.route("/consult/similar")
@operation("consult", "Answered questions similar to a title being typed (?q=)", response=KB_LIST)
def consult_similar() -> Any:
    rows = svc.similar_questions(request.args.get("q", "")[:100])
    return jsonify(items=[kb_json(c) for c in rows])


def _int_arg(name: str) -> int | None:
    try:
        value = int(request.args.get(name, ""))
    except ValueError:
        return None
    return value if value > 0 else None


@bp.route("/consult/chat/messages")
@login_required
@operation(
    "consult",
    "Chat history of my conversation (?after_id= to resync, ?before_id= to page back)",
    response=CHAT_PAGE,
    auth="any",
)
def consult_chat_mine() -> Any:
    try:
        conv = chat.conversation_for(current_user)
    except DomainError as exc:
        return _refused(exc)
    return _chat_page(conv)


@bp.route("/consult/chat/<int:conv_id>/messages")
@login_required
@operation(
    "consult",
    "Chat history of a conversation I belong to (?after_id=, ?before_id=)",
    response=CHAT_PAGE,
    auth="any",
)
def consult_chat_messages(conv_id: int) -> Any:
    conv = db.session.get(Conversation, conv_id)
    if conv is None:
        abort(404)
    require(conv.can_join(current_user))
    return _chat_page(conv)


def _chat_page(conv: Conversation) -> Any:
    after = _int_arg("after_id")
    rows = (
        chat.history(conv, after)
        if after is not None
        else chat.page_before(conv, _int_arg("before_id"))
    )
    return jsonify(conversation_id=conv.id, items=[chat.message_dict(m) for m in rows])
