"""The OpenAPI document and the CSRF token."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify
from flask_wtf.csrf import generate_csrf

from portal.api import bp
from portal.api.spec import build_document, operation


@bp.route("/openapi.json")
def openapi() -> Any:
    """The API described, generated from the routes and forms."""
    return jsonify(build_document(current_app))


@bp.route("/csrf")
@operation(
    "accounts",
    "A CSRF token for writes (send it as X-CSRFToken)",
    response={
        "type": "object",
        "properties": {"csrf_token": {"type": "string"}},
        "required": ["csrf_token"],
    },
)
def csrf_token() -> Any:
    """Writes need this token in the X-CSRFToken header."""
    return jsonify(csrf_token=generate_csrf())
