"""Browser fixtures: a live server on a fresh SQLite file and Debian's headless Chromium.

Playwright drives the system browser (``PORTAL_CHROMIUM`` or ``/usr/bin/chromium``); it
never downloads one. A missing browser fails the tests, in CI and on a developer's machine
alike, so a green run always means the pages were really exercised.

The app here runs with real CSRF protection, as a resident's browser would meet it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine
from werkzeug.serving import make_server

from portal.db import db
from portal.models import metadata
from tests.conftest import PASSWORD, make_test_app

CHROMIUM_MISSING = "install Debian's chromium (apt-get install chromium) or set PORTAL_CHROMIUM"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
# Report CSP violations as console errors too (init scripts are exempt from the CSP).
_CSP_PROBE = """
document.addEventListener('securitypolicyviolation', function (e) {
  console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline'));
});
"""

COMMUNITY_NAME = "天桥社区"
COMMUNITY_SLUG = "tianqiao"
OFFICER_LOGIN = "officer@example.test"
OFFICER_NAME = "王警官"


def chromium_executable() -> str:
    """The browser to drive; fails (never skips) when it is not installed."""
    path = os.environ.get("PORTAL_CHROMIUM") or "/usr/bin/chromium"
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        where = " (CI)" if os.environ.get("CI") else ""
        pytest.fail(f"no Chromium at {path}{where}: {CHROMIUM_MISSING}", pytrace=False)
    return path


def _compile_translations(target: Path) -> Path:
    """Compile the .po catalogues into ``target`` so the tests see the current texts."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    source = Path(__file__).resolve().parents[2] / "portal" / "translations"
    for po in source.glob("*/LC_MESSAGES/*.po"):
        out = target / po.relative_to(source).with_suffix(".mo")
        out.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=po.parts[-3])
        with out.open("wb") as fh:
            write_mo(fh, catalog)
    return target


@dataclass
class LiveServer:
    """A running portal: its base URL, the app, and what was seeded."""

    url: str
    app: Flask
    community_slug: str = COMMUNITY_SLUG
    officer_login: str = OFFICER_LOGIN
    password: str = PASSWORD

    def __call__(self, path: str = "/") -> str:
        return self.url + path


def _seed(app: Flask) -> None:
    from portal.accounts.models import Role
    from portal.accounts.services import register_user
    from portal.communities.models import Community

    with app.test_request_context():
        community = Community(
            name=COMMUNITY_NAME,
            slug=COMMUNITY_SLUG,
            district="铁东区",
            office_address="天桥街 1 号",
        )
        db.session.add(community)
        db.session.flush()
        register_user(
            login=OFFICER_LOGIN,
            password=PASSWORD,
            display_name=OFFICER_NAME,
            community=community,
            role=Role.OFFICER,
        )
        db.session.commit()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The portal on a fresh SQLite file, served by werkzeug in a daemon thread.

    Module scoped: the database handle is process-wide, so no other app may be built
    while this one serves.
    """
    root = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{root / 'portal.db'}"
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    app = make_test_app(
        url,
        root / "instance",
        WTF_CSRF_ENABLED=True,
        BABEL_TRANSLATION_DIRECTORIES=str(_compile_translations(root / "translations")),
    )
    _seed(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = base
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=base, app=app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
        app.extensions["portal.engine"].dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, started once per test module (and gone after it)."""
    executable = chromium_executable()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@dataclass
class PageLog:
    """What the pages of one test said: console errors, uncaught errors, documents loaded."""

    errors: list[str] = field(default_factory=list)
    documents: list[Any] = field(default_factory=list)

    def console(self, message: Any) -> None:
        if message.type != "error":
            return
        where = (message.location or {}).get("url", "")
        # Chromium asks for /favicon.ico by itself; the portal does not declare one.
        if where.endswith("/favicon.ico"):
            return
        self.errors.append(f"console: {message.text} ({where})")

    def csp_violations(self) -> list[str]:
        return [e for e in self.errors if "Content Security Policy" in e or "CSP violation" in e]


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


@pytest.fixture
def new_page(browser: Any, page_log: PageLog) -> Iterator[Callable[..., Any]]:
    """Open a page in a fresh browser context (own cookies); options go to new_context."""
    contexts: list[Any] = []

    def open_page(**options: Any) -> Any:
        options.setdefault("locale", "zh-CN")
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        context.add_init_script(_CSP_PROBE)
        contexts.append(context)
        page = context.new_page()
        page.on("console", page_log.console)
        page.on("pageerror", lambda exc: page_log.errors.append(f"pageerror: {exc}"))
        page.on(
            "response",
            lambda resp: (
                page_log.documents.append(resp)
                if resp.request.resource_type == "document"
                else None
            ),
        )
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """A desktop-sized page."""
    return new_page(viewport={"width": 1280, "height": 900})
