"""Foundation benchmark: a station with 20,000 residents and 20,000 identity verifications.

Not a test: it prints figures (run it with ``make bench``; the results go into
bench/README.md by hand). It builds the app on a temporary SQLite database, and on
PostgreSQL too when ``PORTAL_TEST_DATABASE_URL`` is set, then measures:

* p50/p95 latency of the pages and API calls an officer or a visitor hits most
  (the verification queue, the home page, the community list in the API);
* how many SQL statements one request runs, so an N+1 shows up as a count that grows
  with the number of rows on the page;
* the cost of the security primitives: an argon2id hash, AES-GCM encrypt + decrypt,
  and finding one ID number among 20,000 by its blind index.

On PostgreSQL the benchmark never touches the database named in ``PORTAL_TEST_DATABASE_URL``
(the test suite may be using it): it connects there only to ``CREATE DATABASE
portal_bench_<pid>`` on the same server, runs in that new database, and drops it at the
end. The role therefore needs the CREATEDB privilege.

Environment: BENCH_ROWS (default 20000) and BENCH_REPEAT (default 40 requests per page).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import platform
import re
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, insert, select, text
from sqlalchemy.engine import Engine, make_url

from portal import create_app
from portal.accounts.models import IdentityVerification, Role, User, VerificationStatus
from portal.accounts.passwords import hash_password
from portal.communities.models import (
    Community,
    OfficerProfile,
    OfficerStatus,
    community_officers,
)
from portal.db import db
from portal.models import metadata
from portal.security.idnumbers import resident_id_check_char
from portal.security.pii import cipher, id_index, phone_index

ROWS = int(os.environ.get("BENCH_ROWS", "20000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "40"))
COMMUNITIES = 10
OFFICER_LOGIN = "officer@bench.local"
ADMIN_LOGIN = "admin@bench.local"
PASSWORD = "bench-password-1"
PII_KEY = base64.urlsafe_b64encode(b"b" * 32).decode()  # a fixed throw-away key


# ---------------------------------------------------------------------------- helpers


def pct(samples: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of samples, in milliseconds."""
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k] * 1000


def line(label: str, value: str) -> None:
    print(f"  {label:<58} {value}")


def engine_of(app: Any) -> Engine:
    """The app's own engine (``db.engine`` is the same object, inside an app context)."""
    return app.extensions["portal.engine"]


@contextmanager
def counting_statements(engine: Engine) -> Iterator[list[str]]:
    """Collect every SQL statement the engine sends while the block runs."""
    seen: list[str] = []

    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", _count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", _count)


def queries_only(statements: list[str]) -> list[str]:
    """Statements without the transaction bookkeeping (BEGIN, COMMIT, SAVEPOINT ...)."""
    skip = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
    return [s for s in statements if not s.lstrip().upper().startswith(skip)]


def timed_get(client: Any, url: str, n: int = REPEAT) -> list[float]:
    """Time n GETs of url (after one warm-up), checking each answered 200."""
    client.get(url)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        resp = client.get(url)
        samples.append(time.perf_counter() - t0)
        if resp.status_code != 200:
            raise SystemExit(f"GET {url} answered {resp.status_code}")
    return samples


def report_latency(label: str, samples: list[float]) -> None:
    line(label, f"p50 {pct(samples, 50):7.1f} ms   p95 {pct(samples, 95):7.1f} ms")


def statements_per_request(engine: Engine, client: Any, url: str) -> str:
    """SQL queries (without BEGIN/COMMIT) one GET of url runs, flagging repeats.

    The same statement run more than twice in one request is how an N+1 looks: one
    lazy load per row shown.
    """
    with counting_statements(engine) as seen:
        resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    queries = queries_only(seen)
    out = str(len(queries))
    statement, times = Counter(queries).most_common(1)[0] if queries else ("", 0)
    if times > 2:
        found = re.search(r"\bFROM\s+(\w+)", statement)
        table = found.group(1) if found else "?"
        out += f"   <- N+1: same SELECT ... FROM {table} x{times}"
    return out


# ---------------------------------------------------------------------------- data


def resident_id(i: int) -> str:
    """A distinct valid ID number per i: region 220302, a birth date and a sequence."""
    born = dt.date(1950, 1, 1) + dt.timedelta(days=i // 900)
    first17 = f"220302{born:%Y%m%d}{i % 900 + 100:03d}"
    return first17 + resident_id_check_char(first17)


def phone(i: int) -> str:
    return f"139{i:08d}"


def seed(app: Any) -> dict[str, Any]:
    """Schema, communities, an officer and an admin, then ROWS residents and verifications.

    Statuses are mixed as a live station would have them: 30% pending, 60% approved,
    10% rejected, in every community. Residents are spread evenly over the communities;
    1 in 50 has none (they are in every officer's reach).
    """
    facts: dict[str, Any] = {}
    with app.app_context():
        metadata.create_all(db.engine)
        s = db.session
        communities = [
            Community(
                name=f"压测社区{n}",
                slug=f"bench{n}",
                district="压测区",
                office_address=f"压测社区{n}警务室",
            )
            for n in range(COMMUNITIES)
        ]
        s.add_all(communities)
        s.flush()
        pw = hash_password(PASSWORD)
        officer = User(
            email=OFFICER_LOGIN,
            display_name="压测民警",
            role=Role.OFFICER,
            password_hash=pw,
            community_id=communities[0].id,
        )
        admin = User(
            email=ADMIN_LOGIN, display_name="压测管理员", role=Role.ADMIN, password_hash=pw
        )
        s.add_all([officer, admin])
        s.flush()
        s.add(
            OfficerProfile(
                user_id=officer.id, status=OfficerStatus.IN_OFFICE, office_hours="周一至周五"
            )
        )
        s.execute(
            insert(community_officers),
            [{"community_id": communities[0].id, "officer_id": officer.id}],
        )
        s.commit()
        community_ids = [c.id for c in communities]

        t0 = time.perf_counter()
        now = dt.datetime.now(dt.UTC)
        first_user = officer.id + 2  # after officer and admin
        users = []
        for i in range(ROWS):
            p = phone(i)
            users.append(
                {
                    "id": first_user + i,
                    "phone": p,
                    "phone_hash": phone_index(p),
                    "password_hash": pw,
                    "display_name": f"居民{i}",
                    "role": Role.RESIDENT,
                    "community_id": None if i % 50 == 1 else community_ids[(i // 10) % COMMUNITIES],
                    "is_active_account": True,
                    "created_at": now - dt.timedelta(minutes=ROWS - i),
                }
            )
        s.execute(insert(User), users)
        verifications = []
        pending, approved = VerificationStatus.PENDING, VerificationStatus.APPROVED
        statuses = [pending] * 3 + [approved] * 6 + [VerificationStatus.REJECTED]
        for i in range(ROWS):
            number = resident_id(i)
            p = phone(i)
            status = statuses[i % 10]
            verifications.append(
                {
                    "user_id": first_user + i,
                    "real_name": "张" + "伟芳娜敏静秀英"[i % 7] + ("" if i % 3 else "华"),
                    "id_number": number,
                    "id_number_hash": id_index(number),
                    "phone": p,
                    "phone_hash": phone_index(p),
                    "status": status,
                    "decided_by_id": officer.id if status != pending else None,
                    "decided_at": now if status != pending else None,
                    "expires_at": now + dt.timedelta(days=365) if status == approved else None,
                    "created_at": now - dt.timedelta(minutes=ROWS - i),
                }
            )
        s.execute(insert(IdentityVerification), verifications)
        s.commit()
        facts["insert_seconds"] = time.perf_counter() - t0
        facts["pending_officer"] = s.scalar(
            text(
                "SELECT count(*) FROM identity_verifications v JOIN users u ON u.id = v.user_id "
                "WHERE v.status = 'pending' AND (u.community_id = :c OR u.community_id IS NULL)"
            ),
            {"c": community_ids[0]},
        )
        facts["pending_all"] = s.scalar(
            text("SELECT count(*) FROM identity_verifications WHERE status = 'pending'")
        )
        facts["wanted_id"] = resident_id(ROWS // 2 + 7)
    return facts


# ---------------------------------------------------------------------------- measures


def bench_requests(app: Any, facts: dict[str, Any]) -> None:
    officer = app.test_client()
    resp = officer.post("/login", data={"login": OFFICER_LOGIN, "password": PASSWORD})
    if resp.status_code != 302:
        raise SystemExit(f"officer login failed: {resp.status_code}")
    admin = app.test_client()
    admin.post("/login", data={"login": ADMIN_LOGIN, "password": PASSWORD})
    visitor = app.test_client()

    print(
        f"\n  officer's pending queue: {facts['pending_officer']} rows "
        f"(all pending: {facts['pending_all']})"
    )
    last = max(1, -(-facts["pending_officer"] // 20))
    pages: list[tuple[str, Any, str]] = [
        ("GET /backoffice/verifications (officer, page 1)", officer, "/backoffice/verifications"),
        (
            f"GET /backoffice/verifications?page={last} (officer, last)",
            officer,
            f"/backoffice/verifications?page={last}",
        ),
        (
            "GET /backoffice/verifications?status=approved (officer)",
            officer,
            "/backoffice/verifications?status=approved",
        ),
        (
            "GET /backoffice/verifications (admin, all communities)",
            admin,
            "/backoffice/verifications",
        ),
        ("GET /backoffice/ (officer dashboard)", officer, "/backoffice/"),
        ("GET / (visitor)", visitor, "/"),
        ("GET / (officer, logged in)", officer, "/"),
        ("GET /api/v1/communities (visitor)", visitor, "/api/v1/communities"),
    ]
    print(f"\n  latency (Flask test client, in process; {REPEAT} requests each)")
    for label, client, url in pages:
        report_latency(label, timed_get(client, url))

    print("\n  SQL statements per request (BEGIN/COMMIT not counted)")
    engine = engine_of(app)
    for label, client, url in pages:
        line(label, statements_per_request(engine, client, url))
    # N+1 check: the same page with few rows must run as many statements as with 20.
    few = statements_per_request(engine, officer, "/backoffice/verifications?page=100000")
    line("GET /backoffice/verifications?page=100000 (officer, 0 rows)", few)


def bench_primitives(app: Any, facts: dict[str, Any]) -> None:
    with app.app_context():
        print("\n  security primitives")
        samples = []
        for _ in range(5):
            t0 = time.perf_counter()
            hash_password("correct horse battery staple")
            samples.append(time.perf_counter() - t0)
        median_ms = statistics.median(samples) * 1000
        line("argon2id hash (m=19 MiB, t=2, p=1)", f"median {median_ms:.1f} ms")

        c = cipher()
        values = [resident_id(i) for i in range(ROWS)]
        t0 = time.perf_counter()
        tokens = [c.encrypt(v) for v in values]
        t_enc = time.perf_counter() - t0
        t0 = time.perf_counter()
        back = [c.decrypt(t) for t in tokens]
        t_dec = time.perf_counter() - t0
        assert back == values
        line(
            f"AES-GCM encrypt ({ROWS} IDs)",
            f"{ROWS / t_enc:,.0f}/s ({t_enc / ROWS * 1e6:.1f} µs each)",
        )
        line(
            f"AES-GCM decrypt ({ROWS} IDs)",
            f"{ROWS / t_dec:,.0f}/s ({t_dec / ROWS * 1e6:.1f} µs each)",
        )
        t0 = time.perf_counter()
        for v in values[:5000]:
            c.blind_index("id", v)
        t_idx = (time.perf_counter() - t0) / 5000
        line("HMAC-SHA256 blind index", f"{t_idx * 1e6:.1f} µs each")

        wanted = facts["wanted_id"]
        samples = []
        for _ in range(50):
            t0 = time.perf_counter()
            found = db.session.scalars(
                select(IdentityVerification).where(
                    IdentityVerification.id_number_hash == id_index(wanted)
                )
            ).all()
            samples.append(time.perf_counter() - t0)
            db.session.rollback()
        assert len(found) == 1 and found[0].id_number == wanted
        line(
            f"find one ID among {ROWS} by blind index (hash + query + decrypt)",
            f"p50 {pct(samples, 50):.2f} ms   p95 {pct(samples, 95):.2f} ms",
        )

        t0 = time.perf_counter()
        matches = [
            row_id
            for row_id, token in db.session.execute(
                text("SELECT id, id_number FROM identity_verifications")
            )
            if c.decrypt(token) == wanted
        ]
        t_scan = time.perf_counter() - t0
        db.session.rollback()
        assert len(matches) == 1
        line(f"  for comparison: decrypt-and-scan all {ROWS} rows", f"{t_scan * 1000:.0f} ms")


def run(label: str, url: str, instance: Path) -> None:
    print(f"\n== {label} ==")
    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-secret",
            "PII_KEY": PII_KEY,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    t0 = time.perf_counter()
    facts = seed(app)
    line(
        f"insert {ROWS} users + {ROWS} verifications (encrypted, bulk)",
        f"{facts['insert_seconds']:.1f} s",
    )
    bench_requests(app, facts)
    bench_primitives(app, facts)
    line(f"total for {label}", f"{time.perf_counter() - t0:.0f} s")
    with app.app_context():
        db.session.remove()
    engine_of(app).dispose()


@contextmanager
def scratch_postgres(url: str, suffix: str = "") -> Iterator[str]:
    """A new, empty database beside the one ``url`` names; dropped afterwards.

    The database in ``url`` itself is only connected to, never changed, so the benchmark
    can run while the test suite uses it.
    """
    name = f"portal_bench_{os.getpid()}{suffix}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def main() -> None:
    started = time.perf_counter()
    print(
        f"portal foundation benchmark — {dt.datetime.now():%Y-%m-%d %H:%M}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, rows={ROWS}"
    )
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        run("SQLite", f"sqlite:///{tmp}/bench.db", Path(tmp) / "instance")
        pg = os.environ.get("PORTAL_TEST_DATABASE_URL")
        if pg:
            with scratch_postgres(pg) as scratch:
                run("PostgreSQL", scratch, Path(tmp) / "instance-pg")
        else:
            print("\n(PostgreSQL skipped: set PORTAL_TEST_DATABASE_URL to include it)")
    print(f"\ndone in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
