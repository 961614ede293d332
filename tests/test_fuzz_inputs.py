"""No input gives a 500: random text into every form and every API body.

Hypothesis sends long, empty, control-character and non-BMP strings, and odd types for
the API; every answer must be a page or JSON with a status below 500.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import login

TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=400),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-1",
            "99999999999999999999",
            "1e9",
            "null",
            "<b>x</b>",
            "' OR 1=1 --",
            "\x00",
            "2026-02-30",
            "11010519491231002X",
        ]
    ),
)

FORMS = {
    "anonymous": [
        ("/register", ["login", "display_name", "community_id", "password", "confirm"]),
        ("/login", ["login", "password", "next"]),
        ("/password/forgot", ["login"]),
        ("/password/reset/abc", ["password", "confirm"]),
        ("/lang/en", ["next"]),
    ],
    "resident": [
        ("/account/verify", ["real_name", "id_number", "phone", "consent"]),
        ("/account/organisation", ["org_name", "credit_code"]),
        ("/notifications/1/read", []),
    ],
    "officer": [
        ("/backoffice/status", ["status"]),
        ("/backoffice/verifications/1/reject", ["reason"]),
        ("/backoffice/verifications/1/revoke", ["reason"]),
        ("/backoffice/organisations/1/reject", ["reason"]),
        ("/backoffice/profile", ["title", "office_hours", "contact", "bio"]),
        (
            "/backoffice/walk-in",
            ["display_name", "real_name", "id_number", "community_id", "checked"],
        ),
    ],
    "admin": [
        ("/backoffice/calendar", ["day", "is_workday", "note"]),
        (
            "/backoffice/communities",
            ["name", "slug", "district", "office_address", "office_phone", "description"],
        ),
        ("/backoffice/communities/1/officers", ["officer_ids"]),
    ],
}

SETTINGS = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _fuzz_forms(client, role, data):
    for path, fields in FORMS[role]:
        form = {f: data.draw(TEXT, label=f"{path}:{f}") for f in fields}
        resp = client.post(path, data=form)
        assert resp.status_code < 500, (path, form, resp.status_code)


@SETTINGS
@given(data=st.data())
def test_forms_never_500_anonymous(client, world, data):
    _fuzz_forms(client, "anonymous", data)


@SETTINGS
@given(data=st.data())
def test_forms_never_500_staff(app, world, data):
    for role in ("resident", "officer", "admin"):
        client = app.test_client()
        login(client, f"{role}@example.com")
        _fuzz_forms(client, role, data)


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), TEXT),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
API = [
    ("/api/v1/session", ["login", "password"]),
    ("/api/v1/users", ["login", "display_name", "community_id", "password", "confirm"]),
    ("/api/v1/verification", ["real_name", "id_number", "phone", "consent"]),
    ("/api/v1/verification/organisation", ["org_name", "credit_code"]),
    ("/api/v1/notifications/read", ["id"]),
]


@SETTINGS
@given(data=st.data())
def test_api_never_500(app, world, data):
    client = app.test_client()
    login(client, "resident@example.com")
    for path, fields in API:
        body = data.draw(
            st.one_of(
                st.fixed_dictionaries({f: JSON_VALUES for f in fields}),
                JSON_VALUES,
            ),
            label=path,
        )
        resp = client.post(path, json=body)
        assert resp.status_code < 500, (path, body, resp.status_code)
        assert resp.is_json, path


# ---- registry (its own tests: one more form list would exceed Hypothesis' entropy limit) --

REGISTRY_FORMS = {
    "resident": [
        ("/registry/register", ["community_id", "address", "since", "workplace", "house_id"]),
        ("/registry/permit", []),
        ("/registry/tenancies/1/end", ["end_date"]),
        ("/registry/employer", ["which", "w-community_id", "w-rows-0-name", "w-rows-0-phone"]),
    ],
    "officer": [
        ("/backoffice/registry/records/1/correct", ["name", "id_number", "address", "since"]),
        ("/backoffice/registry/records/1/reject", ["reason"]),
        ("/backoffice/registry/tenancies/1/end", ["end_date"]),
        ("/backoffice/registry/permits/1", ["status", "reason"]),
    ],
}
REGISTRY_API = [
    ("/api/v1/registry/residence", ["community_id", "address", "since", "workplace"]),
    ("/api/v1/registry/permits", []),
    ("/api/v1/registry/records/1/reject", ["reason"]),
    ("/api/v1/registry/permits/1/status", ["status", "reason"]),
]


def _registry_rows(app, world):
    """A pending record (id 1) of the resident, so the officer's forms reach real code."""
    import datetime as dt

    from portal.db import db
    from portal.registry import services as svc
    from portal.registry.models import Source
    from tests.conftest import valid_id

    with app.test_request_context():
        svc.submit_pending(
            community_id=world["community"],
            source=Source.OFFICER,
            source_ref=None,
            name="孙小明",
            id_number=valid_id("11010519900101001"),
            since=dt.date(2026, 1, 5),
        )
        db.session.commit()


@SETTINGS
@given(data=st.data())
def test_registry_forms_never_500(app, world, data):
    _registry_rows(app, world)
    for role, forms in REGISTRY_FORMS.items():
        client = app.test_client()
        login(client, f"{role}@example.com")
        for path, fields in forms:
            form = {f: data.draw(TEXT, label=f"{path}:{f}") for f in fields}
            resp = client.post(path, data=form)
            assert resp.status_code < 500, (path, form, resp.status_code)


@SETTINGS
@given(data=st.data())
def test_registry_api_never_500(app, world, data):
    _registry_rows(app, world)
    client = app.test_client()
    login(client, "officer@example.com")
    for path, fields in REGISTRY_API:
        body = data.draw(
            st.one_of(st.fixed_dictionaries({f: JSON_VALUES for f in fields}), JSON_VALUES),
            label=path,
        )
        resp = client.post(path, json=body)
        assert resp.status_code < 500, (path, body, resp.status_code)
        assert resp.is_json, path


# -- consultations (在线咨询): every resident and officer form on a real question ----------------

CONSULT_FORMS = {
    "resident": [
        ("/consult/ask", ["category", "title", "body", "is_public"]),
        ("/consult/{cid}/follow-up", ["body"]),
        ("/consult/{cid}/rate", ["score", "comment"]),
        ("/consult/{cid}/close", []),
        ("/consult/{cid}/reopen", ["reason"]),
    ],
    "officer": [
        ("/backoffice/consult/{cid}/reply", ["body"]),
        ("/backoffice/consult/{cid}/note", ["body"]),
        ("/backoffice/consult/{cid}/waiting", ["body"]),
        ("/backoffice/consult/{cid}/assign", ["assignee_id"]),
        ("/backoffice/consult/canned", ["title", "body"]),
        ("/backoffice/chat/{conv}/convert", []),
    ],
}
#: Each consult example makes about twenty requests: fewer examples keep the run short.
CONSULT_SETTINGS = settings(SETTINGS, max_examples=8)
CONSULT_GETS = [
    ("/consult/kb", ["q", "category"]),
    ("/consult/{cid}", []),
    ("/backoffice/consult", ["tab", "page"]),
]


def _question_and_conversation(app, resident) -> tuple[int, int]:
    """A fresh question (answered, so that rating is possible) and the resident's chat."""
    from sqlalchemy import select

    from portal.accounts.models import User
    from portal.consult import chat
    from portal.consult.models import Consultation
    from portal.db import db

    resp = resident.post(
        "/consult/ask",
        data={"category": "household", "title": "居住证怎么办", "body": "需要哪些材料？"},
    )
    assert resp.status_code == 302
    with app.test_request_context():
        cid = db.session.scalar(select(Consultation.id).order_by(Consultation.id.desc()))
        user = db.session.scalar(select(User).where(User.email == "resident@example.com"))
        conv = chat.conversation_for(user).id
        db.session.commit()
    return cid, conv


@CONSULT_SETTINGS
@given(data=st.data())
def test_consult_forms_never_500(app, world, data):
    resident, officer = app.test_client(), app.test_client()
    login(resident, "resident@example.com")
    login(officer, "officer@example.com")
    cid, conv = _question_and_conversation(app, resident)
    officer.post(f"/backoffice/consult/{cid}/reply", data={"body": "请带身份证"})
    for role, client in (("officer", officer), ("resident", resident)):
        for path, fields in CONSULT_FORMS[role]:
            url = path.format(cid=cid, conv=conv)
            form = {f: data.draw(TEXT, label=f"{path}:{f}") for f in fields}
            resp = client.post(url, data=form)
            assert resp.status_code < 500, (url, form, resp.status_code)
            if resp.status_code == 422 and "body" in form and form["body"].strip():
                # A rejected message comes back with the typed text in the page.
                assert resp.get_data(as_text=True).count("<textarea") >= 1, url
    for path, fields in CONSULT_GETS:
        url = path.format(cid=cid)
        params = {f: data.draw(TEXT, label=f"{path}:{f}") for f in fields}
        for client in (resident, officer):
            resp = client.get(url, query_string=params)
            assert resp.status_code < 500, (url, params, resp.status_code)


CONSULT_API = [
    ("/api/v1/consult/questions", ["category", "title", "body", "is_public"]),
    ("/api/v1/consult/questions/{cid}/follow-up", ["body"]),
    ("/api/v1/consult/questions/{cid}/rate", ["score", "comment"]),
    ("/api/v1/consult/questions/{cid}/reopen", ["reason"]),
    ("/api/v1/consult/questions/{cid}/close", []),
]


@CONSULT_SETTINGS
@given(data=st.data())
def test_consult_api_never_500(app, world, data):
    resident = app.test_client()
    login(resident, "resident@example.com")
    cid, _conv = _question_and_conversation(app, resident)
    for path, fields in CONSULT_API:
        url = path.format(cid=cid)
        body = data.draw(
            st.one_of(st.fixed_dictionaries({f: JSON_VALUES for f in fields}), JSON_VALUES),
            label=path,
        )
        resp = resident.post(url, json=body)
        assert resp.status_code < 500, (url, body, resp.status_code)
        assert resp.is_json, url
