"""The dashboard panel: today's appointments and pending home-visit requests."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from portal.accounts.models import User
from portal.appointments import services as svc
from portal.backoffice.panels import Panel, register_panel
from portal.db import as_utc
from portal.security.pii import mask_name
from portal.station.calendar import STATION_TZ


@register_panel(20)
def appointments_panel(officer: User) -> Panel:
    """Two queries: today's bookings and the pending requests."""
    today = svc.today_panel_rows(officer)
    pending = svc.pending_requests(officer)
    rows = [
        (
            _(
                "待确认：%(s)s %(t)s",
                s=b.service.name,
                t=f"{as_utc(b.starts_at).astimezone(STATION_TZ):%m-%d %H:%M}",
            ),
            url_for("appointments.officer_day"),
        )
        for b in pending[:3]
    ] + [
        (
            f"{as_utc(b.starts_at).astimezone(STATION_TZ):%H:%M} {b.service.name} "
            f"{mask_name(b.resident.display_name)} · {b.status.label}",
            url_for("appointments.officer_day"),
        )
        for b in today[:5]
    ]
    return Panel(
        key="appointments",
        title=_("今日预约"),
        count=len(today),
        link=url_for("appointments.officer_day"),
        rows=rows,
        empty_text=_("今天没有预约，也没有待确认的上门请求。"),
        alert=bool(pending),
    )
