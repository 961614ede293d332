"""Languages: Chinese by default, English on request, and a complete English catalogue.

Message ids are the Chinese texts, so Chinese can never show a missing translation; English
can. These tests extract every message the way ``make extract-messages`` does and fail
with the list of ids the English catalogue lacks, then check the site really switches.

The compiled ``messages.mo`` is not in git; this module compiles it from the ``.po`` when
it is missing or older, so a plain ``pytest`` run needs no ``make`` first.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from tests.conftest import login

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "portal" / "translations"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
EN_MO = EN_PO.with_suffix(".mo")
BABEL_CFG = ROOT / "babel.cfg"
# The same keywords as `make extract-messages`: Babel's defaults plus -k _l -k lazy_gettext.
KEYWORDS: dict[str, Any] = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}


def _read_en() -> Catalog:
    with EN_PO.open("rb") as f:
        return read_po(f, locale="en")


def compile_en_catalogue() -> None:
    """Write messages.mo from messages.po when it is missing or stale (atomically)."""
    if EN_MO.exists() and EN_MO.stat().st_mtime >= EN_PO.stat().st_mtime:
        return
    catalog = _read_en()
    fd, tmp = tempfile.mkstemp(dir=EN_MO.parent, prefix=".messages-", suffix=".mo")
    try:
        with os.fdopen(fd, "wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
        os.chmod(tmp, 0o644)
        os.replace(tmp, EN_MO)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# At import, before any app of this session loads its translations.
compile_en_catalogue()


@pytest.fixture(scope="module")
def en_catalogue() -> Catalog:
    return _read_en()


@pytest.fixture(scope="module")
def extracted() -> dict[tuple[str | tuple[str, ...], str | None], list[str]]:
    """Every message the sources use: (id, context) -> ["file:line", ...]."""
    with BABEL_CFG.open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f, filename=str(BABEL_CFG))
    found: dict[tuple[str | tuple[str, ...], str | None], list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message if isinstance(message, str) else tuple(message)
        if not msgid or (isinstance(msgid, tuple) and not msgid[0]):
            continue
        found.setdefault((msgid, context), []).append(f"{filename}:{lineno}")
    return found


def _first(msgid: str | tuple[str, ...]) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def test_extraction_finds_the_templates_and_the_python(extracted) -> None:
    """Guard the guard: the method map really reaches both kinds of source."""
    places = [loc for locs in extracted.values() for loc in locs]
    assert any(p.startswith("templates/") for p in places)
    assert any(p.startswith("portal/") and ".py:" in p for p in places)
    ids = {_first(k[0]) for k in extracted}
    assert "紧急情况请拨打110" in ids  # a template string
    assert "请先登录。" in ids  # a python string
    assert "社区民警" in ids  # a lazy_gettext (_l) string


def test_every_message_has_an_english_translation(extracted, en_catalogue) -> None:
    missing: list[str] = []
    for (msgid, context), locations in sorted(extracted.items(), key=lambda kv: kv[1][0]):
        entry = en_catalogue.get(_first(msgid), context=context)
        strings = entry.string if entry is not None else ""
        strings = strings if isinstance(strings, (list, tuple)) else (strings,)
        if entry is None or entry.fuzzy or not all(s and s.strip() for s in strings):
            why = "missing" if entry is None else ("fuzzy" if entry.fuzzy else "untranslated")
            missing.append(f"  {_first(msgid)!r} ({why}; {', '.join(locations[:3])})")
    assert not missing, (
        f"{len(missing)} message(s) without an English translation - run "
        "`make extract-messages` and translate them in "
        f"{EN_PO.relative_to(ROOT)}:\n" + "\n".join(missing)
    )


def test_catalogue_has_no_fuzzy_or_empty_entries(en_catalogue) -> None:
    bad = [
        m.id
        for m in en_catalogue
        if m.id and (m.fuzzy or not (m.string if isinstance(m.string, str) else all(m.string)))
    ]
    assert not bad, f"fuzzy or empty entries in the English catalogue: {bad}"


PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?(?P<conv>[diouxXeEfFgGcrsa%])"
)


def _placeholders(text: str) -> list[tuple[str | None, str]]:
    return sorted(
        (
            (m.group("name"), m.group("conv"))
            for m in PLACEHOLDER.finditer(text)
            if m.group("conv") != "%"
        ),
        key=repr,
    )


class _Any(dict):
    """A mapping with every key, for trying a %-format."""

    def __missing__(self, key: str) -> str:
        return "x"


def _formats(text: str) -> bool:
    try:
        text % _Any()
    except (KeyError, ValueError, TypeError):
        return False
    return True


def test_translations_keep_the_placeholders(en_catalogue) -> None:
    """Same %(name)s placeholders; and a translation formats wherever its id does
    (templates always %-format gettext results, so a stray % would break the page)."""
    errors: list[str] = []
    for m in en_catalogue:
        if not m.id:
            continue
        ids = (m.id,) if isinstance(m.id, str) else tuple(m.id)
        strings = (m.string,) if isinstance(m.string, str) else tuple(m.string)
        for s in strings:
            if not s:
                continue
            if _placeholders(s) != _placeholders(ids[0]) and not any(
                _placeholders(s) == _placeholders(i) for i in ids
            ):
                errors.append(f"{ids[0]!r}: {_placeholders(ids[0])} != {s!r} {_placeholders(s)}")
            elif _formats(ids[0]) and not _formats(s):
                errors.append(f"{ids[0]!r}: translation {s!r} is not a valid %-format")
    # Babel's own checkers (python-format compatibility and the like).
    for message, errs in en_catalogue.check():
        errors.extend(f"{message.id!r}: {e}" for e in errs)
    assert not errors, "placeholder mismatches:\n" + "\n".join(errors)


# ------------------------------------------------------------------ the site switches


def _log_in(app, client, user_id: int) -> Any:
    """Log a fixture user in through the form, whatever login name the fixture gave it."""
    from portal.accounts.models import User
    from portal.db import db

    with app.app_context():
        user = db.session.get(User, user_id)
        name = user.email or user.phone
    return login(client, name)


def _page(client, path: str, status: int = 200) -> str:
    resp = client.get(path)
    assert resp.status_code == status, (path, resp.status_code)
    return resp.get_data(as_text=True)


@pytest.fixture
def english(client) -> Iterator[Any]:
    """A client that chose English with the language button."""
    resp = client.post("/lang/en", data={"next": "/"})
    assert resp.status_code == 302
    yield client


def test_default_language_is_chinese(client, world) -> None:
    html = _page(client, "/")
    assert 'lang="zh-CN"' in html
    assert "紧急情况请拨打110" in html
    assert "网上警务室" in html
    assert "Emergency? Call 110" not in html


def test_switching_to_english_and_back(client, world) -> None:
    resp = client.post("/lang/en", data={"next": "/login"})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/login")

    home = _page(client, "/")
    assert 'lang="en"' in home
    assert "Emergency? Call 110" in home
    assert "Online Police Office" in home
    assert "Community police offices" in home
    assert "紧急情况请拨打110" not in home
    assert "天桥社区" in home  # data stays as entered

    page = _page(client, "/login")
    assert 'lang="en"' in page
    for text in (
        "Log in",
        "Mobile number or email",
        "Password",
        "Forgot your password?",
        "Create an account",
    ):
        assert text in page, text
    assert "紧急情况请拨打110" not in page
    assert "手机号或邮箱" not in page

    missing = _page(client, "/no-such-page", status=404)
    assert "Page not found." in missing
    assert "Back to the home page" in missing
    assert "页面不存在" not in missing
    assert "紧急情况请拨打110" not in missing

    resp = client.post("/lang/zh_CN", data={"next": "/"})
    assert resp.status_code == 302
    back = _page(client, "/")
    assert 'lang="zh-CN"' in back
    assert "紧急情况请拨打110" in back
    assert "Emergency? Call 110" not in back


def test_unknown_language_is_ignored(client, world) -> None:
    client.post("/lang/xx", data={"next": "/"})
    assert "紧急情况请拨打110" in _page(client, "/")
    assert "紧急情况请拨打110" in _page(client, "/?lang=xx")


def test_query_parameter_chooses_english_for_one_request(client, world) -> None:
    assert "Emergency? Call 110" in _page(client, "/?lang=en")
    assert "紧急情况请拨打110" in _page(client, "/")


def test_form_errors_and_flashes_in_english(app, english, world) -> None:
    """Lazy (_l) validator messages and flashed messages follow the language too."""
    resp = english.post("/login", data={"login": "", "password": ""})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Please enter your mobile number or email." in html
    assert "Please enter your password." in html

    resp = _log_in(app, english, world["resident"])
    assert resp.status_code == 302
    assert "You are now logged in." in _page(english, resp.headers["Location"])

    account = _page(english, "/account")
    assert "My account" in account
    assert "Resident" in account  # a lazy enum label
    assert "Identity verification" in account
    assert "紧急情况请拨打110" not in account


def test_back_office_in_english(app, english, world) -> None:
    assert _log_in(app, english, world["officer"]).status_code == 302
    html = _page(english, "/backoffice/")
    assert "Dashboard" in html
    assert "Audit log" in html
    assert "工作台" not in html


# ------------------------------------------------------------------ JSON API


def test_api_errors_are_chinese_by_default(client, world) -> None:
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401
    assert resp.get_json()["error"]["message"] == "请先登录。"


def test_api_errors_in_english_with_lang_parameter(client, world) -> None:
    resp = client.get("/api/v1/me?lang=en")
    assert resp.status_code == 401
    assert resp.is_json
    assert resp.get_json()["error"]["message"] == "Please log in first."

    resp = client.get("/api/v1/no-such-thing?lang=en")
    assert resp.status_code == 404
    assert resp.get_json()["error"]["message"] == "Page not found."

    resp = client.post("/api/v1/session?lang=en", data="nope", content_type="text/plain")
    assert resp.status_code == 400
    assert resp.get_json()["error"]["message"] == "The request body must be a JSON object."

    resp = client.post("/api/v1/session?lang=en", json={})
    assert resp.status_code == 422
    body = resp.get_json()["error"]
    assert body["message"] == "Some of the submitted data is invalid."
    assert body["fields"]["login"] == ["Please enter your mobile number or email."]

    resp = client.post(
        "/api/v1/session?lang=en",
        json={"login": "nobody@example.com", "password": "wrong password"},
    )
    assert resp.status_code == 401
    assert resp.get_json()["error"]["message"] == "Incorrect mobile number/email or password."


def test_api_follows_the_session_language(english, world) -> None:
    resp = english.get("/api/v1/me")
    assert resp.status_code == 401
    assert resp.get_json()["error"]["message"] == "Please log in first."


def test_notifications_are_written_in_the_recipients_language(app, make, world):
    """An officer working in English still notifies the resident in Chinese."""
    from sqlalchemy import select

    from portal.db import db
    from portal.notifications.models import Notification
    from tests.conftest import login, valid_id

    vid = make.verification(world["resident"], valid_id())
    officer = app.test_client()
    officer.post("/lang/en")
    login(officer, "officer@example.com")
    assert officer.post(f"/backoffice/verifications/{vid}/approve", data={}).status_code == 302
    with app.app_context():
        note = db.session.scalars(select(Notification)).one()
    assert note.title == "实名认证已通过"


def test_enum_labels_and_choices_follow_the_language(app) -> None:
    """A ``LabelledEnum`` member keeps its value and shows its label in the request's
    language, also in form choices built at import time."""
    from flask_babel import force_locale

    from portal.consult.models import Category

    assert Category("legal") is Category.LEGAL and Category.LEGAL == "legal"
    with app.test_request_context():
        assert Category.LEGAL.label == "法律咨询"
        with force_locale("en"):
            english = Category.LEGAL.label
            assert english and english != "法律咨询"
            assert str(dict(Category.choices())["legal"]) == english
