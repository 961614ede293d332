"""Lost and found: items handed in listed at once; residents' lost items moderated;
claimed and returned."""

from __future__ import annotations

from portal.db import db
from portal.notices.models import ItemStatus, LostItem
from portal.notifications.models import Notification
from tests.conftest import login


def test_found_item_claimed_and_returned(app, world, client):
    officer = client.application.test_client()
    login(officer, "officer@example.com")
    resp = officer.post(
        "/backoffice/lost-found",
        data={
            "title": "黑色钱包",
            "description": "内有公交卡",
            "place": "天桥公园",
            "happened_on": "2026-03-01",
            "collect_at": "天桥社区警务室",
            "community_id": world["community"],
        },
    )
    assert resp.status_code == 302
    assert "黑色钱包" in client.get("/lost-found").get_data(as_text=True)
    with app.app_context():
        item_id = db.session.query(LostItem.id).scalar()
    login(client, "resident@example.com")
    proof = {"proof": "钱包里有公交卡和一张合影"}
    assert client.post(f"/lost-found/{item_id}/claim", data=proof).status_code == 302
    assert client.post(f"/lost-found/{item_id}/claim", data=proof).status_code == 303  # once
    with app.app_context():
        item = db.session.get(LostItem, item_id)
        assert item.status == ItemStatus.CLAIMED and len(item.claims) == 1
        assert (
            db.session.query(Notification)
            .filter_by(user_id=world["officer"], kind="lost_found")
            .count()
            == 1
        )
    assert officer.post(f"/backoffice/lost-found/{item_id}/returned").status_code == 302
    with app.app_context():
        assert db.session.get(LostItem, item_id).status == ItemStatus.RETURNED
    assert "黑色钱包" not in client.get("/lost-found").get_data(as_text=True)


def test_lost_item_is_moderated(app, world, client):
    login(client, "resident@example.com")
    assert (
        client.post("/lost-found/report", data={"title": "蓝色雨伞", "place": "菜市场"}).status_code
        == 302
    )
    assert "蓝色雨伞" not in client.get("/lost-found").get_data(as_text=True)
    with app.app_context():
        item_id = db.session.query(LostItem.id).scalar()
    other = client.application.test_client()
    login(other, "officer2@example.com")
    assert other.post(f"/backoffice/lost-found/{item_id}/approve").status_code == 403
    officer = client.application.test_client()
    login(officer, "officer@example.com")
    assert "蓝色雨伞" in officer.get("/backoffice/lost-found").get_data(as_text=True)
    assert officer.post(f"/backoffice/lost-found/{item_id}/approve").status_code == 302
    assert "蓝色雨伞" in client.get("/lost-found").get_data(as_text=True)
    # A lost item cannot be "claimed".
    assert (
        client.post(f"/lost-found/{item_id}/claim", data={"proof": "蓝色折叠伞"}).status_code == 303
    )
    with app.app_context():
        assert (
            db.session.query(Notification)
            .filter_by(user_id=world["resident"], kind="lost_found")
            .count()
            == 1
        )
