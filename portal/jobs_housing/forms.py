"""Board forms; the same classes validate the pages and the JSON API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from portal.forms import PortalForm
from portal.jobs_housing.models import JOB_FIELDS, RENTAL_FIELDS, PayPeriod, ReportReason


def _required(msg: Any) -> DataRequired:
    return DataRequired(message=msg)


class _BoardForm(PortalForm):
    """Drops NUL characters before validating: PostgreSQL text cannot hold them."""

    def validate(self, extra_validators: Any = None) -> bool:
        for f in self:
            if isinstance(f.data, str) and "\x00" in f.data:
                f.data = f.data.replace("\x00", "")
        return super().validate(extra_validators)


class _ListingBase(_BoardForm):
    community_id = SelectField(_l("所在社区"), coerce=int, validate_choice=True)
    title = StringField(
        _l("标题"),
        validators=[
            _required(_l("请填写标题。")),
            Length(min=4, max=80, message=_l("标题为 4 到 80 个字。")),
        ],
    )
    description = TextAreaField(
        _l("详细说明"), validators=[Optional(), Length(max=2000, message=_l("说明最多 2000 字。"))]
    )

    def __init__(self, *args: Any, communities: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.community_id.choices = [(c.id, c.name) for c in (communities or [])]

    def data_for_listing(self) -> dict[str, Any]:
        names = RENTAL_FIELDS if isinstance(self, RentalForm) else JOB_FIELDS
        out = {}
        for name in names:
            value = getattr(self, name).data
            out[name] = value.strip() if isinstance(value, str) else value
        return out


class RentalForm(_ListingBase):
    address = StringField(
        _l("房屋地址"),
        validators=[
            _required(_l("请填写房屋地址。")),
            Length(max=200, message=_l("地址最多 200 字。")),
        ],
    )
    rooms = IntegerField(
        _l("房间数"),
        validators=[
            _required(_l("请填写房间数。")),
            NumberRange(1, 20, message=_l("房间数为 1 到 20。")),
        ],
    )
    area = IntegerField(
        _l("面积（平方米）"),
        validators=[
            _required(_l("请填写面积。")),
            NumberRange(5, 2000, message=_l("面积为 5 到 2000 平方米。")),
        ],
    )
    rent = IntegerField(
        _l("月租金（元）"),
        validators=[
            _required(_l("请填写月租金。")),
            NumberRange(50, 100000, message=_l("月租金为 50 到 100000 元。")),
        ],
    )
    deposit_months = IntegerField(
        _l("押金（月数）"),
        default=1,
        validators=[Optional(), NumberRange(0, 3, message=_l("押金最多 3 个月租金。"))],
    )
    furnished = BooleanField(_l("带家具家电"))
    available_from = DateField(_l("可入住日期"), validators=[Optional()])
    contact_pref = StringField(
        _l("联系偏好"), validators=[Optional(), Length(max=100, message=_l("最多 100 字。"))]
    )
    owner_declared = BooleanField(_l("我声明本人是房主或已获房主授权出租此房屋"))

    def validate_available_from(self, field: DateField) -> None:
        if field.data and field.data < dt.date.today():
            raise ValidationError(_l("日期不能早于今天。"))


class JobForm(_ListingBase):
    org_name = StringField(
        _l("用人单位"),
        validators=[
            _required(_l("请填写用人单位。")),
            Length(max=100, message=_l("最多 100 字。")),
        ],
    )
    pay_min = IntegerField(
        _l("最低工资（元）"),
        validators=[
            _required(_l("请填写工资。")),
            NumberRange(1, 200000, message=_l("工资为 1 到 200000 元。")),
        ],
    )
    pay_max = IntegerField(
        _l("最高工资（元）"),
        validators=[Optional(), NumberRange(1, 200000, message=_l("工资为 1 到 200000 元。"))],
    )
    pay_period = SelectField(
        _l("计薪方式"),
        choices=PayPeriod.choices(),
        default=PayPeriod.MONTH.value,
    )
    headcount = IntegerField(
        _l("招聘人数"),
        default=1,
        validators=[
            _required(_l("请填写招聘人数。")),
            NumberRange(1, 500, message=_l("人数为 1 到 500。")),
        ],
    )
    address = StringField(
        _l("工作地点"),
        validators=[
            _required(_l("请填写工作地点。")),
            Length(max=200, message=_l("地址最多 200 字。")),
        ],
    )
    hours = StringField(
        _l("工作时间"), validators=[Optional(), Length(max=100, message=_l("最多 100 字。"))]
    )
    housing_provided = BooleanField(_l("提供住宿"))
    requirements = TextAreaField(
        _l("任职要求"), validators=[Optional(), Length(max=1000, message=_l("最多 1000 字。"))]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pay_period.choices = PayPeriod.choices()

    def validate_pay_max(self, field: IntegerField) -> None:
        if (
            field.data is not None
            and self.pay_min.data is not None
            and field.data < self.pay_min.data
        ):
            raise ValidationError(_l("最高工资不能低于最低工资。"))


class PhotoForm(_BoardForm):
    photo = FileField(_l("照片"), render_kw={"accept": "image/jpeg,image/png,image/webp"})


class ModerationForm(_BoardForm):
    note = TextAreaField(
        _l("理由或修改意见"), validators=[Optional(), Length(max=500, message=_l("最多 500 字。"))]
    )


class ReportForm(_BoardForm):
    reason = SelectField(_l("举报原因"), choices=ReportReason.choices(), validate_choice=True)
    note = TextAreaField(
        _l("补充说明"), validators=[Optional(), Length(max=500, message=_l("最多 500 字。"))]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reason.choices = ReportReason.choices()


class ApplyForm(_BoardForm):
    message = TextAreaField(
        _l("留言"),
        validators=[
            _required(_l("请写一句留言。")),
            Length(max=500, message=_l("留言最多 500 字。")),
        ],
    )


class ConfirmAgreementForm(_BoardForm):
    """Re-entering the password confirms the exact text (its hash is sent along)."""

    password = PasswordField(
        _l("登录密码"), validators=[_required(_l("请输入密码。")), Length(max=128)]
    )
    sha256 = HiddenField()


class StartAgreementForm(_BoardForm):
    """The move-in or work start date printed in the agreement (checked by the service:
    not in the past, at most 180 days ahead)."""

    start_date = DateField(
        _l("起始日期（入住或上岗日期）"),
        validators=[_required(_l("请选择起始日期。"))],
    )


class StartAgreementApiForm(StartAgreementForm):
    """The API's body (and its OpenAPI schema): ``start_date`` may be left out, and the
    listing's suggested date is used; when given it is checked as in the form above."""

    start_date = DateField(_l("起始日期（入住或上岗日期）"), validators=[Optional()])


class AgreementTemplateForm(_BoardForm):
    kind = SelectField(
        _l("协议类型"),
        choices=[("rental", _l("房屋租赁协议")), ("job", _l("用工协议"))],
        validate_choice=True,
    )
    body = TextAreaField(
        _l("模板正文"),
        validators=[
            _required(_l("请填写模板正文。")),
            Length(max=20000, message=_l("最多 20000 字。")),
        ],
    )
