"""Helpers every API module uses: JSON errors, body parsing, pagination."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_babel import gettext as _

from portal.forms import PortalForm


def error(status: int, code: str, message: str, fields: dict[str, Any] | None = None) -> Any:
    """The one error shape: {"error": {"code", "message", "fields"?}}."""
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    resp = jsonify(error=body)
    resp.status_code = status
    return resp


def validated(form_cls: type[PortalForm], prepare: Any = None) -> tuple[PortalForm | None, Any]:
    """Validate the JSON body with the page's form; (form, None) or (None, error response)."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return None, error(400, "bad_json", _("请求体必须是 JSON 对象。"))
    form = form_cls.from_json(payload)
    if prepare:
        prepare(form)
    if not form.validate():
        return None, error(422, "invalid", _("提交的内容有误。"), form.error_dict())
    return form, None
