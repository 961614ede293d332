"""Access checks in one place: route decorators. Per-record rules are ``can_*`` methods
on the models; views never repeat a check by hand."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, redirect, request, url_for
from flask_login import current_user

F = TypeVar("F", bound=Callable[..., Any])


def wants_json() -> bool:
    """True for API calls, which get JSON errors instead of pages and redirects."""
    return request.path.startswith("/api/")


def _refuse_anonymous() -> Any:
    if wants_json():
        abort(401)
    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))


def login_required(view: F) -> F:
    """Logged-in users only: 401 JSON for the API, a redirect to login for pages."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return _refuse_anonymous()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def roles_required(*roles: str) -> Callable[[F], F]:
    """Users with one of ``roles`` only; others get 403 (JSON or page)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return _refuse_anonymous()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapper.required_roles = roles  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


staff_required = roles_required("officer", "admin")
admin_required = roles_required("admin")


def require(allowed: bool) -> None:
    """Abort with 403 unless a ``can_*`` check allowed the act."""
    if not allowed:
        abort(403)
