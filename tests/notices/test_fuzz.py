"""No input to the officers' notice forms and API gives a 500."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import login
from tests.test_fuzz_inputs import JSON_VALUES, TEXT

SETTINGS = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
FORMS = [
    (
        "/backoffice/notices/new",
        [
            "kind",
            "title",
            "body_html",
            "station_wide",
            "community_ids",
            "publish_at",
            "expires_at",
            "period_start",
            "count_0",
        ],
    ),
    ("/backoffice/lost-found", ["title", "happened_on", "collect_at", "community_id"]),
    ("/backoffice/contact/1", ["reply"]),
]
PUBLIC_FORMS = [
    ("/contact", ["community_id", "category", "body", "anonymous"]),
    ("/contact/track", ["code"]),
]
RESIDENT_FORMS = [
    ("/lost-found/report", ["title", "description", "place", "happened_on"]),
    ("/notices/subscription", ["action"]),
]
PUBLIC_API = [
    ("/api/v1/contact", ["community_id", "category", "body", "anonymous"]),
    ("/api/v1/contact/track", ["code"]),
]
API_FIELDS = [
    "kind",
    "title",
    "body_html",
    "station_wide",
    "community_ids",
    "publish_at",
    "expires_at",
    "period_start",
    "figures",
]


def _post_forms(client, forms, data):
    for path, fields in forms:
        form = {f: data.draw(TEXT, label=f"{path}:{f}") for f in fields}
        resp = client.post(path, data=form)
        assert resp.status_code < 500, (path, form, resp.status_code)


@SETTINGS
@given(data=st.data())
def test_public_and_resident_forms_never_500(app, world, data):
    _post_forms(app.test_client(), PUBLIC_FORMS, data)
    client = app.test_client()
    login(client, "resident@example.com")
    _post_forms(client, RESIDENT_FORMS + PUBLIC_FORMS, data)
    for path, fields in PUBLIC_API:
        body = data.draw(
            st.one_of(st.fixed_dictionaries({f: JSON_VALUES for f in fields}), JSON_VALUES)
        )
        resp = client.post(path, json=body)
        assert resp.status_code < 500 and resp.is_json, (path, body, resp.status_code)


@SETTINGS
@given(data=st.data())
def test_officer_forms_never_500(app, world, data):
    client = app.test_client()
    login(client, "officer@example.com")
    for path, fields in FORMS:
        form = {f: data.draw(TEXT, label=f"{path}:{f}") for f in fields}
        resp = client.post(path, data=form)
        assert resp.status_code < 500, (path, form, resp.status_code)


@SETTINGS
@given(data=st.data())
def test_officer_api_never_500(app, world, data):
    client = app.test_client()
    login(client, "officer@example.com")
    body = data.draw(
        st.one_of(st.fixed_dictionaries({f: JSON_VALUES for f in API_FIELDS}), JSON_VALUES)
    )
    resp = client.post("/api/v1/notices", json=body)
    assert resp.status_code < 500 and resp.is_json, (body, resp.status_code)


def test_control_characters_are_dropped_not_stored(app, world, client):
    """PostgreSQL refuses NUL in text: forms drop control characters, queries too."""
    from portal.db import db
    from portal.notices.models import ContactMessage

    resp = client.post(
        "/contact",
        data={
            "community_id": world["community"],
            "category": "tip",
            "body": "门口\x00有人\x07徘徊",
        },
    )
    assert resp.status_code == 200
    with app.app_context():
        assert db.session.query(ContactMessage.body).scalar() == "门口有人徘徊"
    assert client.get("/notices?q=a%00b&community=c%001").status_code == 200
    assert client.get("/api/v1/notices?q=%00").status_code == 200
    assert client.post("/contact/track", data={"code": "AB\x00CD"}).status_code == 303


@SETTINGS
@given(data=st.data())
def test_claim_forms_and_officer_lost_found_api_never_500(app, world, data):
    from tests.notices.test_claims import _found_item

    item_id = _found_item(app, world)
    resident = app.test_client()
    login(resident, "resident@example.com")
    resp = resident.post(f"/lost-found/{item_id}/claim", data={"proof": data.draw(TEXT)})
    assert resp.status_code < 500
    resident.post(f"/api/v1/lost-found/{item_id}/claims", json={"proof": "黑色的钱包"})
    with app.app_context():
        from sqlalchemy import select

        from portal.db import db
        from portal.notices.models import ItemClaim

        claim_id = db.session.scalar(select(ItemClaim.id).where(ItemClaim.item_id == item_id))
    visit = {"starts_at": data.draw(TEXT), "provider_id": data.draw(TEXT)}
    assert resident.post(f"/lost-found/claims/{claim_id}", data=visit).status_code < 500
    for path in (f"/api/v1/lost-found/claims/{claim_id}/visit",):
        body = data.draw(
            st.one_of(st.fixed_dictionaries({k: JSON_VALUES for k in visit}), JSON_VALUES)
        )
        resp = resident.post(path, json=body)
        assert resp.status_code < 500 and resp.is_json, (path, body)
    officer = app.test_client()
    login(officer, "officer@example.com")
    for path, fields in [
        (f"/api/v1/lost-found/{item_id}/returned", ["reason", "claim_id"]),
        (f"/api/v1/lost-found/claims/{claim_id}/reject", ["reason"]),
        ("/api/v1/contact/messages/1/reply", ["reply"]),
    ]:
        body = data.draw(
            st.one_of(st.fixed_dictionaries({f: JSON_VALUES for f in fields}), JSON_VALUES)
        )
        resp = officer.post(path, json=body)
        assert resp.status_code < 500 and resp.is_json, (path, body, resp.status_code)
    form = {"reason": data.draw(TEXT)}
    resp = officer.post(f"/backoffice/lost-found/claims/{claim_id}/reject", data=form)
    assert resp.status_code < 500
