"""Registry forms; the same classes validate the pages and the JSON API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from portal.forms import PortalForm
from portal.registry.models import PermitStatus
from portal.security.idnumbers import ResidentId
from portal.security.pii import is_mobile_phone, normalize_phone


def _no_future(form: Any, field: Any) -> None:
    from portal.registry.services import local_today

    if field.data and field.data > local_today():
        raise ValidationError(_l("日期不能晚于今天。"))


def _not_ancient(form: Any, field: Any) -> None:
    if field.data and field.data < dt.date(1990, 1, 1):
        raise ValidationError(_l("日期超出合理范围。"))


class _CommunityForm(PortalForm):
    community_id = SelectField(
        _l("所在社区"),
        coerce=int,
        validate_choice=True,
        validators=[DataRequired(message=_l("请选择社区。"))],
    )

    def __init__(self, *args: Any, communities: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.community_id.choices = [(c.id, c.name) for c in (communities or [])]


class ResidenceForm(_CommunityForm):
    """暂住登记: where in the community, since when, where the resident works."""

    address = StringField(
        _l("居住地址"),
        validators=[
            DataRequired(message=_l("请填写居住地址。")),
            Length(max=200, message=_l("地址最多 200 字。")),
        ],
    )
    since = DateField(
        _l("居住起始日期"),
        validators=[DataRequired(message=_l("请填写有效日期。")), _no_future, _not_ancient],
    )
    workplace = StringField(
        _l("工作单位（选填）"),
        validators=[Optional(), Length(max=100, message=_l("最多 100 字。"))],
    )
    house_id = SelectField(_l("所租房屋（选填）"), coerce=int, validate_choice=True, default=0)

    def __init__(
        self,
        *args: Any,
        communities: list[Any] | None = None,
        houses: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, communities=communities, **kwargs)
        self.house_id.choices = [(0, "—")] + [(h.id, h.address) for h in (houses or [])]


class RejectForm(PortalForm):
    reason = TextAreaField(
        _l("退回理由"),
        validators=[
            DataRequired(message=_l("请填写退回理由。")),
            Length(max=500, message=_l("最多 500 字。")),
        ],
    )


def _phone(form: Any, field: Any) -> None:
    if field.data:
        field.data = normalize_phone(field.data)
        if not is_mobile_phone(field.data):
            raise ValidationError(_l("手机号格式不正确。"))


class CorrectForm(PortalForm):
    """An officer's correction; empty fields stay as they are."""

    name = StringField(
        _l("姓名"), validators=[Optional(), Length(max=40, message=_l("最多 40 字。"))]
    )
    id_number = StringField(_l("身份证号"), validators=[Optional(), ResidentId()])
    phone = StringField(_l("手机号"), validators=[Optional(), _phone])
    address = StringField(
        _l("居住地址"), validators=[Optional(), Length(max=200, message=_l("地址最多 200 字。"))]
    )
    workplace = StringField(
        _l("工作单位"), validators=[Optional(), Length(max=100, message=_l("最多 100 字。"))]
    )
    since = DateField(_l("居住起始日期"), validators=[Optional(), _no_future, _not_ancient])

    def changes(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("name", "id_number", "phone", "address", "workplace", "since"):
            value = getattr(self, name).data
            if isinstance(value, str):
                value = value.strip()
            if value:
                out[name] = value
        return out


class EndTenancyForm(PortalForm):
    end_date = DateField(_l("迁出日期"), validators=[Optional(), _no_future, _not_ancient])


class PermitStatusForm(PortalForm):
    status = SelectField(
        _l("新状态"),
        choices=[(s.value, s.label) for s in PermitStatus if s != PermitStatus.APPLIED],
        validators=[DataRequired(message=_l("请选择状态。"))],
    )
    reason = TextAreaField(
        _l("不予办理理由"), validators=[Optional(), Length(max=500, message=_l("最多 500 字。"))]
    )


class ActionForm(PortalForm):
    """A button: nothing to type, only the CSRF token."""


class ApplyPermitForm(ActionForm):
    """Nothing to type: the application uses the confirmed record."""


ROW_SLOTS = 10


class WorkersForm(_CommunityForm):
    """The employer's form: up to ``ROW_SLOTS`` workers at once. The rows are plain inputs
    named ``rows-<i>-<column>`` and are checked by ``imports.check_rows`` like a file's."""

    def entries(self, formdata: Any) -> list[dict[str, Any]]:
        from portal.registry.imports import COLUMNS

        prefix = self._prefix
        return [
            {c: formdata.get(f"{prefix}rows-{i}-{c}", "") for c in COLUMNS}
            for i in range(ROW_SLOTS)
        ]


class UploadForm(_CommunityForm):
    file = FileField(_l("CSV 或 XLSX 文件"))
