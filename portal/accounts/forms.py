"""Account and verification forms; their rules serve the pages and the API alike."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from portal.forms import PortalForm
from portal.security.idnumbers import CreditCode, ResidentId
from portal.security.pii import is_mobile_phone, normalize_phone


def _login_value(form: PortalForm, field: StringField) -> None:
    value = (field.data or "").strip()
    if "@" in value:
        Email(message=_l("请输入有效的邮箱地址。"))(form, field)
        field.data = value.lower()
    elif is_mobile_phone(value):
        field.data = normalize_phone(value)
    else:
        raise ValidationError(_l("请输入 11 位手机号或邮箱地址。"))


def _mobile(form: PortalForm, field: StringField) -> None:
    if not is_mobile_phone(field.data or ""):
        raise ValidationError(_l("请输入 11 位手机号。"))
    field.data = normalize_phone(field.data)


# Real names: Chinese characters, Latin letters, the middle dot of minority and foreign
# names, and spaces. The same rules serve self-service and walk-in registration.
REAL_NAME_RULES = [
    DataRequired(message=_l("请输入真实姓名。")),
    Length(min=2, max=40, message=_l("姓名为 2 到 40 个字。")),
    Regexp(
        r"^[\u3400-\u9fff\uf900-\ufaffA-Za-z·• ]+$",
        message=_l("姓名只能包含汉字、字母和间隔号“·”。"),
    ),
]

PASSWORD_RULES = [
    DataRequired(message=_l("请输入密码。")),
    Length(min=8, max=128, message=_l("密码长度为 8 到 128 个字符。")),
]


class RegisterForm(PortalForm):
    """Register with a phone number or an e-mail address."""

    login = StringField(
        _l("手机号或邮箱"),
        validators=[
            DataRequired(message=_l("请输入手机号或邮箱。")),
            Length(max=254),
            _login_value,
        ],
    )
    display_name = StringField(
        _l("称呼"),
        validators=[
            DataRequired(message=_l("请输入称呼。")),
            Length(max=40, message=_l("称呼最多 40 个字。")),
        ],
    )
    community_id = SelectField(
        _l("所在社区"), coerce=int, validators=[DataRequired(message=_l("请选择社区。"))]
    )
    password = PasswordField(_l("密码"), validators=PASSWORD_RULES)
    confirm = PasswordField(
        _l("再次输入密码"),
        validators=[
            DataRequired(message=_l("请再次输入密码。")),
            EqualTo("password", message=_l("两次输入的密码不一致。")),
        ],
    )


class LoginForm(PortalForm):
    """Log in with phone or e-mail."""

    login = StringField(
        _l("手机号或邮箱"),
        validators=[DataRequired(message=_l("请输入手机号或邮箱。")), Length(max=254)],
    )
    password = PasswordField(
        _l("密码"), validators=[DataRequired(message=_l("请输入密码。")), Length(max=128)]
    )
    next = HiddenField()


class ForgotPasswordForm(PortalForm):
    """Ask for a one-time reset link."""

    login = StringField(
        _l("手机号或邮箱"),
        validators=[DataRequired(message=_l("请输入手机号或邮箱。")), Length(max=254)],
    )


class ResetPasswordForm(PortalForm):
    """Choose a new password from a reset link."""

    password = PasswordField(_l("新密码"), validators=PASSWORD_RULES)
    confirm = PasswordField(
        _l("再次输入新密码"),
        validators=[
            DataRequired(message=_l("请再次输入密码。")),
            EqualTo("password", message=_l("两次输入的密码不一致。")),
        ],
    )


class IdentityForm(PortalForm):
    """实名认证: real name, resident ID number, phone, an optional ID photo."""

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
    phone = StringField(
        _l("手机号"),
        validators=[DataRequired(message=_l("请输入手机号。")), Length(max=20), _mobile],
    )
    photo = FileField(_l("身份证照片（可选，JPEG 或 PNG，不超过 5 MB）"))
    consent = BooleanField(
        _l("我同意社区民警为核实身份查看以上信息"),
        validators=[DataRequired(message=_l("请勾选同意。"))],
    )


class OrganisationForm(PortalForm):
    """用工单位认证: organisation name and unified social credit code."""

    org_name = StringField(
        _l("单位名称"),
        validators=[
            DataRequired(message=_l("请输入单位名称。")),
            Length(min=2, max=100, message=_l("单位名称为 2 到 100 个字。")),
        ],
    )
    credit_code = StringField(
        _l("统一社会信用代码"),
        validators=[
            DataRequired(message=_l("请输入统一社会信用代码。")),
            Length(max=18, min=18, message=_l("统一社会信用代码应为 18 位。")),
            CreditCode(),
        ],
    )


class DecisionForm(PortalForm):
    """An officer's decision; a reason is required to reject or revoke."""

    reason = TextAreaField(
        _l("理由"), validators=[Optional(), Length(max=500, message=_l("理由最多 500 字。"))]
    )
