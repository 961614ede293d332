"""Board search as the data grows: 1k, 10k and 100k listings (in-process).

Builds one fresh database per size (SQLite files, or schemas ``bench_<size>`` in the
PostgreSQL database of ``BENCH_DATABASE_URL``, dropped again at the end) with 10
communities, 100 posters and the listings in bulk (80% live, half rentals, half jobs,
titles drawn from a small vocabulary so keywords have realistic frequencies) with their
keyword index. Then, query by query, the requests alternate between the sizes (so load
from other processes hits every size alike) and p50/p95 of the public search page and API
are measured after a warm-up, with the SQL statement count per request. Goal from the
issue: p95 at 100k no more than 2x the p95 at 1k.

    .venv/bin/python bench/jobs_housing_search.py        # BENCH_REPEAT=20 by default
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_db \
        .venv/bin/python bench/jobs_housing_search.py

``BENCH_KEEP=1`` keeps the built databases (SQLite files in ``$TMPDIR/bench-jh-keep``, or
the PostgreSQL schemas) and reuses one on the next run when it already holds its size's
listings — for iterating on queries; a change of the schema needs a run without it.
``BENCH_ONLY=keyword,2 keywords`` measures only the requests whose label holds one of them.
"""

from __future__ import annotations

import base64
import datetime as dt
import gc
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, func, insert, select, text
from sqlalchemy.exc import DBAPIError

from portal import create_app, search
from portal.accounts.models import User
from portal.communities.models import Community
from portal.db import db
from portal.jobs_housing import services as svc
from portal.jobs_housing.models import Listing
from portal.models import metadata

REPEAT = int(os.environ.get("BENCH_REPEAT", 20))
KEEP = os.environ.get("BENCH_KEEP") == "1"
ONLY = [s for s in os.environ.get("BENCH_ONLY", "").split(",") if s]  # label substrings
SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "1000,10000,100000").split(",")]
QUERIES = [
    ("page newest", "/board"),
    ("page rentals by price", "/board?kind=rental&sort=price"),
    ("page all by price", "/board?sort=price"),
    ("page community+range", "/board?community=3&min=1000&max=2000"),
    ("page rentals range new", "/board?kind=rental&min=1000&max=2000"),
    ("page keyword", "/board?q=厨师"),
    ("page 2 keywords", "/board?q=精装+天桥"),
    ("page keyword by price", "/board?q=厨师&sort=price_desc"),
    ("api keyword+community", "/api/v1/listings?q=保洁&community=4"),
    ("page page 20", "/board?page=20"),
    ("api jobs+housing", "/api/v1/listings?kind=job&housing=1"),
    ("api rooms=2 by price", "/api/v1/listings?kind=rental&rooms=2&sort=price_desc"),
    ("api no match", "/api/v1/listings?kind=rental&rooms=9"),
]


def pct(samples: list[float], p: float) -> float:
    return statistics.quantiles(samples, n=100)[p - 1] if len(samples) > 1 else samples[0]


PLACES = ["天桥", "北环", "南关", "东城", "西站", "新区", "老街", "河畔"]
FEATURES = ["精装", "拎包入住", "近地铁", "朝南", "带阳台", "可短租", "家电齐全", "独立卫浴"]
JOBS = ["厨师", "服务员", "保洁", "快递分拣", "保安", "司机", "仓库管理", "收银员", "电工", "护工"]
TERMS = ["长期", "包吃住", "日结", "急招"]


def grow(app: Any, start: int, stop: int, rng: random.Random) -> None:
    now = dt.datetime.now(dt.UTC)
    rows = []
    for i in range(start, stop):
        rental = i % 2 == 0
        price = rng.randint(400, 4000) if rental else rng.randint(1500, 9000)
        rows.append(
            {
                "kind": "rental" if rental else "job",
                "poster_id": 1 + i % 100,
                "community_id": 1 + i % 10,
                "status": "published" if i % 5 else "pending",
                "live": bool(i % 5),
                "title": (
                    f"{rng.choice(PLACES)}{1 + (i // 2) % 4}室{rng.choice(FEATURES)}"
                    if rental
                    else f"{rng.choice(JOBS)}{rng.choice(TERMS)}"
                ),
                "description": "示例说明" * 10,
                "address": f"第 {i} 号",
                "rooms": 1 + (i // 2) % 4 if rental else None,
                "area": 30 + i % 90 if rental else None,
                "rent": price if rental else None,
                "pay_min": None if rental else price,
                "housing_provided": (not rental) and i % 3 == 0,
                "price": price,
                "furnished": False,
                "contact_pref": "",
                "owner_declared": True,
                "org_name": "",
                "hours": "",
                "requirements": "",
                "published_at": now - dt.timedelta(minutes=i),
                "expires_at": now + dt.timedelta(days=30),
                "created_at": now,
                "updated_at": now,
            }
        )
    with app.app_context():
        for k in range(0, len(rows), 5000):
            db.session.execute(insert(Listing), rows[k : k + 5000])
        db.session.flush()
        cols = [getattr(Listing, f) for f in svc.SEARCH_COLUMNS]
        new = db.session.execute(select(*cols).where(Listing.id > start))
        search.index_many(svc.SEARCH_KIND, [svc.search_document(r) for r in new])
        db.session.commit()


def _kept(url: str, size: int) -> bool:
    """Whether a kept database at ``url`` already holds ``size`` listings (BENCH_KEEP)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(Listing)) == size
    except DBAPIError:
        return False
    finally:
        engine.dispose()


def make_app(size: int, root: Path) -> Any:
    """A fresh database of ``size`` listings: a SQLite file, or a PostgreSQL schema
    (with BENCH_KEEP, the one kept from an earlier run when it is complete)."""
    base = os.environ.get("BENCH_DATABASE_URL")
    if base:
        schema = f"bench_{size}"
        sep = "&" if "?" in base else "?"
        url = f"{base}{sep}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{root / f'bench_{size}.db'}"
    reuse = KEEP and _kept(url, size)
    if base and not reuse:
        engine = create_engine(base)
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        engine.dispose()
    elif not base and not reuse:
        (root / f"bench_{size}.db").unlink(missing_ok=True)
    engine = create_engine(url)
    if not reuse:
        metadata.create_all(engine)
    engine.dispose()
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(root / "instance"),
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "PII_KEY": base64.urlsafe_b64encode(b"b" * 32).decode(),
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    if reuse:
        print(f"{size:>7} listings ({engine.dialect.name}, kept from an earlier run)")
        return app
    with app.app_context():
        db.session.add_all([Community(name=f"社区{i}", slug=f"c{i}") for i in range(10)])
        db.session.flush()
        db.session.execute(
            insert(User),
            [
                {"display_name": f"房东{i}", "role": "resident", "email": f"p{i}@x"}
                for i in range(100)
            ],
        )
        db.session.commit()
    t0 = time.perf_counter()
    grow(app, 0, size, random.Random(7))
    with app.app_context():
        if engine.dialect.name == "postgresql":
            # What autovacuum does after a bulk load: statistics, and the visibility map
            # that lets index-only scans skip the table.
            with app.extensions["portal.engine"].connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                    text("VACUUM ANALYZE listings, search_documents, users, communities")
                )
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
    print(f"{size:>7} listings ({engine.dialect.name}, insert {time.perf_counter() - t0:.1f} s)")
    return app


def main() -> None:
    """Each size has its own database; the requests of one query alternate between the
    sizes, so load from other processes on the machine hits every size alike."""
    if KEEP:
        root = Path(tempfile.gettempdir()) / "bench-jh-keep"
        root.mkdir(exist_ok=True)
    else:
        root = Path(tempfile.mkdtemp(prefix="bench-jh-"))
    apps = {size: make_app(size, root) for size in SIZES}
    statements = {"n": 0}

    def count(*_a: Any) -> None:
        statements["n"] += 1

    for app in apps.values():
        event.listen(app.extensions["portal.engine"], "before_cursor_execute", count)
    clients = {size: app.test_client() for size, app in apps.items()}
    results: dict[str, dict[int, tuple[float, float, int, int]]] = {}
    for label, path in QUERIES:
        if ONLY and not any(s in label for s in ONLY):
            continue
        samples: dict[int, list[float]] = {size: [] for size in SIZES}
        per_request: dict[int, int] = {}
        found: dict[int, int] = {}
        for size, client in clients.items():  # warm-up, statement count, match count
            api = path.replace("/board", "/api/v1/listings") if path.startswith("/b") else path
            resp = clients[size].get(api)
            assert resp.status_code == 200
            found[size] = resp.get_json()["total"]
            statements["n"] = 0
            assert client.get(path).status_code == 200
            per_request[size] = statements["n"]
        # As timeit does: no garbage collection inside the timed rounds (a full collection
        # of the three apps' objects, ~50 ms, landed on the same request of every run and
        # made that cell's p95, whatever its size); one collection before them instead.
        gc.collect()
        gc.disable()
        for _ in range(REPEAT):
            for size, client in clients.items():
                t = time.perf_counter()
                resp = client.get(path)
                samples[size].append((time.perf_counter() - t) * 1000)
                assert resp.status_code == 200
        gc.enable()
        print(label)
        for size in SIZES:
            p50, p95 = pct(samples[size], 50), pct(samples[size], 95)
            results.setdefault(label, {})[size] = (p50, p95, per_request[size], found[size])
            print(
                f"  {size:>7}: p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
                f"{per_request[size]} statements  {found[size]} matches"
            )
    first, last = SIZES[0], SIZES[-1]
    print(f"\np95 ratio {last} / {first}:")
    for label, by_size in results.items():
        print(f"  {label:<24} {by_size[last][1] / by_size[first][1]:.2f}x")
    base = os.environ.get("BENCH_DATABASE_URL")
    if base and not KEEP:  # leave the database as it was
        for app in apps.values():
            app.extensions["portal.engine"].dispose()
        engine = create_engine(base)
        with engine.begin() as conn:
            for size in SIZES:
                conn.execute(text(f"DROP SCHEMA IF EXISTS bench_{size} CASCADE"))
        engine.dispose()


if __name__ == "__main__":
    main()
