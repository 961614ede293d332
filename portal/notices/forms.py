"""Forms of the notices feature; the API validates JSON with the same classes."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from portal.forms import PortalForm
from portal.notices.models import MessageCategory, NoticeKind

KIND_CHOICES = NoticeKind.choices()
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def no_controls(value: Any) -> Any:
    """Drop control characters (NUL above all: PostgreSQL refuses it in text)."""
    return _CONTROL.sub("", value) if isinstance(value, str) else value


TEXT = {"filters": [no_controls]}


class NoticeForm(PortalForm):
    """An officer writes or edits a notice. ``body_html`` is sanitised by the service."""

    kind = SelectField(_l("类别"), choices=KIND_CHOICES, validators=[DataRequired()])
    title = StringField(_l("标题"), validators=[DataRequired(), Length(max=120)], **TEXT)
    body_html = TextAreaField(_l("正文"), validators=[Length(max=100_000)], **TEXT)
    station_wide = BooleanField(_l("面向全站"), default=True)
    community_ids = SelectMultipleField(
        _l("指定社区"), coerce=int, choices=[], validate_choice=True
    )
    pinned = BooleanField(_l("置顶"))
    show_author = BooleanField(_l("署上我的姓名"))
    publish_at = DateTimeLocalField(
        _l("定时发布（北京时间，留空为草稿）"), format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    expires_at = DateTimeLocalField(
        _l("过期时间（北京时间，可留空）"), format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    period_start = DateField(_l("统计时段（警情公示，任选该半月内一天）"), validators=[Optional()])
    advice = TextAreaField(_l("防范建议（警情公示）"), validators=[Length(max=2000)], **TEXT)


def figures_form(offences: list[str]) -> type[PortalForm]:
    """A form with one count per configured offence type (field names ``count_<i>``)."""

    class FiguresForm(PortalForm):
        pass

    for i, name in enumerate(offences):
        setattr(
            FiguresForm,
            f"count_{i}",
            IntegerField(name, default=0, validators=[Optional(), NumberRange(min=0, max=100_000)]),
        )
    return FiguresForm


def figures_from(form: Any, offences: list[str]) -> dict[str, int]:
    """The counts a figures form holds, by offence type."""
    return {name: int(getattr(form, f"count_{i}").data or 0) for i, name in enumerate(offences)}


class FoundItemForm(PortalForm):
    """An officer registers an item handed in."""

    title = StringField(_l("物品"), validators=[DataRequired(), Length(max=80)], **TEXT)
    description = TextAreaField(_l("描述"), validators=[Length(max=2000)], **TEXT)
    place = StringField(_l("拾获地点"), validators=[Length(max=120)], **TEXT)
    happened_on = DateField(_l("拾获日期"), validators=[Optional()])
    collect_at = StringField(_l("领取地点"), validators=[DataRequired(), Length(max=120)], **TEXT)
    community_id = SelectField(_l("社区"), coerce=int, choices=[], validators=[Optional()])


class LostItemForm(PortalForm):
    """A resident reports something lost; an officer approves it before it is shown."""

    title = StringField(_l("物品"), validators=[DataRequired(), Length(max=80)], **TEXT)
    description = TextAreaField(_l("描述"), validators=[Length(max=2000)], **TEXT)
    place = StringField(_l("遗失地点"), validators=[Length(max=120)], **TEXT)
    happened_on = DateField(_l("遗失日期"), validators=[Optional()])


class ClaimForm(PortalForm):
    """A resident claims a found item by describing it."""

    proof = TextAreaField(
        _l("物品特征（只有失主知道的细节，如颜色、内容物、划痕）"),
        validators=[DataRequired(), Length(min=5, max=1000)],
        **TEXT,
    )


class ClaimVisitForm(PortalForm):
    """The time and officer of the visit to collect a claimed item (the API's body; the
    page posts the same two fields from the appointments slot grid)."""

    starts_at = StringField(_l("时间"), validators=[DataRequired(), Length(max=40)], **TEXT)
    provider_id = IntegerField(
        _l("接待人"), validators=[InputRequired(), NumberRange(min=1, max=2**31 - 1)]
    )

    def validate_starts_at(self, field: StringField) -> None:
        from portal.appointments.forms import parse_instant

        self.starts_at_value = parse_instant(field.data or "")
        if self.starts_at_value is None:
            raise ValidationError(_l("时间格式不正确。"))


class ModerateItemForm(PortalForm):
    """An officer's decision on an item."""

    reason = StringField(_l("理由"), validators=[Length(max=200)], **TEXT)


class ApiModerateForm(PortalForm):
    """The API's moderation body: a reason, and for ``returned`` the claim handed over.
    (Fields are spelled out, not inherited: the OpenAPI schema reads a form's own fields.)"""

    reason = StringField(_l("理由"), validators=[Length(max=200)], **TEXT)
    claim_id = IntegerField(
        _l("认领编号"), validators=[Optional(), NumberRange(min=1, max=2**31 - 1)]
    )


class ContactForm(PortalForm):
    """A message to the contact box (警民联系箱)."""

    community_id = SelectField(_l("社区"), coerce=int, choices=[], validators=[InputRequired()])
    category = SelectField(
        _l("类型"),
        choices=MessageCategory.choices(),
        validators=[DataRequired()],
    )
    body = TextAreaField(_l("内容"), validators=[DataRequired(), Length(min=5, max=2000)], **TEXT)
    anonymous = BooleanField(_l("匿名发送（不记录您的身份，凭查询码查看回复）"))


class TrackForm(PortalForm):
    """An anonymous sender reads the reply with the tracking code."""

    code = StringField(_l("查询码"), validators=[DataRequired(), Length(max=40)], **TEXT)


class ReplyForm(PortalForm):
    """An officer's answer to a contact-box message."""

    reply = TextAreaField(_l("回复"), validators=[DataRequired(), Length(max=2000)], **TEXT)
