"""Jinja filters and globals shared by every template."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from urllib.parse import urlencode

from flask import Flask, request
from flask_babel import format_datetime, get_locale
from flask_login import current_user

from portal.db import as_utc
from portal.security.pii import mask_id, mask_name, mask_phone


class Page:
    """One page of results and the links around it."""

    def __init__(self, items: list[Any], total: int, page: int, per_page: int) -> None:
        self.items = items
        self.total = total
        self.page = page
        self.per_page = per_page
        self.pages = max(1, math.ceil(total / per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def url(self, page: int) -> str:
        args = request.args.to_dict()
        args["page"] = str(page)
        return request.path + "?" + urlencode(args)


def page_arg() -> int:
    """The ``page`` query argument, clamped to a sane positive number."""
    try:
        return max(1, min(int(request.args.get("page", 1)), 10_000))
    except ValueError:
        return 1


def _local(value: dt.datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    if value is None:
        return ""
    return format_datetime(as_utc(value), fmt)


def init_templating(app: Flask) -> None:
    """Register filters and the context every page needs (bell count, language)."""
    app.jinja_env.filters.update(
        mask_id=mask_id, mask_phone=mask_phone, mask_name=mask_name, local=_local
    )
    app.jinja_env.globals.update(Page=Page)

    @app.context_processor
    def _globals() -> dict[str, Any]:
        unread = 0
        if current_user.is_authenticated:
            from portal.notifications.services import unread_count

            unread = unread_count(current_user)
        return {
            "unread_count": unread,
            "current_locale": str(get_locale()),
            "languages": app.config["LANGUAGES"],
        }
