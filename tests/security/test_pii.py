"""Personal data: encrypted at rest, masked on screen, revealed only on purpose and audited."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from portal.db import db
from portal.security.models import AuditEntry, AuditLogIsAppendOnly
from portal.security.pii import PiiCipher, mask_id, mask_name, mask_phone
from tests.conftest import TEST_PII_KEY, login, valid_id

ID1 = valid_id("11010519491231002")


def test_masks():
    assert mask_id("11010519491231002X") == "110105********002X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("张三") == "张*" and mask_name("欧阳娜娜") == "欧阳**"
    assert mask_id(None) == "" and mask_phone("") == ""


def test_cipher_roundtrip_random_nonce_and_keyed_index():
    c = PiiCipher(TEST_PII_KEY)
    a, b = c.encrypt(ID1), c.encrypt(ID1)
    assert a != b and c.decrypt(a) == ID1 == c.decrypt(b)
    assert ID1 not in a
    assert c.blind_index("id", ID1) == c.blind_index("id", ID1)
    assert c.blind_index("id", ID1) != c.blind_index("phone", ID1)
    other = PiiCipher("b" * 43 + "=")
    assert other.blind_index("id", ID1) != c.blind_index("id", ID1)
    from cryptography.exceptions import InvalidTag

    with pytest.raises(InvalidTag):
        other.decrypt(a)
    with pytest.raises(ValueError):
        PiiCipher("too-short")


def _submit(client, id_number=ID1, phone="13912345678"):
    return client.post(
        "/account/verify",
        data={"real_name": "张三", "id_number": id_number, "phone": phone, "consent": "y"},
    )


def test_database_bytes_hold_no_plaintext(client, app, world, database_url):
    login(client, "resident@example.com")
    assert _submit(client).status_code == 302
    with app.app_context():
        rows = db.session.execute(
            text("SELECT id_number, phone, id_number_hash FROM identity_verifications")
        ).all()
        assert rows and all(ID1 not in "".join(map(str, r)) for r in rows)
        if database_url.startswith("postgresql"):
            dump = db.session.execute(
                text("SELECT string_agg(t::text, '') FROM identity_verifications t")
            ).scalar()
            assert ID1 not in dump and "13912345678" not in dump
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        blob = path.read_bytes() + (
            Path(str(path) + "-wal").read_bytes() if Path(str(path) + "-wal").exists() else b""
        )
        assert ID1.encode() not in blob
        assert b"13912345678" not in blob
        assert ID1[:6].encode() + b"19491231" not in blob


def test_masked_everywhere_for_resident_and_officer(client, app, world):
    login(client, "resident@example.com")
    _submit(client)
    masked = "110105********" + ID1[-4:]
    pages = [client.get("/account"), client.get("/api/v1/verification")]
    officer = app.test_client()
    login(officer, "officer@example.com")
    with app.app_context():
        vid = db.session.scalar(text("SELECT id FROM identity_verifications"))
    pages += [
        officer.get("/backoffice/verifications"),
        officer.get(f"/backoffice/verifications/{vid}"),
        officer.get("/backoffice/"),
        officer.get("/backoffice/audit"),
    ]
    for resp in pages:
        body = resp.get_data(as_text=True)
        assert resp.status_code == 200
        assert ID1 not in body and "13912345678" not in body, resp.request.path
    assert masked in pages[0].get_data(as_text=True)
    assert masked in pages[3].get_data(as_text=True)
    assert "139****5678" in pages[3].get_data(as_text=True)


def test_reveal_shows_value_and_writes_audit(client, app, world):
    login(client, "resident@example.com")
    _submit(client)
    officer = app.test_client()
    login(officer, "officer@example.com")
    with app.app_context():
        vid = db.session.scalar(text("SELECT id FROM identity_verifications"))
    resp = officer.post(f"/backoffice/verifications/{vid}/reveal/id_number")
    assert resp.status_code == 200 and ID1 in resp.get_data(as_text=True)
    assert resp.headers["Cache-Control"] == "no-store"
    resp = officer.post(f"/backoffice/verifications/{vid}/reveal/phone")
    assert "13912345678" in resp.get_data(as_text=True)
    assert officer.post(f"/backoffice/verifications/{vid}/reveal/password_hash").status_code == 404
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        reveals = [e for e in entries if e.action.startswith("pii.reveal")]
        assert [e.action for e in reveals] == ["pii.reveal.id_number", "pii.reveal.phone"]
        assert all(
            e.actor_id == world["officer"]
            and e.subject_user_id == world["resident"]
            and e.ip_address
            for e in reveals
        )
    log = officer.get("/backoffice/audit?action=pii.reveal").get_data(as_text=True)
    assert "pii.reveal.id_number" in log and "王警官" in log
    # A resident cannot reveal, nor can an officer of another community.
    assert client.post(f"/backoffice/verifications/{vid}/reveal/id_number").status_code == 403
    other = app.test_client()
    login(other, "officer2@example.com")
    assert other.post(f"/backoffice/verifications/{vid}/reveal/id_number").status_code == 403


def test_audit_log_is_append_only(app, world):
    from portal.accounts.models import User
    from portal.security import audit

    with app.test_request_context():
        officer = db.session.get(User, world["officer"])
        entry = audit.record(officer, "test.action", subject=officer)
        db.session.commit()
        entry.action = "changed"
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.get(AuditEntry, entry.id))
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.flush()
        db.session.rollback()
    # And the app offers no route that edits or deletes entries.
    rules = [r for r in app.url_map.iter_rules() if "audit" in r.rule]
    assert all(r.methods <= {"GET", "HEAD", "OPTIONS"} for r in rules)


def test_audit_filters(client, app, world):
    from portal.accounts.models import User
    from portal.security import audit

    with app.test_request_context():
        officer = db.session.get(User, world["officer"])
        resident = db.session.get(User, world["resident"])
        audit.record(officer, "verification.approve", subject=resident)
        audit.record(officer, "pii.reveal.phone", subject=resident)
        db.session.commit()
    login(client, "officer@example.com")
    html = client.get("/backoffice/audit?action=verification").get_data(as_text=True)
    assert "verification.approve" in html and "<code>pii.reveal.phone</code>" not in html
    html = client.get(f"/backoffice/audit?subject={world['resident']}&actor=王").get_data(
        as_text=True
    )
    assert "<code>pii.reveal.phone</code>" in html
    resp = client.get("/backoffice/audit?since=not-a-date&subject=abc")
    assert resp.status_code == 200
