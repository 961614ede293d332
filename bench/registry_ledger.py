"""The officers' ledger (台帐) as it grows: 10k, 100k and 1,000,000 migrant records.

Builds a fresh database (PostgreSQL in a scratch database of its own, like the other
benchmarks; SQLite too with ``BENCH_BACKENDS=sqlite,postgresql``), 20 communities, an
officer serving the first and an admin, then grows the ledger in bulk (COPY on PostgreSQL,
``executemany`` on SQLite) to each size: migrant records (80% confirmed, 10% closed, 5%
pending, 3% rejected, 2% merged), one house per five records (200,000 at 1M), a MOVED_IN
event per registered record, a CONFIRMED and (closed records) a MOVED_OUT event, residence
permits for 70% of the registered. ID numbers and phones are real ciphertexts (a pool of
5,000 encrypted values reused, so building 1M rows stays in seconds; exports decrypt every
row all the same) with a distinct 64-hex look-up hash per person.

At each size it measures, with the Flask test client in-process (after one warm-up),
p50/p95 of: search by address prefix (a house of the officer's community), search by
name (a full name there), the default ledger page (officer; and admin, station-wide), the
figures page (reads the stored snapshot) and the JSON figures; once: recomputing the
snapshot (the ``registry-figures`` job). At the largest size it prints the
plans of the searches. Then, in a child process, the XLSX export of 100,000 rows through
the real route, streamed, with the child's peak RSS.

    PORTAL_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/registry_ledger.py
    BENCH_SIZES=10000,100000 BENCH_REPEAT=10 ...   # a quicker run
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_foundation import scratch_postgres  # noqa: E402  (one scratch database helper)

REPEAT = int(os.environ.get("BENCH_REPEAT", 30))
SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000,1000000").split(",")]
BACKENDS = os.environ.get("BENCH_BACKENDS", "postgresql").split(",")
EXPORT_ROWS = int(os.environ.get("BENCH_EXPORT_ROWS", 100_000))
COMMUNITIES = 20
PII_KEY = base64.urlsafe_b64encode(b"r" * 32).decode()
NOW = dt.datetime.now(dt.UTC)
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕建国建华志强春梅海燕"
ROADS = [f"{a}{b}路" for a in "天桥铁西东风胜利人民和平解放建设新华" for b in "东西南北中"][:60]


def pct(samples: list[float], p: int) -> float:
    return statistics.quantiles(samples, n=100)[p - 1] if len(samples) > 1 else samples[0]


def make_app(url: str, instance: Path) -> Any:
    from portal import create_app

    return create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "PII_KEY": PII_KEY,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )


# --- data ---------------------------------------------------------------------------------


def name_of(i: int) -> str:
    g = GIVEN[(i * 7) % len(GIVEN)] + GIVEN[(i * 13 + i // 97) % len(GIVEN)]
    return SURNAMES[i % len(SURNAMES)] + g


def house_of(i: int, n_houses: int) -> int:
    """Migrant i lives in house k; house k is in community k % COMMUNITIES."""
    return (i * 7919) % n_houses


def house_address(k: int) -> str:
    return f"{ROADS[(k // COMMUNITIES) % len(ROADS)]}{k // (COMMUNITIES * len(ROADS)) + 1}号"


def status_of(i: int) -> str:
    r = i % 100
    if r < 80:
        return "confirmed"
    if r < 90:
        return "closed"
    if r < 95:
        return "pending"
    if r < 98:
        return "rejected"
    return "merged"


class Pool:
    """Real ciphertexts of ID numbers and phones, reused cyclically."""

    def __init__(self, app: Any, n: int = 5000) -> None:
        from portal.security.pii import cipher

        with app.app_context():
            c = cipher()
            self.ids = [c.encrypt(f"1101051990{j:07d}X"[:18]) for j in range(n)]
            self.phones = [c.encrypt(f"139{j:08d}") for j in range(n)]


def house_rows(start: int, stop: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    from portal.registry.models import normalise_address

    for k in range(start, stop):
        address = house_address(k)
        created = NOW - dt.timedelta(days=rng.randint(30, 1800))
        pledged = created + dt.timedelta(days=1) if k % 10 else None
        closed = created + dt.timedelta(days=20) if k % 20 == 7 else None
        yield (
            k + 1,
            k % COMMUNITIES + 1,
            address,
            normalise_address(address),
            rng.randint(1, 4),
            pledged,
            created,
            closed,
        )


HOUSE_COLS = (
    "id",
    "community_id",
    "address",
    "address_key",
    "rooms",
    "pledge_signed_at",
    "created_at",
    "closed_at",
)
MIGRANT_COLS = (
    "id",
    "community_id",
    "status",
    "source",
    "name",
    "id_number",
    "id_hash",
    "region",
    "phone",
    "phone_hash",
    "address",
    "address_key",
    "house_id",
    "workplace",
    "since",
    "reviewed_at",
    "closed_at",
    "created_at",
    "updated_at",
)
EVENT_COLS = ("community_id", "migrant_id", "kind", "at", "detail", "created_at")
PERMIT_COLS = ("migrant_id", "applicant_id", "status", "applied_at", "updated_at", "collected_at")


def migrant_batch(
    start: int, stop: int, n_houses: int, pool: Pool, rng: random.Random
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    from portal.registry.models import normalise_address

    migrants, events, permits = [], [], []
    for i in range(start, stop):
        k = house_of(i, n_houses)
        community = k % COMMUNITIES + 1
        status = status_of(i)
        if status == "pending":
            created = NOW - dt.timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 1440))
        else:
            created = NOW - dt.timedelta(days=rng.randint(70, 1800), minutes=rng.randint(0, 1440))
        since = (created - dt.timedelta(days=rng.randint(0, 30))).date()
        reviewed = None if status == "pending" else created + dt.timedelta(days=2)
        closed = None
        if status == "closed":
            closed = min(reviewed + dt.timedelta(days=rng.randint(30, 1000)), NOW)
        address = f"{house_address(k)}{rng.randint(1, 6)}0{rng.randint(1, 4)}室"
        person = hashlib.sha256(f"person-{i}".encode()).hexdigest()
        migrants.append(
            (
                i + 1,
                community,
                status,
                "rental",
                name_of(i),
                pool.ids[i % len(pool.ids)],
                person,
                "110105",
                pool.phones[i % len(pool.phones)],
                hashlib.sha256(f"phone-{i}".encode()).hexdigest(),
                address,
                normalise_address(address),
                k + 1,
                f"用工单位{i % 500}",
                since,
                reviewed,
                closed,
                created,
                created,
            )
        )
        if status in ("confirmed", "closed"):
            moved_in = dt.datetime.combine(since, dt.time(), dt.UTC) - dt.timedelta(hours=8)
            events.append((community, i + 1, "confirmed", reviewed, "{}", reviewed))
            events.append((community, i + 1, "moved_in", moved_in, "{}", reviewed))
            if closed is not None:
                events.append((community, i + 1, "moved_out", closed, "{}", closed))
                events.append((community, i + 1, "closed", closed, "{}", closed))
            elif i % 10 < 7:
                state = ("ready", "collected", "collected", "making")[i % 4]
                updated = reviewed + dt.timedelta(days=rng.randint(20, 60))
                permits.append(
                    (
                        i + 1,
                        1,
                        state,
                        reviewed + dt.timedelta(days=5),
                        min(updated, NOW),
                        min(updated, NOW) if state == "collected" else None,
                    )
                )
    return migrants, events, permits


def bulk(engine: Engine, table: str, cols: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """COPY on PostgreSQL, executemany on SQLite (values in SQLAlchemy's SQLite format)."""
    if not rows:
        return
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "postgresql":
            with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:

            def sqlite_value(v: Any) -> Any:
                if isinstance(v, dt.datetime):
                    return v.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                if isinstance(v, dt.date):
                    return v.isoformat()
                return v

            cur.execute("BEGIN")
            cur.executemany(
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [tuple(sqlite_value(v) for v in row) for row in rows],
            )
        raw.commit()
    finally:
        raw.close()


def grow(engine: Engine, have: int, size: int, pool: Pool, rng: random.Random) -> None:
    h_have, h_size = max(have // 5, 0), size // 5
    bulk(engine, "registry_houses", HOUSE_COLS, list(house_rows(h_have, h_size, rng)))
    step = 50_000
    for start in range(have, size, step):
        m, e, p = migrant_batch(start, min(start + step, size), h_size, pool, rng)
        bulk(engine, "registry_migrants", MIGRANT_COLS, m)
        bulk(engine, "registry_events", EVENT_COLS, e)
        bulk(engine, "registry_permits", PERMIT_COLS, p)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


# --- measuring ----------------------------------------------------------------------------


def sample_targets(engine: Engine) -> dict[str, str]:
    """A house address and a full name in community 1 (the officer's)."""
    with engine.connect() as conn:
        name = conn.execute(
            text(
                "SELECT name FROM registry_migrants WHERE community_id = 1 "
                "AND status = 'confirmed' ORDER BY id DESC LIMIT 1"
            )
        ).scalar_one()
        address = conn.execute(
            text("SELECT address FROM registry_houses WHERE community_id = 1 ORDER BY id LIMIT 1")
        ).scalar_one()
    return {"name": name, "address": address}


def explain(engine: Engine, app: Any) -> None:
    """The plans of the ledger's searches, as the app builds them (``EXPLAIN`` on
    PostgreSQL, ``EXPLAIN QUERY PLAN`` on SQLite)."""
    from portal.accounts.models import User
    from portal.db import db
    from portal.registry import ledger

    targets = sample_targets(engine)
    with app.test_request_context():
        officer = db.session.get(User, 1)
        admin = db.session.get(User, 2)
        cases = [
            ("address prefix", officer, {"address": targets["address"]}),
            ("name", officer, {"name": targets["name"]}),
            ("surname", officer, {"name": targets["name"][:1]}),
            ("default page", officer, {}),
            ("default page, admin", admin, {}),
        ]
        for label, user, args in cases:
            f = ledger.LedgerFilter.from_args(args, user)
            stmt = ledger.ledger_select(f).limit(ledger.PER_PAGE)
            sql = stmt.compile(engine, compile_kwargs={"literal_binds": True})
            # The session's own connection: on SQLite a second one would wait for its lock.
            if engine.dialect.name == "sqlite":
                rows = db.session.execute(text(f"EXPLAIN QUERY PLAN {sql}")).all()
                plan = [row[-1] for row in rows]
            else:
                plan = db.session.execute(text(f"EXPLAIN {sql}")).scalars().all()
            print(f"  plan: {label}")
            for row in plan[:8]:
                print(f"    {row}")


def setup_people(app: Any) -> None:
    from portal.accounts.models import Role, User
    from portal.communities.models import Community
    from portal.db import db

    with app.app_context():
        db.session.execute(
            insert(Community),
            [
                {"id": i + 1, "name": f"社区{i + 1}", "slug": f"c{i + 1}", "district": "区"}
                for i in range(COMMUNITIES)
            ],
        )
        officer = User(
            id=1, display_name="民警", role=Role.OFFICER, email="officer@x", password_hash="x"
        )
        admin = User(id=2, display_name="管理员", role=Role.ADMIN, email="admin@x")
        db.session.add_all([officer, admin])
        db.session.flush()
        officer.served_communities = [db.session.get(Community, 1)]
        db.session.commit()


def login_as(app: Any, user_id: int) -> Any:
    """A test client logged in through a real server-side session."""
    from flask import session

    from portal.accounts.models import User
    from portal.accounts.services import start_session
    from portal.db import db

    client = app.test_client()
    with app.test_request_context():
        start_session(db.session.get(User, user_id))
        token = session["sid"]
        db.session.commit()
    with client.session_transaction() as sess:
        sess["sid"] = token
        sess.permanent = True
    return client


@dataclass
class Ledger:
    """One database of one size, with its app and logged-in clients."""

    size: int
    url: str
    instance: Path
    app: Any
    officer: Any
    admin: Any
    targets: dict[str, str]
    built: float
    refresh_ms: float


def build(size: int, url: str, instance: Path) -> Ledger:
    """A fresh database grown to ``size`` records, its figures snapshot computed."""
    from portal.db import db
    from portal.models import metadata
    from portal.registry import figures

    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    app = make_app(url, instance)
    setup_people(app)
    engine = app.extensions["portal.engine"]
    t0 = time.perf_counter()
    grow(engine, 0, size, Pool(app), random.Random(11))
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    with app.app_context():
        figures.refresh()
        db.session.commit()
    refresh_ms = (time.perf_counter() - t0) * 1000
    return Ledger(
        size,
        url,
        instance,
        app,
        login_as(app, 1),
        login_as(app, 2),
        sample_targets(engine),
        built,
        refresh_ms,
    )


def queries(led: Ledger) -> list[tuple[str, Any, str]]:
    t, url = led.targets, "/backoffice/registry/ledger"
    return [
        ("address prefix", led.officer, f"{url}?address={t['address']}"),
        ("name", led.officer, f"{url}?name={t['name']}"),
        ("default page", led.officer, url),
        ("default page (admin)", led.admin, url),
        ("page 40", led.officer, f"{url}?page=40"),
        ("figures page", led.officer, "/backoffice/registry/figures"),
        ("figures API", led.admin, "/api/v1/registry/figures"),
        ("search API, surname", led.officer, f"/api/v1/registry/ledger?name={t['name'][:1]}"),
    ]


def run(label: str, make_url_for: Any, instance: Path) -> None:
    """Build one database per size, then measure the sizes interleaved (request i on 10k,
    then on 100k, then on 1M, …), so a change in the shared machine's load hits every size
    alike instead of whichever was being measured at the time."""
    print(f"\n== {label}")
    ledgers = []
    for size in SIZES:
        led = build(size, make_url_for(size), instance / str(size))
        ledgers.append(led)
        print(
            f"{size:>9,} records: built in {led.built:.1f} s; "
            f"figures snapshot (the 10-minute job) {led.refresh_ms:,.0f} ms"
        )
    results: dict[str, dict[int, list[float]]] = {}
    for i, (name, _c, _p) in enumerate(queries(ledgers[0])):
        for led in ledgers:
            _n, client, path = queries(led)[i]
            assert client.get(path).status_code == 200, (name, path)
        for _ in range(REPEAT):
            for led in ledgers:
                _n, client, path = queries(led)[i]
                t = time.perf_counter()
                resp = client.get(path)
                results.setdefault(name, {}).setdefault(led.size, []).append(
                    (time.perf_counter() - t) * 1000
                )
                assert resp.status_code == 200
    head = "".join(f"{s:>22,}" for s in SIZES)
    print(f"  {'p50 / p95 ms':<22}{head}   p95 ratio {SIZES[-1]:,}/{SIZES[0]:,}")
    for name, by_size in results.items():
        cells = "".join(f"{pct(by_size[s], 50):>12.1f} /{pct(by_size[s], 95):>7.1f}" for s in SIZES)
        ratio = pct(by_size[SIZES[-1]], 95) / pct(by_size[SIZES[0]], 95)
        print(f"  {name:<22}{cells}   {ratio:.2f}x")
    biggest = ledgers[-1]
    explain(biggest.app.extensions["portal.engine"], biggest.app)
    if EXPORT_ROWS and biggest.size >= EXPORT_ROWS:
        export_in_child(biggest.url, biggest.instance)
    for led in ledgers:
        led.app.extensions["portal.engine"].dispose()


def export_in_child(url: str, instance: Path) -> None:
    """The XLSX export of EXPORT_ROWS rows in a fresh process: time and peak RSS."""
    out = subprocess.run(
        [sys.executable, __file__, "--export-child", url, str(instance)],
        capture_output=True,
        text=True,
    )
    if out.returncode:
        print("export child failed:\n" + out.stderr[-3000:])
        return
    info = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"XLSX export of {info['rows']:,} rows: {info['seconds']:.1f} s, "
        f"{info['bytes'] / 1e6:.1f} MB file, first byte after {info['first_byte']:.1f} s; "
        f"peak RSS {info['peak_mb']:.0f} MB (before the export {info['base_mb']:.0f} MB, "
        f"+{info['peak_mb'] - info['base_mb']:.0f} MB)"
    )


def peak_rss_mb() -> float:
    """The process's peak resident set (VmHWM: reset by exec, unlike ru_maxrss, which a
    child inherits from the benchmark that forked it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def export_child(url: str, instance: str) -> None:
    app = make_app(url, Path(instance))
    admin = login_as(app, 2)
    with app.app_context():
        from portal.db import db

        # The move-in date from which the ledger holds about EXPORT_ROWS confirmed records.
        since = db.session.execute(
            text(
                "SELECT since FROM registry_migrants WHERE status = 'confirmed' "
                "ORDER BY since DESC LIMIT 1 OFFSET :n"
            ),
            {"n": EXPORT_ROWS},
        ).scalar()
    path = "/backoffice/registry/ledger/export.xlsx?status="
    if since is not None:
        path = f"/backoffice/registry/ledger/export.xlsx?date_from={since}"
    base = peak_rss_mb()
    t0 = time.perf_counter()
    resp = admin.get(path, buffered=False)
    size, first = 0, None
    for chunk in resp.response:
        if first is None:
            first = time.perf_counter() - t0
        size += len(chunk)
    seconds = time.perf_counter() - t0
    rows = int(resp.headers["X-Row-Count"])
    resp.close()
    peak = peak_rss_mb()
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": seconds,
                "bytes": size,
                "first_byte": first or 0.0,
                "base_mb": base,
                "peak_mb": peak,
            }
        )
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--export-child":
        export_child(sys.argv[2], sys.argv[3])
        return
    started = time.perf_counter()
    print(f"registry ledger benchmark — {dt.datetime.now():%Y-%m-%d %H:%M}, sizes {SIZES}")
    with tempfile.TemporaryDirectory(prefix="portal-bench-ledger-") as tmp:
        if "sqlite" in BACKENDS:
            run("SQLite", lambda size: f"sqlite:///{tmp}/bench-{size}.db", Path(tmp) / "sq")
        if "postgresql" in BACKENDS:
            pg = os.environ.get("PORTAL_TEST_DATABASE_URL")
            if not pg:
                print("PostgreSQL skipped: set PORTAL_TEST_DATABASE_URL")
            else:
                with ExitStack() as stack:

                    def scratch(size: int) -> str:
                        return stack.enter_context(scratch_postgres(pg, f"_{size}"))

                    run("PostgreSQL", scratch, Path(tmp) / "pg")
    print(f"\nwhole run {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
