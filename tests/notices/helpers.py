"""Shared helpers for the notices tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from portal.db import db, utcnow


def write(app: Any, officer_id: int, **kw: Any) -> int:
    """Save a notice through the service as the officer; returns its id."""
    from portal.accounts.models import User
    from portal.notices import services as svc
    from portal.notices.models import NoticeKind

    with app.test_request_context():
        officer = db.session.get(User, officer_id)
        data: dict[str, Any] = {
            "kind": NoticeKind.TIP,
            "title": "防范电信诈骗",
            "body_html": "<p>不要轻信陌生来电。</p>",
            "station_wide": True,
            "community_ids": [],
            "publish_at": utcnow() - dt.timedelta(minutes=1),
        }
        data.update(kw)
        notice = svc.save_notice(officer, None, **data)
        db.session.commit()
        return notice.id
