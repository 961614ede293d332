"""Tests for resident identity number and unified social credit code validation."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from wtforms import Form, StringField
from wtforms.validators import Optional, ValidationError

from portal.security.idnumbers import (
    CREDIT_CODE_ALPHABET,
    CREDIT_CODE_WEIGHTS,
    RESIDENT_ID_WEIGHTS,
    CreditCode,
    CreditCodeError,
    IdNumberError,
    ResidentId,
    birth_date_of,
    credit_code_check_char,
    normalize_credit_code,
    normalize_resident_id,
    region_of,
    resident_id_check_char,
    validate_credit_code,
    validate_resident_id,
)
from portal.security.regions import PROVINCE_PREFIXES

# No example database: the suite must not leave a .hypothesis directory in the repository.
FAST = settings(max_examples=200, deadline=None, database=None)

DIGITS = "0123456789"
RESIDENT_ID_CHARS = DIGITS + "X"
TODAY = datetime.date(2024, 6, 15)


def make_id(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


def make_code(first17: str) -> str:
    return first17 + credit_code_check_char(first17)


# ------------------------------------------------------------------------------ regions


def test_province_prefixes_are_two_digit_codes() -> None:
    assert all(len(code) == 2 and code.isdigit() for code in PROVINCE_PREFIXES)
    assert len(PROVINCE_PREFIXES) == 35
    assert PROVINCE_PREFIXES["11"] == "北京"
    assert PROVINCE_PREFIXES["65"] == "新疆"
    assert {"71", "81", "82", "83"} <= PROVINCE_PREFIXES.keys()
    assert "91" not in PROVINCE_PREFIXES
    assert "00" not in PROVINCE_PREFIXES
    assert "99" not in PROVINCE_PREFIXES


# ------------------------------------------------------------------ resident identity numbers


def test_weights_are_iso_7064_mod_11_2() -> None:
    assert RESIDENT_ID_WEIGHTS == tuple(pow(2, 17 - i, 11) for i in range(17))


@pytest.mark.parametrize(
    ("first17", "check"),
    [("11010519491231002", "X"), ("44052418800101001", "4")],
)
def test_resident_id_check_char_known(first17: str, check: str) -> None:
    assert resident_id_check_char(first17) == check


@pytest.mark.parametrize("bad", ["", "1101051949123100", "110105194912310021", "1101051949123100A"])
def test_resident_id_check_char_rejects_bad_input(bad: str) -> None:
    with pytest.raises(ValueError):
        resident_id_check_char(bad)


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",
        make_id("44052419800101001"),
        make_id("11010120000229123"),  # leap day
        make_id("65010219000101001"),  # earliest accepted birth date
        make_id("81000019801231456"),  # Hong Kong residence permit
        make_id("82000019900615789"),  # Macao residence permit
        make_id("83000020010911024"),  # Taiwan residence permit
        make_id("71000019700101111"),
        make_id("31011520240615000"),  # born on "today"
    ],
)
def test_valid_resident_ids(number: str) -> None:
    assert validate_resident_id(number, today=TODAY) == number


def test_validate_resident_id_defaults_to_real_today() -> None:
    assert validate_resident_id("11010519491231002X") == "11010519491231002X"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("11010519491231002x", "11010519491231002X"),
        (" 110105 19491231 002x ", "11010519491231002X"),
        ("１１０１０５１９４９１２３１００２ｘ", "11010519491231002X"),
        ("110105\u300019491231002X", "11010519491231002X"),
        ("\t110105194912310\n02X", "11010519491231002X"),
    ],
)
def test_resident_id_is_normalised(raw: str, expected: str) -> None:
    assert normalize_resident_id(raw) == expected
    assert validate_resident_id(raw, today=TODAY) == expected


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("110105194912310021", "checksum"),
        ("11010519491231002Y", "format"),
        ("440524198001010015", "checksum"),
        # The brief's sample 440524188001010014 has a correct check character but a birth date
        # of 1880-01-01, before the earliest accepted date.
        ("440524188001010014", "birthdate"),
        (make_id("00010519491231002"), "region"),
        (make_id("99010519491231002"), "region"),
        (make_id("91010519491231002"), "region"),  # foreigners' permanent residence card
        (make_id("10010519491231002"), "region"),
        (make_id("11010519490230002"), "birthdate"),  # 30 February
        (make_id("11010519000229002"), "birthdate"),  # 1900 was not a leap year
        (make_id("11010519491301002"), "birthdate"),  # month 13
        (make_id("11010519491200002"), "birthdate"),  # day 0
        (make_id("11010518991231002"), "birthdate"),  # before 1900
        (make_id("11010520240616002"), "birthdate"),  # the day after TODAY
        (make_id("11010530000101002"), "birthdate"),
        ("11010519491231002", "length"),  # 17 characters
        ("11010519491231002X0", "length"),
        ("", "length"),
        ("   ", "length"),
        ("1101051949123100XX", "format"),
        ("X10105194912310021", "format"),
        ("11010519491231A02X", "format"),
        ("ABCDEFGHIJKLMNOPQR", "format"),
        ("11010519491231002-", "format"),
        ("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "format"),  # non-ASCII digits
    ],
)
def test_invalid_resident_ids(number: str, code: str) -> None:
    with pytest.raises(IdNumberError) as excinfo:
        validate_resident_id(number, today=TODAY)
    assert excinfo.value.code == code
    assert isinstance(excinfo.value, ValueError)
    message = str(excinfo.value)
    assert message and message == str(excinfo.value.message)
    assert "居民身份证号码" in message


def test_resident_id_rejects_non_strings() -> None:
    with pytest.raises(IdNumberError) as excinfo:
        validate_resident_id(None, today=TODAY)  # type: ignore[arg-type]
    assert excinfo.value.code == "format"


def test_birth_date_and_region_of() -> None:
    assert birth_date_of("11010519491231002x") == datetime.date(1949, 12, 31)
    assert region_of("11010519491231002x") == "110105"
    number = make_id("44052420000229001")
    assert birth_date_of(number) == datetime.date(2000, 2, 29)
    assert region_of(number) == "440524"


def test_birth_date_and_region_of_reject_invalid_numbers() -> None:
    with pytest.raises(IdNumberError):
        birth_date_of("110105194912310021")
    with pytest.raises(IdNumberError):
        region_of("110105194912310021")


province_prefixes = st.sampled_from(sorted(PROVINCE_PREFIXES))


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=DIGITS, min_size=n, max_size=n)


birth_dates = st.dates(min_value=datetime.date(1900, 1, 1), max_value=TODAY)


@st.composite
def valid_resident_ids(draw: st.DrawFn) -> str:
    first17 = (
        draw(province_prefixes)
        + draw(digits(4))
        + draw(birth_dates).strftime("%Y%m%d")
        + draw(digits(3))
    )
    return make_id(first17)


@FAST
@given(valid_resident_ids())
def test_generated_resident_ids_validate(number: str) -> None:
    assert validate_resident_id(number, today=TODAY) == number
    assert validate_resident_id(number.lower(), today=TODAY) == number


@FAST
@given(
    valid_resident_ids(),
    st.integers(min_value=0, max_value=17),
    st.sampled_from(RESIDENT_ID_CHARS),
)
def test_changing_one_resident_id_character_fails(
    number: str, position: int, replacement: str
) -> None:
    if number[position] == replacement:
        replacement = RESIDENT_ID_CHARS[(RESIDENT_ID_CHARS.index(replacement) + 1) % 11]
    changed = number[:position] + replacement + number[position + 1 :]
    assert changed != number
    with pytest.raises(IdNumberError):
        validate_resident_id(changed, today=TODAY)


# ----------------------------------------------------------------- unified social credit codes


def test_credit_code_alphabet_and_weights() -> None:
    assert len(CREDIT_CODE_ALPHABET) == 31
    assert len(set(CREDIT_CODE_ALPHABET)) == 31
    assert not set("IOSVZ") & set(CREDIT_CODE_ALPHABET)
    assert CREDIT_CODE_WEIGHTS == (
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    )  # fmt: skip


@pytest.mark.parametrize(
    "code",
    # All three sample codes from the brief are valid under the GB 32100-2015 algorithm.
    ["91350100M000100Y43", "91110108551385082Q", "91310000775785552L"],
)
def test_known_valid_credit_codes(code: str) -> None:
    assert credit_code_check_char(code[:17]) == code[17]
    assert validate_credit_code(code) == code


@pytest.mark.parametrize(
    "first17",
    [
        "9A110108551385082",  # letter in position 2 (organisation type)
        "YY310000775785552",
        "N2440300MA5EXAMPL",
        "12100000400000000",
        "59110000MA0000000",
    ],
)
def test_computed_valid_credit_codes(first17: str) -> None:
    code = make_code(first17)
    assert validate_credit_code(code) == code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("91350100m000100y43", "91350100M000100Y43"),
        (" 9111 0108 5513 8508 2q ", "91110108551385082Q"),
        ("９１３１００００７７５７８５５５２Ｌ", "91310000775785552L"),
    ],
)
def test_credit_code_is_normalised(raw: str, expected: str) -> None:
    assert normalize_credit_code(raw) == expected
    assert validate_credit_code(raw) == expected


@pytest.mark.parametrize(
    ("code", "error_code"),
    [
        ("91350100M000100Y44", "checksum"),
        ("91110108551385082R", "checksum"),
        ("91310000775785552", "length"),
        ("91310000775785552L0", "length"),
        ("", "length"),
        ("91350100M000100I43", "format"),
        ("91350100M000100O43", "format"),
        ("91350100M000100S43", "format"),
        ("91350100M000100V43", "format"),
        ("91350100M000100Z43", "format"),
        ("9135010OM000100Y43", "format"),
        ("91350100M000100Y4-", "format"),
        (make_code("913A0100M000100Y4"), "region"),  # letter in positions 3-8
        ("9135010XM000100Y43", "region"),
    ],
)
def test_invalid_credit_codes(code: str, error_code: str) -> None:
    with pytest.raises(CreditCodeError) as excinfo:
        validate_credit_code(code)
    assert excinfo.value.code == error_code
    assert isinstance(excinfo.value, ValueError)
    assert "统一社会信用代码" in str(excinfo.value)


@pytest.mark.parametrize("bad", ["", "9135010", "91350100M000100I4", "91350100M000100Y43"])
def test_credit_code_check_char_rejects_bad_input(bad: str) -> None:
    with pytest.raises(ValueError):
        credit_code_check_char(bad)


def test_credit_code_rejects_non_strings() -> None:
    with pytest.raises(CreditCodeError) as excinfo:
        validate_credit_code(12345)  # type: ignore[arg-type]
    assert excinfo.value.code == "format"


def alphabet(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=CREDIT_CODE_ALPHABET, min_size=n, max_size=n)


@st.composite
def valid_credit_codes(draw: st.DrawFn) -> str:
    return make_code(draw(alphabet(2)) + draw(digits(6)) + draw(alphabet(9)))


@FAST
@given(valid_credit_codes())
def test_generated_credit_codes_validate(code: str) -> None:
    assert validate_credit_code(code) == code
    assert validate_credit_code(code.lower()) == code


@FAST
@given(
    valid_credit_codes(),
    st.integers(min_value=0, max_value=17),
    st.sampled_from(CREDIT_CODE_ALPHABET),
)
def test_changing_one_credit_code_character_fails(
    code: str, position: int, replacement: str
) -> None:
    if code[position] == replacement:
        replacement = CREDIT_CODE_ALPHABET[(CREDIT_CODE_ALPHABET.index(replacement) + 1) % 31]
    changed = code[:position] + replacement + code[position + 1 :]
    assert changed != code
    with pytest.raises(CreditCodeError):
        validate_credit_code(changed)


# ------------------------------------------------------------------------ WTForms validators


class IdentityForm(Form):
    id_number = StringField(validators=[ResidentId()])
    credit_code = StringField(validators=[Optional(), CreditCode()])


def test_form_validators_normalise_valid_input() -> None:
    form = IdentityForm(
        MultiDict({"id_number": " 11010519491231002x", "credit_code": "91350100m000100y43"})
    )
    assert form.validate(), form.errors
    assert form.id_number.data == "11010519491231002X"
    assert form.credit_code.data == "91350100M000100Y43"


def test_form_validators_report_readable_errors() -> None:
    form = IdentityForm(
        MultiDict({"id_number": "110105194912310021", "credit_code": "91350100M000100Y44"})
    )
    assert not form.validate()
    (id_error,) = form.errors["id_number"]
    (code_error,) = form.errors["credit_code"]
    assert isinstance(id_error, str) and "校验码" in id_error
    assert isinstance(code_error, str) and "校验码" in code_error
    assert form.id_number.data == "110105194912310021"  # left untouched on failure


def test_form_validators_empty_input() -> None:
    form = IdentityForm(MultiDict({"id_number": "", "credit_code": ""}))
    assert not form.validate()
    assert "id_number" in form.errors
    assert "credit_code" not in form.errors  # Optional() lets a blank code through


def test_validators_work_on_plain_fields() -> None:
    class Field:
        data: str | None = None

    field = Field()
    field.data = "９１３１００００７７５７８５５５２ｌ"
    CreditCode()(None, field)
    assert field.data == "91310000775785552L"
    field.data = None
    with pytest.raises(ValidationError):
        ResidentId()(None, field)


def test_form_validator_custom_message() -> None:
    class CustomForm(Form):
        id_number = StringField(validators=[ResidentId(message="请核对身份证号码")])

    form = CustomForm(MultiDict({"id_number": "123"}))
    assert not form.validate()
    assert form.errors["id_number"] == ["请核对身份证号码"]
