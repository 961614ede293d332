"""Back-office forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from portal.communities.models import OfficerStatus
from portal.forms import PortalForm


class StatusForm(PortalForm):
    """One click on the whereabouts board."""

    status = SelectField(_l("去向"), choices=[(s.value, s.value) for s in OfficerStatus],
                         validators=[DataRequired()])


class AuditFilterForm(PortalForm):
    """Filters of the audit log (a GET form, so no CSRF)."""

    class Meta:
        csrf = False

    action = StringField(_l("操作"), validators=[Optional(), Length(max=60)])
    actor = StringField(_l("操作人"), validators=[Optional(), Length(max=40)])
    subject = StringField(_l("对象用户编号"), validators=[Optional(), Length(max=10)])
    since = DateField(_l("起始日期"), validators=[Optional()])
    until = DateField(_l("截止日期"), validators=[Optional()])


class CalendarOverrideForm(PortalForm):
    """An admin's correction of the holiday calendar for one day."""

    day = DateField(_l("日期"), validators=[DataRequired(message=_l("请选择日期。"))])
    is_workday = BooleanField(_l("这一天上班"))
    note = StringField(_l("说明"), validators=[Optional(), Length(max=100, message=_l("说明最多 100 字。"))])
