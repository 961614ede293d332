"""Login throttling, shared by the login page and the API's session endpoint.

Two limits, both counting only failed attempts: per account (the login name typed) and
per address. Counters live in Redis when ``PORTAL_REDIS_URL`` is set, so every server
process shares them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, request

from portal.extensions import limiter
from portal.security.pii import normalize_phone


def _account_key() -> str:
    payload = request.get_json(silent=True) if request.is_json else None
    value = (payload or {}).get("login") if isinstance(payload, dict) else request.form.get("login")
    value = str(value or "").strip().lower()
    if value and "@" not in value:
        value = normalize_phone(value) or value
    return "login-account:" + value[:254]


def _address_key() -> str:
    return "login-address:" + (request.remote_addr or "unknown")


def _failed(response: Any) -> bool:
    return response.status_code == 401


def throttle_login(view: Callable[..., Any]) -> Callable[..., Any]:
    """Apply both login limits to a view that answers 401 on a wrong password."""
    per_account = limiter.limit(
        lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
        methods=["POST"],
        key_func=_account_key,
        deduct_when=_failed,
    )
    per_address = limiter.limit(
        lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
        methods=["POST"],
        key_func=_address_key,
        deduct_when=_failed,
    )
    return per_address(per_account(view))
