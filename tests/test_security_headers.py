"""Security by default: CSP without inline script, nosniff, no framing, CSRF on forms."""

from __future__ import annotations

from tests.conftest import PASSWORD, make_test_app


def test_headers_on_pages_api_and_errors(client):
    for path in ("/", "/login", "/api/v1/communities", "/no-such-page"):
        resp = client.get(path)
        csp = resp.headers["Content-Security-Policy"]
        assert (
            "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
        )
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "same-origin"


def test_no_inline_script_or_style_in_pages(client, world):
    import re

    for path in ("/", "/login", "/register", "/communities", "/password/forgot"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert " style=" not in html and "onclick=" not in html, path


def test_forms_require_csrf(database_url, tmp_path, world):
    app = make_test_app(database_url, tmp_path / "csrf", WTF_CSRF_ENABLED=True)
    client = app.test_client()
    resp = client.post("/login", data={"login": "resident@example.com", "password": PASSWORD})
    assert resp.status_code == 400
    assert "页面已过期" in resp.get_data(as_text=True)
    html = client.get("/login").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    resp = client.post(
        "/login", data={"login": "resident@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert resp.status_code == 302
    # Logout is a POST with a token too: a link from another site cannot log you out.
    assert client.post("/logout").status_code == 400


def test_error_pages_in_chinese_never_500(client):
    resp = client.get("/c/" + "x" * 500)
    assert resp.status_code == 404 and "页面不存在" in resp.get_data(as_text=True)
    resp = client.put("/login")
    assert resp.status_code == 405 and "不支持该请求方式" in resp.get_data(as_text=True)
    assert client.get("/backoffice/verifications?page=abc").status_code in (302, 200)
    assert client.get("/notifications?page=-5").status_code == 302
