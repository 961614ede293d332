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
