"""Board search as the data grows: 1k, 10k and 100k listings (SQLite, in-process).

Builds a fresh SQLite database, 10 communities, 100 posters, then grows the listings table
in bulk (80% live, half rentals, half jobs) and measures, after one warm-up, p50/p95 of
the public search page and API under several filters, with the SQL statement count per
request. Goal from the issue: p95 at 100k no more than 2x the p95 at 1k.

    .venv/bin/python bench/jobs_housing_search.py        # BENCH_REPEAT=30 by default
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, insert, text

from portal import create_app
from portal.accounts.models import User
from portal.communities.models import Community
from portal.db import db
from portal.jobs_housing.models import Listing
from portal.models import metadata

REPEAT = int(os.environ.get("BENCH_REPEAT", 20))
SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "1000,10000,100000").split(",")]
QUERIES = [
    ("page newest", "/board"),
    ("page rentals by price", "/board?kind=rental&sort=price"),
    ("page community+range", "/board?community=3&min=1000&max=2000"),
    ("page page 20", "/board?page=20"),
    ("api jobs+housing", "/api/v1/listings?kind=job&housing=1"),
    ("api rooms=2 by price", "/api/v1/listings?kind=rental&rooms=2&sort=price_desc"),
    ("api no match", "/api/v1/listings?kind=rental&rooms=9"),
]


def pct(samples: list[float], p: float) -> float:
    return statistics.quantiles(samples, n=100)[p - 1] if len(samples) > 1 else samples[0]


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
                "title": f"房源或岗位 {i}",
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
        db.session.commit()


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-jh-"))
    url = f"sqlite:///{root / 'bench.db'}"
    engine = create_engine(url)
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
    statements = {"n": 0}

    def count(*_a: Any) -> None:
        statements["n"] += 1

    event.listen(app.extensions["portal.engine"], "before_cursor_execute", count)
    client = app.test_client()
    rng = random.Random(7)
    have = 0
    results: dict[str, dict[int, tuple[float, float, int]]] = {}
    for size in SIZES:
        t0 = time.perf_counter()
        grow(app, have, size, rng)
        have = size
        with app.app_context():
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        print(f"{size:>7} listings (insert {time.perf_counter() - t0:.1f} s)")
        for label, path in QUERIES:
            assert client.get(path).status_code == 200
            samples = []
            for _ in range(REPEAT):
                statements["n"] = 0
                t = time.perf_counter()
                resp = client.get(path)
                samples.append((time.perf_counter() - t) * 1000)
                assert resp.status_code == 200
            results.setdefault(label, {})[size] = (
                pct(samples, 50),
                pct(samples, 95),
                statements["n"],
            )
            p50, p95, n = results[label][size]
            print(f"  {label:<24} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  {n} statements")
    first, last = SIZES[0], SIZES[-1]
    print(f"\np95 ratio {last} / {first}:")
    for label, by_size in results.items():
        print(f"  {label:<24} {by_size[last][1] / by_size[first][1]:.2f}x")


if __name__ == "__main__":
    main()
