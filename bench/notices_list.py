"""Notices benchmark: the public list, search, a bulletin page, the Atom feed and the
officer's dashboard panel on a station with many notices and contact-box messages.

Not a test: it prints figures (results go into bench/README.md by hand). SQLite in a
temporary folder, or PostgreSQL when BENCH_DATABASE_URL is set (its public schema is
DROPPED and rebuilt: point it at a scratch database). Bounded to well under a minute.
Environment: BENCH_NOTICES (default 5000), BENCH_REPEAT (default 30 requests per URL).
Searches: 诈骗 (in every 7th title: 715 matches), 内容 (in every body: all), 不存在 (none).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy import create_engine, event, insert, text

from portal import create_app, search
from portal.accounts.models import Role
from portal.accounts.services import register_user
from portal.communities.models import Community
from portal.db import db, utcnow
from portal.models import metadata
from portal.notices.models import (
    BulletinFigure,
    ContactMessage,
    Notice,
    NoticeKind,
    notice_communities,
)

N = int(os.environ.get("BENCH_NOTICES", "5000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "30"))
PASSWORD = "bench-password-1"


def build(root: Path):
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{root / 'bench.db'}"
    engine = create_engine(url)
    if url.startswith("postgresql"):
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    metadata.create_all(engine)
    engine.dispose()
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(root / "instance"),
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "PII_KEY": base64.urlsafe_b64encode(b"b" * 32).decode(),
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    kinds = list(NoticeKind)
    now = utcnow()
    with app.test_request_context():
        communities = [Community(name=f"社区{i}", slug=f"c{i}") for i in range(10)]
        db.session.add_all(communities)
        db.session.flush()
        officer = register_user(
            login="officer@bench.local",
            password=PASSWORD,
            display_name="民警",
            community=communities[0],
            role=Role.OFFICER,
        )
        officer.served_communities = [communities[0]]
        db.session.flush()
        rows = []
        for i in range(N):
            rows.append(
                {
                    "kind": kinds[i % 5].value,
                    "title": f"通知{i} 防范诈骗" if i % 7 == 0 else f"通知{i}",
                    "body_html": "<p>" + "内容" * 100 + "</p>",
                    "body_text": "内容" * 100,
                    "advice": "",
                    "author_id": officer.id,
                    "unit": "社区0警务室",
                    "show_author": False,
                    "station_wide": i % 3 == 0,
                    "pinned": i % 500 == 0,
                    "publish_at": now - dt.timedelta(hours=i),
                    "created_at": now,
                    "updated_at": now,
                    "period_start": None,
                }
            )
        db.session.execute(insert(Notice), rows)
        ids = [
            r[0] for r in db.session.execute(Notice.__table__.select().with_only_columns(Notice.id))
        ]
        db.session.execute(
            insert(notice_communities),
            [
                {"notice_id": nid, "community_id": communities[nid % 10].id}
                for nid in ids
                if nid % 3
            ],
        )
        for start, base in ((dt.date(2026, 3, 1), 3), (dt.date(2026, 3, 16), 5)):
            b = Notice(
                kind=NoticeKind.BULLETIN,
                title=f"警情公示{start}",
                station_wide=True,
                publish_at=now,
                period_start=start,
                unit="x",
            )
            b.figures = [
                BulletinFigure(offence=o, count=base + j, position=j)
                for j, o in enumerate(["盗窃", "诈骗", "抢劫", "入室盗窃", "电动车被盗"])
            ]
            db.session.add(b)
        db.session.execute(
            insert(ContactMessage),
            [
                {
                    "community_id": communities[0].id,
                    "category": "tip",
                    "body": f"线索{i}",
                    "created_at": now - dt.timedelta(days=i % 30),
                }
                for i in range(500)
            ],
        )
        db.session.flush()
        # The bulk insert bypassed save_notice: fill the keyword index as the migration and
        # `portal search-reindex notice` do.
        search.reindex("notice")
        db.session.commit()
        bulletin_id = b.id
        if url.startswith("postgresql"):
            # What autovacuum does within a minute of a bulk load; SQLite runs without
            # statistics, as the portal does.
            db.session.execute(text("ANALYZE"))
            db.session.commit()
    return app, bulletin_id


def measure(app, client, path: str) -> tuple[float, float, int]:
    statements = []
    engine = app.extensions["portal.engine"]

    def count(*_args):
        statements.append(1)

    client.get(path)
    times = []
    for _ in range(REPEAT):
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        t = time.perf_counter()
        resp = client.get(path)
        times.append((time.perf_counter() - t) * 1000)
        event.remove(engine, "before_cursor_execute", count)
        assert resp.status_code == 200, (path, resp.status_code)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], len(statements)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        app, bulletin_id = build(Path(tmp))
        dialect = app.extensions["portal.engine"].dialect.name
        print(f"built {N} notices, 500 messages in {time.perf_counter() - t:.1f}s ({dialect})")
        client = app.test_client()
        officer = app.test_client()
        officer.post("/login", data={"login": "officer@bench.local", "password": PASSWORD})
        print(f"{'url':<60} {'p50 ms':>8} {'p95 ms':>8} {'SQL':>5}")
        for who, c, path in [
            ("anon", client, "/notices"),
            ("anon", client, "/notices?page=200"),
            ("anon", client, "/notices?community=c3&kind=tip"),
            ("anon", client, "/notices?q=%E8%AF%88%E9%AA%97"),
            ("anon", client, "/notices?q=%E5%86%85%E5%AE%B9"),
            ("anon", client, "/notices?q=%E8%AF%88%E9%AA%97&kind=tip&community=c3"),
            ("anon", client, "/notices?q=%E4%B8%8D%E5%AD%98%E5%9C%A8"),
            ("anon", client, "/api/v1/notices?q=%E8%AF%88%E9%AA%97"),
            ("anon", client, f"/notices/{bulletin_id}"),
            ("anon", client, "/notices/feed.atom?community=c1"),
            ("anon", client, "/api/v1/notices?community=c2"),
            ("officer", officer, "/backoffice/"),
        ]:
            p50, p95, sql = measure(app, c, path)
            print(f"{who + ' ' + unquote(path):<60} {p50:8.1f} {p95:8.1f} {sql:5d}")


if __name__ == "__main__":
    main()
