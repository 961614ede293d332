"""Forms of the appointment pages and API (the same classes validate both)."""

from __future__ import annotations

import datetime as dt
import re

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
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

from portal.appointments.models import ExceptionKind, Location
from portal.forms import PortalForm
from portal.station.calendar import STATION_TZ


def _no_nul(value: object) -> object:
    # PostgreSQL refuses NUL in text; it is never meaningful input.
    return value.replace("\x00", "") if isinstance(value, str) else value


CLEAN = [_no_nul]
MAX_ID = 2**31 - 1  # a primary key beyond this cannot exist (and overflows SQLite's int)


def parse_instant(value: str) -> dt.datetime | None:
    """An ISO 8601 instant; a time without an offset means Asia/Shanghai."""
    try:
        at = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    if at.year < 2000 or at.year > 2100:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=STATION_TZ)
    return at.astimezone(dt.UTC)


class _StartsAt:
    starts_at = StringField(_l("时间"), filters=CLEAN, validators=[DataRequired(), Length(max=40)])

    def validate_starts_at(self, field: StringField) -> None:
        self.starts_at_value = parse_instant(field.data or "")
        if self.starts_at_value is None:
            raise ValidationError(_l("时间格式不正确。"))


class BookForm(_StartsAt, PortalForm):
    provider_id = IntegerField(_l("接待人"), validators=[InputRequired(), NumberRange(1, MAX_ID)])
    address = StringField(_l("上门地址"), filters=CLEAN, validators=[Optional(), Length(max=200)])
    note = TextAreaField(_l("备注"), filters=CLEAN, validators=[Optional(), Length(max=500)])


class ApiBookForm(BookForm):
    service_id = IntegerField(_l("服务"), validators=[InputRequired(), NumberRange(1, MAX_ID)])


class ReasonForm(PortalForm):
    reason = StringField(_l("原因"), filters=CLEAN, validators=[DataRequired(), Length(max=200)])


class RescheduleForm(_StartsAt, ReasonForm):
    pass


class CheckInForm(PortalForm):
    code = StringField(_l("预约号"), filters=CLEAN, validators=[DataRequired(), Length(max=12)])


class FinishForm(PortalForm):
    note = TextAreaField(_l("办理情况"), filters=CLEAN, validators=[Optional(), Length(max=2000)])
    reason = StringField(_l("原因"), filters=CLEAN, validators=[Optional(), Length(max=200)])


class RateForm(PortalForm):
    stars = IntegerField(_l("评分"), validators=[InputRequired(), NumberRange(1, 5)])
    comment = TextAreaField(_l("评价"), filters=CLEAN, validators=[Optional(), Length(max=500)])


_LINE = re.compile(r"^\s*([1-7])\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_periods(text: str) -> list[tuple[int, dt.time, dt.time]] | None:
    """Lines ``<weekday 1-7> HH:MM-HH:MM``; None when a line is malformed."""
    out = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        m = _LINE.match(line)
        if not m:
            return None
        wd, h1, m1, h2, m2 = (int(x) for x in m.groups())
        try:
            a, b = dt.time(h1, m1), dt.time(h2, m2)
        except ValueError:
            return None
        if a >= b:
            return None
        out.append((wd - 1, a, b))
    return out


class PlanForm(PortalForm):
    periods = TextAreaField(
        _l("接待时段"),
        filters=CLEAN,
        validators=[Length(max=2000)],
        description=_l("每行一个时段：星期（1-7） 开始-结束，如 1 09:00-12:00"),
    )
    breaks = TextAreaField(_l("休息时段"), filters=CLEAN, validators=[Optional(), Length(max=2000)])
    slot_minutes = IntegerField(
        _l("号源间隔（分钟）"), default=30, validators=[InputRequired(), NumberRange(5, 240)]
    )
    buffer_minutes = IntegerField(
        _l("两次预约之间的缓冲（分钟）"),
        default=0,
        validators=[InputRequired(), NumberRange(0, 120)],
    )
    min_notice_minutes = IntegerField(
        _l("最短提前预约（分钟）"), default=120, validators=[InputRequired(), NumberRange(0, 10080)]
    )
    horizon_days = IntegerField(
        _l("可预约天数"), default=14, validators=[InputRequired(), NumberRange(1, 90)]
    )
    follow_holidays = BooleanField(_l("法定节假日不接待"), default=True)

    def validate_periods(self, field: TextAreaField) -> None:
        if parse_periods(field.data) is None:
            raise ValidationError(_l("格式应为：星期（1-7） 开始-结束，如 1 09:00-12:00"))

    def validate_breaks(self, field: TextAreaField) -> None:
        if parse_periods(field.data) is None:
            raise ValidationError(_l("格式应为：星期（1-7） 开始-结束，如 1 09:00-12:00"))


class ExceptionForm(PortalForm):
    kind = SelectField(
        _l("类型"),
        choices=ExceptionKind.choices(),
        validators=[DataRequired()],
    )
    starts_at = DateTimeLocalField(_l("开始"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("结束"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    reason = StringField(_l("原因"), filters=CLEAN, validators=[Optional(), Length(max=200)])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = ExceptionKind.choices()


class ServiceForm(PortalForm):
    name = StringField(_l("名称"), filters=CLEAN, validators=[DataRequired(), Length(max=60)])
    description = TextAreaField(
        _l("说明"), filters=CLEAN, validators=[Optional(), Length(max=2000)]
    )
    duration_minutes = IntegerField(
        _l("时长（分钟）"), default=30, validators=[InputRequired(), NumberRange(5, 480)]
    )
    provider_role = SelectField(_l("接待人"), validators=[DataRequired()])
    location = SelectField(_l("地点"), validators=[DataRequired()])
    needs_confirmation = BooleanField(_l("需民警确认"))
    materials = TextAreaField(
        _l("需携带材料（每行一项）"), filters=CLEAN, validators=[Optional(), Length(max=4000)]
    )
    is_active = BooleanField(_l("可预约"), default=True)
    # Ticked for a service booked only through another feature (the lost-and-found claim);
    # unticked (absent from the post) keeps a service listed, as before this field.
    unlisted = BooleanField(_l("不在服务列表中显示（只经失物认领等其他功能预约）"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.provider_role.choices = [("officer", _l("社区民警")), ("lawyer", _l("志愿律师"))]
        self.location.choices = [(loc.value, loc.label) for loc in Location]
