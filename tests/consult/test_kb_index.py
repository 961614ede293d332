"""The knowledge base and the similar-question suggestions use the shared keyword index
(``portal/search.py``, kind "consult"): answered public questions are indexed when answered
and again when a new answer changes them, private or unanswered ones never; a search needs
every piece of the query, a suggestion ranks by the pieces shared; the index can be rebuilt
from the registered source."""

from __future__ import annotations

from portal import search
from portal.consult import services as svc
from portal.consult.models import Category
from portal.db import db
from tests.consult.test_services import _ask, _user


def _indexed(query: str) -> list[int]:
    return sorted(db.session.scalars(search.match(svc.SEARCH_KIND, query)))


def test_answered_public_questions_are_indexed_when_answered_and_changed(ctx, world, clock):
    officer = _user(world["officer"])
    public = _ask(
        world, title="电动车被偷了怎么办", body="楼下停的车没了", category=Category.SECURITY
    )
    private = _ask(world, title="电动车丢了", body="私下问问", public=False)
    db.session.commit()
    assert _indexed("电动车") == []  # nothing is answered yet
    svc.reply(officer, public, "请带购车发票来警务室报案")
    svc.reply(officer, private, "请来报案")
    db.session.commit()
    assert _indexed("电动车") == [public.id]
    # The staff's answer is searchable too, and a later answer is added to the index.
    assert [c.id for c in svc.knowledge_base("购车发票")] == [public.id]
    assert svc.knowledge_base("监控录像") == []
    svc.follow_up(_user(world["resident"]), public, "还需要什么？")
    svc.reply(officer, public, "可以调取小区监控录像")
    db.session.commit()
    assert [c.id for c in svc.knowledge_base("监控录像")] == [public.id]
    # Internal notes and follow-ups of the resident are not in it.
    svc.add_note(officer, public, "内部备注：嫌疑人线索")
    db.session.commit()
    assert svc.knowledge_base("嫌疑人线索") == []


def test_search_needs_every_piece_and_suggestions_rank_by_shared_pieces(ctx, world, clock):
    officer = _user(world["officer"])
    permit = _ask(world, title="居住证办理需要哪些材料", body="刚搬来")
    renew = _ask(world, title="居住证过期了怎么续签", body="去年办的")
    bike = _ask(world, title="电动车被偷了", body="昨晚", category=Category.SECURITY)
    for c in (permit, renew, bike):
        svc.reply(officer, c, "请来警务室")
    db.session.commit()
    assert {c.id for c in svc.knowledge_base("居住证")} == {permit.id, renew.id}
    assert [c.id for c in svc.knowledge_base("居住证 材料")] == [permit.id]
    assert svc.knowledge_base("居住证 电动车") == []
    assert [c.id for c in svc.knowledge_base("居住证", Category.SECURITY)] == []
    # A half-typed title that no question holds whole still gets suggestions, best first.
    assert [c.id for c in svc.similar_questions("办理居住证要带什么材料")][:2] == [
        permit.id,
        renew.id,
    ]
    assert [c.id for c in svc.similar_questions("电动车")] == [bike.id]
    assert svc.similar_questions("无关的话题") == []


def test_reindex_rebuilds_the_consult_kind(ctx, world, clock):
    officer = _user(world["officer"])
    a = _ask(world, title="户口迁移需要什么", body="从外地迁入")
    b = _ask(world, title="户口本丢了", body="补办")
    _ask(world, title="户口的私事", public=False)
    for c in (a, b):
        svc.reply(officer, c, "带身份证来")
    db.session.commit()
    for c in (a, b):
        search.remove(svc.SEARCH_KIND, c.id)
    db.session.commit()
    assert svc.knowledge_base("户口") == []
    assert svc.SEARCH_KIND in search.kinds()
    assert search.reindex(svc.SEARCH_KIND) == 2
    db.session.commit()
    assert {c.id for c in svc.knowledge_base("户口")} == {a.id, b.id}
