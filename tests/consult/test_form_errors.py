"""A rejected follow-up, reopen, rating, reply or note re-renders the page with the error
shown and the typed text kept, and changes nothing."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from portal.consult.models import Consultation, ConsultMessage, ConsultStatus
from portal.db import db
from tests.conftest import login
from tests.consult.conftest import ask_as


def _setup(app, status: ConsultStatus | None = None, answered: bool = False):
    resident, officer = app.test_client(), app.test_client()
    login(resident, "resident@example.com")
    login(officer, "officer@example.com")
    ask_as(resident)
    with app.app_context():
        cid = db.session.scalar(select(Consultation.id).order_by(Consultation.id.desc()))
    if answered:
        assert (
            officer.post(f"/backoffice/consult/{cid}/reply", data={"body": "已答复"}).status_code
            == 303
        )
    if status == ConsultStatus.CLOSED:
        assert resident.post(f"/consult/{cid}/close").status_code == 303
    return resident, officer, cid


def _messages(app, cid) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(ConsultMessage.id)).where(ConsultMessage.consultation_id == cid)
        )


def _textarea(page: str, name: str) -> str:
    """The text inside the named textarea (unescaped)."""
    m = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    assert m, f"no textarea {name}"
    return html.unescape(m.group(1)).strip()


def test_follow_up_on_a_closed_question_keeps_the_text(app, world, clock):
    resident, _officer, cid = _setup(app, ConsultStatus.CLOSED)
    before = _messages(app, cid)
    typed = "我还想补充：<房东>不给合同 & 押金的事"
    resp = resident.post(f"/consult/{cid}/follow-up", data={"body": typed})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert _textarea(page, "body") == typed
    assert "咨询已关闭，请先重新打开。" in page
    assert _messages(app, cid) == before


def test_follow_up_too_long_keeps_the_text(app, world, clock):
    resident, _officer, cid = _setup(app)
    typed = "很长的补充" * 1001  # 5005 characters, over the limit
    resp = resident.post(f"/consult/{cid}/follow-up", data={"body": typed})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert _textarea(page, "body") == typed
    assert 'aria-invalid="true"' in page


def test_reopen_refused_keeps_the_reason(app, world, clock):
    resident, _officer, cid = _setup(app)  # open, not closed: reopen is refused
    typed = "上次的答复没有说清楚材料清单"
    resp = resident.post(f"/consult/{cid}/reopen", data={"reason": typed})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert _textarea(page, "reason") == typed
    assert "只有已关闭的咨询可以重新打开。" in page
    # A too-short reason on a closed question: the form error, the text kept.
    resident, _officer, cid2 = _setup(app, ConsultStatus.CLOSED)
    resp = resident.post(f"/consult/{cid2}/reopen", data={"reason": "嗯"})
    assert resp.status_code == 422
    assert _textarea(resp.get_data(as_text=True), "reason") == "嗯"
    with app.app_context():
        assert db.session.get(Consultation, cid2).status == ConsultStatus.CLOSED


def test_rating_refused_keeps_the_comment_and_score(app, world, clock):
    resident, _officer, cid = _setup(app)  # not answered yet: rating refused
    resp = resident.post(f"/consult/{cid}/rate", data={"score": "4", "comment": "态度很好QWE"})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "答复之后才能评价。" in page
    assert 'value="态度很好QWE"' in page
    assert '<option value="4" selected>' in page
    # An out-of-range score on an answered question: the error on the score, comment kept.
    resident, _officer, cid2 = _setup(app, answered=True)
    resp = resident.post(f"/consult/{cid2}/rate", data={"score": "9", "comment": "一般ZXC"})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert 'id="score-err"' in page and 'value="一般ZXC"' in page
    with app.app_context():
        assert db.session.get(Consultation, cid2).rating is None


def test_officer_reply_refused_keeps_the_text(app, world, clock):
    _resident, officer, cid = _setup(app, ConsultStatus.CLOSED)
    before = _messages(app, cid)
    typed = "补充答复：请携带户口本原件"
    resp = officer.post(f"/backoffice/consult/{cid}/reply", data={"body": typed})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert _textarea(page, "body") == typed and "咨询已关闭。" in page
    # A note over the size limit: the form error on the field, the text kept.
    long_note = "内部备注" * 1300
    resp = officer.post(f"/backoffice/consult/{cid}/note", data={"body": long_note})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert _textarea(page, "body") == long_note and 'aria-invalid="true"' in page
    # An empty reply on an open item.
    _resident, officer, cid2 = _setup(app)
    resp = officer.post(f"/backoffice/consult/{cid2}/reply", data={"body": "  "})
    assert resp.status_code == 422 and 'aria-invalid="true"' in resp.get_data(as_text=True)
    assert _messages(app, cid) == before
