"""The dashboard panel of the ledger: the headline rates against their targets and the
pending backlog of the officer's communities (the station's for an admin)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import url_for
from flask_babel import gettext as _

from portal.accounts.models import Role
from portal.backoffice.panels import Panel, register_panel
from portal.registry import figures
from portal.registry.ledger import visible_communities

if TYPE_CHECKING:
    from portal.accounts.models import User


def scope_figures(user: User) -> figures.Figures:
    """The station's figures for an admin; the sum over an officer's communities."""
    now = figures.stored().now
    if user.role == Role.ADMIN:
        return now[figures.STATION]
    total = figures.Figures()
    ages: list[float] = []
    for c in visible_communities(user):
        f = now.get(c.id)
        if f is None:
            continue
        for name in ("known", "registered", "permits", "open_houses", "pledged", "pending"):
            setattr(total, name, getattr(total, name) + getattr(f, name))
        if f.oldest_pending_days is not None:
            ages.append(f.oldest_pending_days)
    total.oldest_pending_days = max(ages) if ages else None
    return total


@register_panel(45)
def ledger_panel(officer: User) -> Panel | None:
    """登记率, 办证率, 保证书签订率 against their targets, and the review backlog."""
    if officer.role not in (Role.OFFICER, Role.ADMIN):
        return None
    f = scope_figures(officer)
    t = figures.TARGETS
    rows = [
        (
            _(
                "暂住人口登记率 %(v)s（目标 %(t)s）",
                v=figures.pct(f.registration_rate),
                t=figures.pct(t["registration"]),
            ),
            url_for("registry.ledger_figures"),
        ),
        (
            _(
                "办证率 %(v)s（目标 %(t)s）",
                v=figures.pct(f.permit_rate),
                t=figures.pct(t["permit"]),
            ),
            url_for("registry.ledger_figures"),
        ),
        (
            _(
                "治安责任保证书签订率 %(v)s（目标 %(t)s）",
                v=figures.pct(f.pledge_rate),
                t=figures.pct(t["pledge"]),
            ),
            url_for("registry.ledger_houses"),
        ),
    ]
    if f.pending:
        rows.append(
            (
                _(
                    "待审核 %(n)s 条，最早的已等待 %(d)s 天",
                    n=f.pending,
                    d=f.oldest_pending_days or 0,
                ),
                url_for("registry.ledger", status="pending"),
            )
        )
    below = any(
        v is not None and v < t[k]
        for k, v in (
            ("registration", f.registration_rate),
            ("permit", f.permit_rate),
            ("pledge", f.pledge_rate),
        )
    )
    return Panel(
        key="registry-ledger",
        title=_("流动人口与出租房屋台帐：待审核"),
        count=f.pending,
        link=url_for("registry.ledger"),
        rows=rows,
        empty_text=_("暂无数据。"),
        alert=bool(f.pending) or below,
    )
