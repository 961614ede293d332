"""The officers' ledger: who may see it, filters, pagination, history pages, reveal."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from portal.db import db
from portal.registry import ledger
from portal.security.models import AuditEntry
from tests.conftest import login
from tests.registry.conftest_ledger import at, lm  # noqa: F401


def _page(client, url):
    resp = client.get(url)
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def test_default_is_confirmed_records_of_my_communities_newest_first(client, world, lm):  # noqa: F811
    a, b = world["community"], world["other_community"]
    lm.migrant(a, name="张一", since=dt.date(2026, 1, 1))
    lm.migrant(a, name="李二", since=dt.date(2026, 3, 1))
    lm.migrant(a, name="王三", status="pending")
    lm.migrant(a, name="赵四", status="closed", closed=at("2026-05-01"))
    lm.migrant(b, name="钱五")
    login(client, "officer@example.com")
    html = _page(client, "/backoffice/registry/ledger")
    assert html.index("李*") < html.index("张*")  # newest move-in first
    assert "王*" not in html and "赵*" not in html and "钱*" not in html
    assert "李二" not in html  # names masked on screen
    html = _page(client, "/backoffice/registry/ledger?status=closed")
    assert "赵*" in html and "张*" not in html  # closed records stay searchable
    html = _page(client, "/backoffice/registry/ledger?status=")
    assert all(n in html for n in ("张*", "李*", "王*", "赵*")) and "钱*" not in html


def test_filters_address_name_and_dates(client, world, lm):  # noqa: F811
    a = world["community"]
    lm.migrant(a, name="张一", address="天桥路 12号 3单元", since=dt.date(2026, 1, 5))
    lm.migrant(a, name="张二", address="天桥路１２号５单元", since=dt.date(2026, 2, 5))
    lm.migrant(a, name="李三", address="天桥路120号", since=dt.date(2026, 3, 5))
    lm.migrant(
        a, name="王四", address="铁西路1号", since=dt.date(2026, 4, 5), created=at("2026-04-06")
    )
    login(client, "officer@example.com")

    def names(query):
        html = _page(client, "/backoffice/registry/ledger?" + query)
        return {n for n in ("张*", "李*", "王*") if n in html}, html

    # Address prefix on the normalised key: spaces and full-width digits fold.
    found, html = names("address=天桥路12号")
    assert found == {"张*"} and html.count("张*") == 2
    found, _ = names("address=天桥路 1")
    assert found == {"张*", "李*"}
    found, _ = names("address=%25")  # a LIKE wildcard is a plain character
    assert found == set()
    # Name prefix.
    found, html = names("name=张")
    assert found == {"张*"} and "李*" not in html
    assert "按姓名查询时，结果按姓名排列" in html
    assert "按姓名查询时" not in names("address=天桥路")[1]
    found, _ = names("name=李三")
    assert found == {"李*"}
    # Date range on the move-in date, then on the registration time.
    found, _ = names("date_from=2026-02-01&date_to=2026-03-31")
    assert found == {"张*", "李*"}
    found, _ = names("date_field=created&date_from=2026-04-06&date_to=2026-04-06")
    assert found == {"王*"}


def test_bad_filters_are_explained_not_500(client, world, lm):  # noqa: F811
    lm.migrant(world["community"], name="张一")
    login(client, "officer@example.com")
    html = _page(client, "/backoffice/registry/ledger?date_from=2026-13-45&status=bogus")
    assert "日期格式应为" in html and "状态选择有误" in html
    assert "张*" in html  # the bad filters are left out, the rest still works
    html = _page(client, "/backoffice/registry/ledger?date_from=2026-05-01&date_to=2026-01-01")
    assert "开始日期不能晚于结束日期" in html
    assert client.get("/backoffice/registry/ledger?community=abc").status_code == 200
    assert client.get("/backoffice/registry/ledger?name=%00%00").status_code == 200


def test_pagination(client, world, lm):  # noqa: F811
    a = world["community"]
    for i in range(ledger.PER_PAGE + 5):
        lm.migrant(a, name=f"张{i:02d}号", since=dt.date(2026, 1, 1) + dt.timedelta(days=i))
    login(client, "officer@example.com")
    first = _page(client, "/backoffice/registry/ledger")
    assert first.count("/backoffice/registry/migrants/") == ledger.PER_PAGE
    assert "第 1 / 2 页，共 25 条" in first
    assert "记录很多时请导出 CSV" in first  # the XLSX export's first byte waits for the end
    second = _page(client, "/backoffice/registry/ledger?page=2")
    assert second.count("/backoffice/registry/migrants/") == 5
    beyond = _page(client, "/backoffice/registry/ledger?page=9")
    assert "这一页没有记录" in beyond and "没有符合条件的登记记录" not in beyond
    assert "没有符合条件的登记记录" in _page(client, "/backoffice/registry/ledger?name=无此人")


def test_name_search_lists_by_name_in_index_order(ctx, world, lm):  # noqa: F811
    """A name search reads the (community_id, name) index in order and stops at the page:
    by name, then oldest record first, whatever the move-in dates."""
    from portal.accounts.models import User

    a = world["community"]
    ids = {}
    for i in range(ledger.PER_PAGE + 5):
        name = f"张{(i * 7) % 25:02d}"
        ids[name] = lm.migrant(a, name=name, since=dt.date(2026, 1, 1) + dt.timedelta(days=i))
    twin = lm.migrant(a, name="张03", since=dt.date(2020, 1, 1))  # same name, newer record
    lm.migrant(a, name="李一")
    officer = db.session.get(User, world["officer"])
    f = ledger.LedgerFilter.from_args({"name": "张"}, officer)
    first, total = ledger.search(f, 1)
    second, _ = ledger.search(f, 2)
    got = [(m.name, m.id) for m in first + second]
    assert total == ledger.PER_PAGE + 6
    assert got == sorted(got) and len(got) == total
    assert [m.id for m in first + second if m.name == "张03"] == [ids["张03"], twin]


def test_count_is_capped(ctx, world, lm, monkeypatch):  # noqa: F811
    from portal.accounts.models import User

    for _ in range(4):
        lm.migrant(world["community"])
    officer = db.session.get(User, world["officer"])
    f = ledger.LedgerFilter.from_args({}, officer)
    assert ledger.count_capped(f, cap=2) == 3
    assert ledger.count_capped(f, cap=10) == 4


def test_officer_of_another_community_is_refused(client, world, lm):  # noqa: F811
    a = world["community"]
    house = lm.house(a)
    m = lm.migrant(a, house_id=house)
    login(client, "officer2@example.com")
    assert client.get(f"/backoffice/registry/migrants/{m}").status_code == 403
    assert client.get(f"/backoffice/registry/houses/{house}").status_code == 403
    assert client.post(f"/backoffice/registry/migrants/{m}/reveal/name").status_code == 403
    assert client.get(f"/backoffice/registry/ledger?community={a}").status_code == 403
    assert client.get(f"/backoffice/registry/houses?community={a}").status_code == 403
    assert client.get(f"/backoffice/registry/ledger/export.csv?community={a}").status_code == 403
    assert client.get(f"/api/v1/registry/ledger?community={a}").status_code == 403
    html = _page(client, "/backoffice/registry/ledger")
    assert "没有符合条件的登记记录" in html  # their own (empty) communities only
    body = client.get("/api/v1/registry/ledger").get_json()
    assert body["items"] == [] and body["total"] == 0


def test_residents_never_see_the_ledger(client, world, lm):  # noqa: F811
    m = lm.migrant(world["community"])
    login(client, "resident@example.com")
    assert client.get("/backoffice/registry/ledger").status_code == 403
    assert client.get(f"/backoffice/registry/migrants/{m}").status_code == 403
    assert client.get("/api/v1/registry/ledger").status_code == 403


def test_admin_sees_every_community(client, world, lm):  # noqa: F811
    lm.migrant(world["community"], name="张一")
    lm.migrant(world["other_community"], name="李二")
    login(client, "admin@example.com")
    html = _page(client, "/backoffice/registry/ledger")
    assert "张*" in html and "李*" in html


def test_migrant_page_shows_history_masked(client, world, lm):  # noqa: F811
    a = world["community"]
    house = lm.house(a, "天桥路8号")
    m = lm.migrant(a, name="张三丰", house_id=house, status="closed", closed=at("2026-05-01"))
    lm.tenancy(house, m, "2026-01-05", "2026-04-30")
    lm.permit(m, world["resident"], "ready", updated=at("2026-03-01"))
    lm.event(a, "moved_in", at("2026-01-04", 16), migrant_id=m, house_id=house)
    lm.event(a, "moved_out", at("2026-04-29", 16), migrant_id=m, house_id=house)
    id_number = lm.id_number(m)
    login(client, "officer@example.com")
    html = _page(client, f"/backoffice/registry/migrants/{m}")
    assert "张**" in html and "张三丰" not in html
    assert id_number not in html and id_number[:6] + "********" in html
    assert "13912345678" not in html and "139****5678" in html
    assert "天桥路8号" in html and "2026-04-30" in html
    assert "迁入" in html and "迁出" in html and "待领取" in html


def test_reveal_is_audited(app, client, world, lm):  # noqa: F811
    m = lm.migrant(world["community"], name="张三丰")
    id_number = lm.id_number(m)
    login(client, "officer@example.com")
    resp = client.post(f"/backoffice/registry/migrants/{m}/reveal/id_number")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and id_number in html
    assert "张三丰" not in html  # only the field asked for
    html = client.post(f"/backoffice/registry/migrants/{m}/reveal/name").get_data(as_text=True)
    assert "张三丰" in html
    assert client.post(f"/backoffice/registry/migrants/{m}/reveal/address").status_code == 404
    with app.app_context():
        actions = [
            (e.action, e.object_type, e.object_id)
            for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
            if e.action.startswith("pii.reveal")
        ]
    assert actions == [
        ("pii.reveal.id_number", "registry_migrants", m),
        ("pii.reveal.name", "registry_migrants", m),
    ]


def test_houses_list_and_page(client, world, lm):  # noqa: F811
    a = world["community"]
    landlord = world["resident"]
    h1 = lm.house(a, "天桥路1号", pledged=at("2026-02-01"), landlord_id=landlord)
    h2 = lm.house(a, "天桥路2号", created=at("2026-02-01"))
    lm.house(a, "天桥路3号", closed=at("2026-03-01"))
    lm.house(world["other_community"], "铁西路9号")
    now_tenant = lm.migrant(a, name="张一", house_id=h1)
    old_tenant = lm.migrant(a, name="李二", house_id=h1, status="closed")
    lm.tenancy(h1, now_tenant, "2026-03-01")
    lm.tenancy(h1, old_tenant, "2025-01-01", "2026-02-28")
    lm.tenancy(h2, None, "2026-02-01")
    lm.event(a, "pledge_signed", at("2026-02-01"), house_id=h1)
    login(client, "officer@example.com")
    html = _page(client, "/backoffice/registry/houses")
    assert "天桥路1号" in html and "天桥路2号" in html
    assert "天桥路3号" not in html and "铁西路9号" not in html
    assert "孙**" in html and "孙女士" not in html  # landlord masked
    assert "天桥路3号" in _page(client, "/backoffice/registry/houses?state=closed")
    html = _page(client, "/backoffice/registry/houses?pledge=no")
    assert "天桥路2号" in html and "天桥路1号" not in html
    html = _page(client, f"/backoffice/registry/houses/{h1}")
    current, past = html.split('data-testid="past-tenancies"')
    assert "张*" in current and "李*" in past
    assert "签订治安责任保证书" in html
    body = client.get("/api/v1/registry/ledger/houses").get_json()
    rows = {r["address"]: r for r in body["items"]}
    assert rows["天桥路1号"]["open_tenancies"] == 1 and rows["天桥路1号"]["pledge_signed"]
    assert rows["天桥路1号"]["landlord"] == "孙**"


def test_empty_states(client, world):
    login(client, "officer@example.com")
    assert "没有符合条件的登记记录" in _page(client, "/backoffice/registry/ledger")
    assert "没有符合条件的出租房屋" in _page(client, "/backoffice/registry/houses")
    assert client.get("/backoffice/registry/migrants/999").status_code == 404
    assert client.get("/backoffice/registry/houses/999").status_code == 404


def test_api_search_is_masked(client, world, lm):  # noqa: F811
    m = lm.migrant(world["community"], name="张三丰", address="天桥路5号")
    id_number = lm.id_number(m)
    login(client, "officer@example.com")
    body = client.get("/api/v1/registry/ledger?address=天桥路5").get_json()
    assert body["total"] == 1 and body["total_capped"] is False
    row = body["items"][0]
    assert row["name"] == "张**" and row["id_number"] == id_number[:6] + "********" + id_number[-4:]
    assert row["phone"] == "139****5678"
    body = client.get("/api/v1/registry/ledger?date_from=nope").get_json()
    assert body["errors"] and body["total"] == 1
