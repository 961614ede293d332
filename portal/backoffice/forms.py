"""Back-office forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from portal.accounts.forms import REAL_NAME_RULES
from portal.communities.models import OfficerStatus
from portal.forms import PortalForm
from portal.security.idnumbers import ResidentId


class StatusForm(PortalForm):
    """One click on the whereabouts board."""

    status = SelectField(
        _l("去向"), choices=[(s.value, s.value) for s in OfficerStatus], validators=[DataRequired()]
    )


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
    note = StringField(
        _l("说明"), validators=[Optional(), Length(max=100, message=_l("说明最多 100 字。"))]
    )


class ProfileForm(PortalForm):
    """What residents see of the officer on the community page."""

    title = StringField(
        _l("职务"),
        validators=[
            DataRequired(message=_l("请输入职务。")),
            Length(max=40, message=_l("最多 40 字。")),
        ],
    )
    office_hours = StringField(
        _l("接待时间"), validators=[Optional(), Length(max=200, message=_l("最多 200 字。"))]
    )
    contact = StringField(
        _l("联系方式"), validators=[Optional(), Length(max=200, message=_l("最多 200 字。"))]
    )
    bio = TextAreaField(
        _l("简介"), validators=[Optional(), Length(max=2000, message=_l("最多 2000 字。"))]
    )
    photo = FileField(_l("照片（JPEG 或 PNG，不超过 5 MB）"))


class CommunityForm(PortalForm):
    """An admin adds a community."""

    name = StringField(
        _l("社区名称"),
        validators=[
            DataRequired(message=_l("请输入社区名称。")),
            Length(max=60, message=_l("最多 60 字。")),
        ],
    )
    slug = StringField(
        _l("网址名（英文字母、数字和连字符）"),
        validators=[
            DataRequired(message=_l("请输入网址名。")),
            Length(max=60),
            Regexp(r"^[a-zA-Z0-9-]+$", message=_l("只能包含英文字母、数字和连字符。")),
        ],
    )
    district = StringField(_l("所属区域"), validators=[Optional(), Length(max=60)])
    office_address = StringField(_l("警务室地址"), validators=[Optional(), Length(max=200)])
    office_phone = StringField(_l("警务室电话"), validators=[Optional(), Length(max=30)])
    description = TextAreaField(_l("介绍"), validators=[Optional(), Length(max=2000)])


class WalkInForm(PortalForm):
    """An officer registers a resident who came to the office with no phone or e-mail."""

    display_name = StringField(
        _l("称呼"),
        validators=[
            DataRequired(message=_l("请输入称呼。")),
            Length(max=40, message=_l("称呼最多 40 个字。")),
        ],
    )
    real_name = StringField(
        _l("真实姓名"),
        validators=REAL_NAME_RULES,
    )
    id_number = StringField(
        _l("居民身份证号码"),
        validators=[
            DataRequired(message=_l("请输入身份证号码。")),
            Length(max=18, min=18, message=_l("身份证号码应为 18 位。")),
            ResidentId(),
        ],
    )
    community_id = SelectField(
        _l("所在社区"), coerce=int, validators=[DataRequired(message=_l("请选择社区。"))]
    )
    checked = BooleanField(
        _l("我已当面核对本人和身份证原件"),
        validators=[DataRequired(message=_l("请当面核对后勾选。"))],
    )
