"""Validation of resident identity numbers and unified social credit codes.

Residents identify themselves with a resident identity number (居民身份证号码, GB 11643-1999)
and organisations with a unified social credit code (统一社会信用代码, GB 32100-2015). Both
carry a check character, so most typing errors and invented numbers can be rejected before a
case is filed or a record is looked up, without asking any external registry.

Messages are lazy gettext strings with Chinese msgids (extract with ``pybabel extract -k _l``);
outside a Flask application context they fall back to the Chinese text, so the functions here
work in scripts and tests as well as in requests.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from portal.security.regions import PROVINCE_PREFIXES

__all__ = [
    "CREDIT_CODE_ALPHABET",
    "CREDIT_CODE_WEIGHTS",
    "RESIDENT_ID_WEIGHTS",
    "CreditCode",
    "CreditCodeError",
    "IdNumberError",
    "ResidentId",
    "birth_date_of",
    "credit_code_check_char",
    "normalize_credit_code",
    "normalize_resident_id",
    "region_of",
    "resident_id_check_char",
    "validate_credit_code",
    "validate_resident_id",
]

# --------------------------------------------------------------------------- shared helpers

# Chinese input methods often produce full-width digits and letters (１２３Ｘ); map them to
# ASCII so that such input is not rejected for its form alone. str.split() already treats the
# ideographic space U+3000 as whitespace.
_FULLWIDTH_TO_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


def _compact(value: str) -> str:
    """Return ``value`` with full-width characters made ASCII and all whitespace removed."""
    return "".join(value.translate(_FULLWIDTH_TO_ASCII).split())


# --------------------------------------------------------------- resident identity numbers

RESIDENT_ID_LENGTH = 18
EARLIEST_BIRTH_DATE = datetime.date(1900, 1, 1)

#: Weights of ISO 7064 MOD 11-2 for the first 17 characters (2**(18 - i) mod 11).
RESIDENT_ID_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_ID_CHECK_CHARS = "10X98765432"
_RESIDENT_ID_RE = re.compile(r"[0-9]{17}[0-9X]")

_ID_MESSAGES = {
    "length": _l("居民身份证号码应为18位。"),
    "format": _l("居民身份证号码应由17位数字和1位数字或字母X组成。"),
    "region": _l("居民身份证号码的地区代码无效。"),
    "birthdate": _l("居民身份证号码中的出生日期无效。"),
    "checksum": _l("居民身份证号码的校验码不正确，请检查是否输入有误。"),
}


class IdNumberError(ValueError):
    """A resident identity number was rejected.

    ``code`` lets callers react to the kind of mistake (for example to log or count them)
    without parsing the translated ``message``.
    """

    def __init__(self, message: Any, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return str(self.message)


def _id_error(code: str) -> IdNumberError:
    return IdNumberError(_ID_MESSAGES[code], code)


def normalize_resident_id(value: str) -> str:
    """Bring a typed resident identity number into the one form that is stored and compared.

    People type the number with spaces, in full width or with a lower-case check letter; all
    of these denote the same number and must compare equal.
    """
    return _compact(value).replace("x", "X")


def resident_id_check_char(first17: str) -> str:
    """Compute the check character that GB 11643-1999 requires after the first 17 digits.

    Exposed so that tests and fixtures can build valid numbers instead of hard-coding them.
    """
    if len(first17) != RESIDENT_ID_LENGTH - 1 or not re.fullmatch(r"[0-9]+", first17):
        raise ValueError("first17 must be exactly 17 ASCII digits")
    total = sum(
        int(digit) * weight for digit, weight in zip(first17, RESIDENT_ID_WEIGHTS, strict=True)
    )
    return _RESIDENT_ID_CHECK_CHARS[total % 11]


def validate_resident_id(value: str, today: datetime.date | None = None) -> str:
    """Accept only resident identity numbers that can belong to a living or past resident.

    The number must have a known province, a real birth date between 1900-01-01 and ``today``
    (the current date unless given, which keeps tests deterministic) and the right check
    character. Returns the normalised number so callers store one canonical form.

    Raises :class:`IdNumberError` whose ``code`` names the first problem found.
    """
    if not isinstance(value, str):
        raise _id_error("format")
    number = normalize_resident_id(value)
    if len(number) != RESIDENT_ID_LENGTH:
        raise _id_error("length")
    if not _RESIDENT_ID_RE.fullmatch(number):
        raise _id_error("format")
    if number[:2] not in PROVINCE_PREFIXES:
        raise _id_error("region")
    try:
        born = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise _id_error("birthdate") from None
    if today is None:
        today = datetime.date.today()
    if not EARLIEST_BIRTH_DATE <= born <= today:
        raise _id_error("birthdate")
    if resident_id_check_char(number[:17]) != number[17]:
        raise _id_error("checksum")
    return number


def birth_date_of(id_number: str) -> datetime.date:
    """Give the holder's date of birth, e.g. to check age limits for a service.

    The number is validated first, so a mistyped number never yields a plausible date.
    """
    number = validate_resident_id(id_number)
    return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def region_of(id_number: str) -> str:
    """Give the six-digit division code where the number was issued, e.g. to route a case.

    The number is validated first, so a mistyped number is never routed anywhere.
    """
    return validate_resident_id(id_number)[:6]


# ------------------------------------------------------------ unified social credit codes

CREDIT_CODE_LENGTH = 18

#: The 31 characters GB 32100-2015 allows; I, O, S, V and Z are left out because they are
#: easily confused with 1, 0, 5, U and 2.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

#: Weights for positions 1..17: 3**(i - 1) mod 31.
CREDIT_CODE_WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(17))

_CREDIT_CODE_VALUES = {char: index for index, char in enumerate(CREDIT_CODE_ALPHABET)}

_CREDIT_MESSAGES = {
    "length": _l("统一社会信用代码应为18位。"),
    "format": _l("统一社会信用代码只能由数字和大写字母组成，且不含I、O、S、V、Z。"),
    "region": _l("统一社会信用代码的第3至8位应为行政区划代码（6位数字）。"),
    "checksum": _l("统一社会信用代码的校验码不正确，请检查是否输入有误。"),
}


class CreditCodeError(ValueError):
    """A unified social credit code was rejected.

    ``code`` lets callers react to the kind of mistake without parsing the translated
    ``message``.
    """

    def __init__(self, message: Any, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return str(self.message)


def _credit_error(code: str) -> CreditCodeError:
    return CreditCodeError(_CREDIT_MESSAGES[code], code)


def normalize_credit_code(value: str) -> str:
    """Bring a typed credit code into the one form that is stored and compared.

    Codes are printed in upper case but often typed in lower case, with spaces or in full
    width; all of these denote the same organisation.
    """
    return _compact(value).upper()


def credit_code_check_char(first17: str) -> str:
    """Compute the check character that GB 32100-2015 requires after the first 17 characters.

    Exposed so that tests and fixtures can build valid codes instead of hard-coding them.
    """
    if len(first17) != CREDIT_CODE_LENGTH - 1 or any(
        char not in _CREDIT_CODE_VALUES for char in first17
    ):
        raise ValueError("first17 must be exactly 17 characters of CREDIT_CODE_ALPHABET")
    total = sum(
        _CREDIT_CODE_VALUES[char] * weight
        for char, weight in zip(first17, CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def validate_credit_code(value: str) -> str:
    """Accept only unified social credit codes that are well formed and self-consistent.

    The registration-authority and organisation-type characters are not checked against a
    list: new kinds are added over time and rejecting a genuine organisation is worse than
    missing a rare invented code. Returns the normalised code.

    Raises :class:`CreditCodeError` whose ``code`` names the first problem found.
    """
    if not isinstance(value, str):
        raise _credit_error("format")
    code = normalize_credit_code(value)
    if len(code) != CREDIT_CODE_LENGTH:
        raise _credit_error("length")
    if any(char not in _CREDIT_CODE_VALUES for char in code):
        raise _credit_error("format")
    if not re.fullmatch(r"[0-9]{6}", code[2:8]):
        raise _credit_error("region")
    if credit_code_check_char(code[:17]) != code[17]:
        raise _credit_error("checksum")
    return code


# ------------------------------------------------------------------------ WTForms validators


class ResidentId:
    """WTForms validator so that forms reject bad identity numbers with a readable message.

    On success ``field.data`` is replaced by the normalised number, so views store the
    canonical form. Empty input is rejected too; put ``Optional()`` before this validator
    for fields that may be left blank.
    """

    def __init__(self, message: Any = None) -> None:
        self.message = message

    def __call__(self, form: Any, field: Any) -> None:
        data = "" if field.data is None else str(field.data)
        try:
            field.data = validate_resident_id(data)
        except IdNumberError as error:
            message = self.message if self.message is not None else error.message
            raise ValidationError(str(message)) from error


class CreditCode:
    """WTForms validator so that forms reject bad credit codes with a readable message.

    On success ``field.data`` is replaced by the normalised code. Empty input is rejected
    too; put ``Optional()`` before this validator for fields that may be left blank.
    """

    def __init__(self, message: Any = None) -> None:
        self.message = message

    def __call__(self, form: Any, field: Any) -> None:
        data = "" if field.data is None else str(field.data)
        try:
            field.data = validate_credit_code(data)
        except CreditCodeError as error:
            message = self.message if self.message is not None else error.message
            raise ValidationError(str(message)) from error
