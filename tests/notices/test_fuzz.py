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
