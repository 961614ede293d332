"""Consultation forms; the API validates JSON with the same classes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from portal.consult.models import Category
from portal.forms import PortalForm


class AskForm(PortalForm):
    """A new question."""

    category = SelectField(_l("类别"), choices=Category.choices(), validators=[DataRequired()])
    title = StringField(_l("标题"), validators=[DataRequired(), Length(min=4, max=120)])
    body = TextAreaField(_l("问题描述"), validators=[DataRequired(), Length(min=5, max=5000)])
    is_public = BooleanField(_l("公开（答复后匿名收入知识库，帮助其他居民）"))


class MessageForm(PortalForm):
    """A follow-up, reply or internal note."""

    body = TextAreaField(_l("内容"), validators=[DataRequired(), Length(min=1, max=5000)])


class ReopenForm(PortalForm):
    """Reopening a closed question needs a reason."""

    reason = TextAreaField(
        _l("重新打开的原因"), validators=[DataRequired(), Length(min=2, max=1000)]
    )


class RateForm(PortalForm):
    """A 1–5 rating of the answer."""

    score = IntegerField(_l("评分"), validators=[InputRequired(), NumberRange(min=1, max=5)])
    comment = StringField(_l("评价（选填）"), validators=[Optional(), Length(max=500)])


class AssignForm(PortalForm):
    """Hand an item to a colleague."""

    assignee_id = SelectField(_l("转交给"), coerce=int, validators=[DataRequired()])


class CannedReplyForm(PortalForm):
    """A stock answer."""

    title = StringField(_l("名称"), validators=[DataRequired(), Length(max=60)])
    body = TextAreaField(_l("内容"), validators=[DataRequired(), Length(max=5000)])
