"""Subscriptions notify exactly once; the go-live job; Atom 1.0 feeds."""

from __future__ import annotations

import datetime as dt
from xml.etree import ElementTree as ET

from sqlalchemy import func, select

from portal.db import db, utcnow
from portal.notices import services as svc
from portal.notices.models import NoticeKind
from portal.notifications.models import Notification
from tests.conftest import login
from tests.notices.helpers import write

A = "{http://www.w3.org/2005/Atom}"


def _count(app, user_id):
    with app.app_context():
        return db.session.scalar(
            select(func.count()).where(
                Notification.user_id == user_id, Notification.kind == "notice"
            )
        )


def _subscribe(client, login_name):
    login(client, login_name)
    assert client.post("/notices/subscription").status_code == 302
    client.post("/logout")


def test_subscriber_notified_once_when_published_now(app, world, client):
    _subscribe(client, "resident@example.com")
    nid = write(app, world["officer"], title="立即发布")
    assert _count(app, world["resident"]) == 1
    # Editing, re-publishing, and the job do not tell them again.
    login(client, "officer@example.com")
    client.post(f"/backoffice/notices/{nid}/withdraw")
    client.post(f"/backoffice/notices/{nid}/publish")
    with app.app_context():
        assert svc.announce_due() == 0
        db.session.commit()
    assert _count(app, world["resident"]) == 1


def test_scheduled_notice_announced_by_the_job_exactly_once(app, world, client, monkeypatch):
    _subscribe(client, "resident@example.com")
    later = utcnow() + dt.timedelta(hours=1)
    write(app, world["officer"], title="定时", publish_at=later)
    with app.app_context():
        assert svc.announce_due() == 0
    assert _count(app, world["resident"]) == 0
    import portal.notices.models as models
    import portal.notices.services as services

    future = later + dt.timedelta(seconds=5)
    monkeypatch.setattr(models, "utcnow", lambda: future)
    monkeypatch.setattr(services, "utcnow", lambda: future)
    from portal.jobs import registered_jobs, run_due

    assert "announce-notices" in registered_jobs()
    first = run_due(app, force=True)
    second = run_due(app, force=True)
    assert first["announce-notices"] == 1 and second["announce-notices"] == 0
    assert _count(app, world["resident"]) == 1


def test_targeting_decides_who_hears(app, world, make, client):
    other = make.user("resident", world["other_community"], login="tiexi@example.com")
    _subscribe(client, "resident@example.com")
    _subscribe(client, "tiexi@example.com")
    write(
        app,
        world["officer"],
        title="只给天桥",
        station_wide=False,
        community_ids=[world["community"]],
    )
    assert _count(app, world["resident"]) == 1 and _count(app, other) == 0
    write(app, world["officer"], title="全站")
    assert _count(app, world["resident"]) == 2 and _count(app, other) == 1


def test_unsubscribe_and_unsubscribed_hear_nothing(app, world, client):
    _subscribe(client, "resident@example.com")
    login(client, "resident@example.com")
    client.post("/notices/subscription", data={"action": "unsubscribe"})
    write(app, world["officer"])
    assert _count(app, world["resident"]) == 0


def test_atom_feed_is_valid_atom(app, world, client):
    write(
        app,
        world["officer"],
        title="天桥提示 <&>",
        station_wide=False,
        community_ids=[world["community"]],
        body_html="<p>内容 &amp; <b>粗</b></p>",
    )
    write(app, world["officer"], title="法治", kind=NoticeKind.LEGAL)
    write(app, world["officer"], title="草稿", publish_at=None)
    resp = client.get("/notices/feed.atom?community=c1&kind=tip")
    assert resp.status_code == 200 and resp.mimetype == "application/atom+xml"
    root = ET.fromstring(resp.data)
    assert root.tag == f"{A}feed"
    for required in ("id", "title", "updated", "author"):
        assert root.find(f"{A}{required}") is not None
    assert (
        root.find(f"{A}link[@rel='self']")
        .get("href")
        .startswith("http://localhost/notices/feed.atom")
    )
    entries = root.findall(f"{A}entry")
    assert [e.find(f"{A}title").text for e in entries] == ["天桥提示 <&>"]
    e = entries[0]
    for required in ("id", "title", "updated", "link", "content", "summary"):
        assert e.find(f"{A}{required}") is not None
    assert e.find(f"{A}content").get("type") == "html"
    assert "<b>粗</b>" in e.find(f"{A}content").text
    dt.datetime.strptime(e.find(f"{A}updated").text, "%Y-%m-%dT%H:%M:%SZ")
    everything = ET.fromstring(client.get("/notices/feed.atom").data)
    assert len(everything.findall(f"{A}entry")) == 2
    empty = ET.fromstring(client.get("/notices/feed.atom?community=c2&kind=bulletin").data)
    assert empty.findall(f"{A}entry") == [] and empty.find(f"{A}updated") is not None
