"""The dashboard panel of the contact box: messages waiting longer than 3 working days."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import url_for
from flask_babel import gettext as _

from portal.backoffice.panels import Panel, register_panel
from portal.notices import services as svc

if TYPE_CHECKING:
    from portal.accounts.models import User


@register_panel(60)
def contact_panel(officer: User) -> Panel:
    """The reply-back rule (回告制): every message gets an answer, late ones stand out."""
    waiting = svc.messages_for(officer, waiting_only=True)
    late = svc.overdue(waiting)
    return Panel(
        key="contact",
        title=_("警民联系箱：超过3个工作日未回复"),
        count=len(late),
        link=url_for("notices.staff_messages"),
        rows=[
            (
                f"{m.community.name} · {m.category.label} · {m.body[:30]}",
                url_for("notices.staff_message", message_id=m.id),
            )
            for m in late[:5]
        ],
        empty_text=_("没有逾期未回复的留言（待回复 %(n)s 条）。", n=len(waiting)),
        alert=bool(late),
    )


@register_panel(61)
def lost_found_panel(officer: User) -> Panel:
    """Lost-and-found work: reports to moderate and claims whose owners are coming."""
    pending, claimed = svc.lost_found_counts(officer)
    items = svc.lost_found_queue(officer) if pending + claimed else []
    return Panel(
        key="lost_found",
        title=_("失物招领：待审核 %(p)s，待领取 %(c)s", p=pending, c=claimed),
        count=pending + claimed,
        link=url_for("notices.staff_lost_found"),
        rows=[
            (f"{i.status.label} · {i.title}", url_for("notices.item", item_id=i.id)) for i in items
        ],
        empty_text=_("没有待审核或待领取的物品。"),
        alert=pending > 0,
    )
