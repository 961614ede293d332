"""Queue states and transitions, SLA on a fixed clock, reopen, ratings, lawyers' category
limit, emergency words, notifications."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.accounts.models import User
from portal.consult import services as svc
from portal.consult.models import Category, Consultation, ConsultStatus, MessageKind
from portal.db import as_utc, db
from portal.errors import DomainError
from portal.notifications.models import Notification
from tests.consult.conftest import at


def _user(uid: int) -> User:
    return db.session.get(User, uid)


def _ask(
    world, category=Category.HOUSEHOLD, title="居住证怎么办理", body="需要什么材料？", public=True
):
    return svc.ask(
        _user(world["resident"]), category=category, title=title, body=body, is_public=public
    )


def test_ask_sets_the_same_day_target_and_notifies_the_officer(ctx, world, clock):
    c = _ask(world)
    db.session.commit()
    assert c.status == ConsultStatus.OPEN
    assert as_utc(c.due_at) == at("2026-11-24 17:30")
    assert not c.is_urgent
    notes = db.session.scalars(select(Notification).where(Notification.kind == "consult.new")).all()
    assert [n.user_id for n in notes] == [world["officer"]]


def test_full_lifecycle(ctx, world, clock):
    officer, resident = _user(world["officer"]), _user(world["resident"])
    c = _ask(world)
    clock.set("2026-11-24 11:00")
    svc.reply(officer, c, "带身份证和租房合同。")
    assert c.status == ConsultStatus.ANSWERED and c.due_at is None
    assert c.first_reply_at == at("2026-11-24 11:00") and c.assignee_id == officer.id
    # A follow-up owes a reply again, the same working day.
    clock.set("2026-11-24 18:00")
    svc.follow_up(resident, c, "合同丢了怎么办？")
    assert c.status == ConsultStatus.OPEN and as_utc(c.due_at) == at("2026-11-25 17:30")
    # Waiting on the resident pauses the clock: 2 h of office time are kept.
    clock.set("2026-11-25 15:30")
    svc.mark_waiting(officer, c, "请提供房东电话。")
    assert c.status == ConsultStatus.WAITING and c.due_at is None
    assert c.paused_remaining == 2 * 3600
    clock.set("2026-11-28 10:00")  # Saturday
    svc.follow_up(resident, c, "房东电话是……")
    assert as_utc(c.due_at) == at("2026-11-30 10:30")
    svc.reply(officer, c, "好的。")
    svc.close(resident, c)
    assert c.status == ConsultStatus.CLOSED and c.closed_at is not None
    with pytest.raises(DomainError):
        svc.follow_up(resident, c, "还有问题")
    svc.rate(resident, c, 5, "很快")
    assert c.rating == 5 and c.rating_comment == "很快"
    db.session.commit()


def test_reopen_needs_closed_and_sets_a_new_target(ctx, world, clock):
    resident = _user(world["resident"])
    c = _ask(world)
    with pytest.raises(DomainError) as err:
        svc.reopen(resident, c, "没解决")
    assert err.value.code == "not_closed"
    svc.close(resident, c)
    clock.set("2026-11-27 20:00")
    svc.reopen(resident, c, "问题没有解决")
    assert c.status == ConsultStatus.OPEN
    assert as_utc(c.due_at) == at("2026-11-30 17:30")
    assert c.messages[-1].kind == MessageKind.REOPEN and c.messages[-1].body == "问题没有解决"


def test_only_the_asker_reopens_follows_up_and_rates(ctx, world, clock):
    c = _ask(world)
    svc.reply(_user(world["officer"]), c, "答复")
    other = _user(world["lawyer"])
    for call in (
        lambda: svc.follow_up(other, c, "x"),
        lambda: svc.rate(other, c, 3),
        lambda: svc.reopen(other, c, "x"),
    ):
        with pytest.raises(DomainError):
            call()


def test_rating_needs_an_answer_and_a_valid_score(ctx, world, clock):
    resident = _user(world["resident"])
    c = _ask(world)
    with pytest.raises(DomainError) as err:
        svc.rate(resident, c, 4)
    assert err.value.code == "not_answered"
    svc.reply(_user(world["officer"]), c, "答复")
    for bad in (0, 6):
        with pytest.raises(DomainError):
            svc.rate(resident, c, bad)
    svc.rate(resident, c, 2)
    svc.rate(resident, c, 4)  # a later rating replaces the first
    assert c.rating == 4


def test_complex_case_gets_three_working_days(ctx, world, clock):
    c = _ask(world)
    svc.mark_complex(_user(world["officer"]), c)
    assert c.is_complex and as_utc(c.due_at) == at("2026-11-27 17:30")


def test_lawyers_handle_only_legal_questions(ctx, world, clock):
    lawyer = _user(world["lawyer"])
    household = _ask(world)
    legal = _ask(world, category=Category.LEGAL, title="劳动合同纠纷", body="老板拖欠工资")
    db.session.commit()
    assert legal.can_be_handled_by(lawyer) and not household.can_be_handled_by(lawyer)
    with pytest.raises(DomainError):
        svc.reply(lawyer, household, "我来答")
    svc.reply(lawyer, legal, "可以申请劳动仲裁。")
    rows, total = svc.queue(lawyer, "mine", 1)
    assert [c.id for c in rows] == [legal.id]
    clock.set("2026-11-26 10:00")
    rows, _ = svc.queue(lawyer, "unassigned", 1)
    assert rows == []
    # The legal question was also announced to the lawyer.
    kinds = db.session.scalars(
        select(Notification.user_id).where(Notification.kind == "consult.new")
    ).all()
    assert lawyer.id in kinds


def test_other_communitys_officer_cannot_handle(ctx, world, clock):
    c = _ask(world)
    other = _user(world["other_officer"])
    assert not c.can_be_handled_by(other)
    with pytest.raises(DomainError):
        svc.claim(other, c)
    assert svc.queue(other, "unassigned", 1)[1] == 0


def test_queue_tabs(ctx, world, clock):
    officer = _user(world["officer"])
    a = _ask(world, title="甲问题标题")
    b = _ask(world, title="乙问题标题")
    c = _ask(world, title="丙问题标题")
    svc.claim(officer, b)
    svc.mark_waiting(officer, c, "请补充")
    db.session.commit()
    assert [x.id for x in svc.queue(officer, "unassigned", 1)[0]] == [a.id]
    assert {x.id for x in svc.queue(officer, "mine", 1)[0]} == {b.id, c.id}
    assert [x.id for x in svc.queue(officer, "waiting", 1)[0]] == [c.id]
    assert svc.queue(officer, "overdue", 1)[1] == 0
    clock.set("2026-11-25 09:00")
    assert {x.id for x in svc.queue(officer, "overdue", 1)[0]} == {a.id, b.id}
    svc.close(officer, a)
    assert [x.id for x in svc.queue(officer, "closed", 1)[0]] == [a.id]
    assert svc.tab_counts(officer) == {"unassigned": 0, "mine": 2, "overdue": 1, "waiting": 1}


def test_claim_and_assign(ctx, world, make, clock):
    officer = _user(world["officer"])
    colleague_id = make.user("officer", world["community"], name="赵警官")
    colleague = _user(colleague_id)
    c = _ask(world)
    svc.claim(officer, c)
    with pytest.raises(DomainError) as err:
        svc.claim(colleague, c)
    assert err.value.code == "taken"
    with pytest.raises(DomainError):
        svc.assign(officer, c, _user(world["other_officer"]))
    svc.assign(officer, c, colleague)
    assert c.assignee_id == colleague.id
    assert db.session.scalar(
        select(Notification.id).where(
            Notification.user_id == colleague.id, Notification.kind == "consult.assigned"
        )
    )


def test_two_officers_opening_the_same_item_are_warned(ctx, world, make, clock):
    officer = _user(world["officer"])
    colleague = _user(make.user("officer", world["community"], name="赵警官"))
    c = _ask(world)
    assert svc.open_by(officer, c) is None
    assert svc.open_by(colleague, c) == officer
    clock.set("2026-11-24 10:30")
    assert svc.open_by(officer, c) is None  # the colleague's look is too old now


@pytest.mark.parametrize(
    ("text", "urgent"),
    [("救命！有人撬门", True), ("楼下着火了", True), ("我想问问办证", False)],
)
def test_emergency_words_mark_the_question_urgent(ctx, world, clock, text, urgent):
    c = _ask(world, title="紧急求助标题", body=text)
    assert c.is_urgent is urgent


def test_emergency_words_are_configurable(app, ctx, world, clock):
    app.config["CONSULT_EMERGENCY_WORDS"] = "漏水,停电"
    assert svc.is_emergency("家里停电了") and not svc.is_emergency("救命")


def test_follow_up_with_emergency_word_marks_urgent(ctx, world, clock):
    c = _ask(world)
    assert not c.is_urgent
    svc.follow_up(_user(world["resident"]), c, "有人打人了")
    assert c.is_urgent


def test_reply_notifies_the_asker(ctx, world, clock):
    c = _ask(world)
    svc.reply(_user(world["officer"]), c, "答复内容")
    db.session.commit()
    note = db.session.scalar(
        select(Notification).where(
            Notification.user_id == world["resident"], Notification.kind == "consult.reply"
        )
    )
    assert note is not None and note.link == f"/consult/{c.id}"


def test_figures_per_officer_and_community(ctx, world, clock):
    officer = _user(world["officer"])
    a = _ask(world, title="第一个问题")
    b = _ask(world, title="第二个问题")
    clock.set("2026-11-24 11:00")
    svc.reply(officer, a, "答")
    clock.set("2026-11-25 10:00")  # after b's target (Tuesday 17:30)
    svc.reply(officer, b, "答")
    db.session.commit()
    by_officer, by_community = svc.figures(officer, days=100000)
    assert len(by_officer) == 1
    f = by_officer[0]
    assert f.name == "王警官" and f.answered == 2 and f.within_target == 0.5
    assert f.median_minutes == pytest.approx((60 + 24 * 60) / 2)
    assert by_community[0].name == "天桥社区"


def test_dashboard_panel_counts_overdue(ctx, world, clock):
    officer = _user(world["officer"])
    _ask(world, title="普通问题一")
    _ask(world, title="救命紧急", body="救命")
    db.session.commit()
    panel = svc.consult_panel(officer)
    assert panel.count == 2 and panel.alert  # urgent highlights
    assert panel.rows[0][0].startswith("⚠")
    clock.set("2026-11-25 09:00")
    panel = svc.consult_panel(officer)
    assert "2" in panel.title and panel.alert and "overdue" in panel.link


def test_knowledge_base_search_and_similar(ctx, world, clock):
    officer = _user(world["officer"])
    answered = _ask(world, title="居住证办理需要哪些材料", body="租房住")
    svc.reply(officer, answered, "身份证、租房合同")
    private = _ask(world, title="居住证办理的问题", public=False)
    svc.reply(officer, private, "答")
    _ask(world, title="居住证还没有答复的")  # public but unanswered
    other = _ask(world, title="电动车被偷了", category=Category.SECURITY)
    svc.reply(officer, other, "请来报案")
    db.session.commit()
    assert [c.id for c in svc.knowledge_base("居住证")] == [answered.id]
    assert [c.id for c in svc.similar_questions("办理居住证")] == [answered.id]
    assert [c.id for c in svc.knowledge_base("", Category.SECURITY)] == [other.id]
    assert svc.similar_questions("a") == []
    assert svc.search_terms("居住证 ABC") == ["居住", "住证", "abc"]


def test_internal_note_is_not_visible_to_the_resident(ctx, world, clock):
    c = _ask(world)
    svc.add_note(_user(world["officer"]), c, "内部：此人多次来电")
    assert any(m.is_internal for m in svc.visible_messages(c, _user(world["officer"])))
    assert not any(m.is_internal for m in svc.visible_messages(c, _user(world["resident"])))
    assert db.session.scalar(select(Consultation.id)) == c.id


def test_due_soon_warning_job_runs_once_per_target(ctx, world, clock):
    c = _ask(world)
    db.session.commit()
    assert svc.warn_before_breach() == 0  # 10:00, due 17:30: not yet
    clock.set("2026-11-24 16:45")
    assert svc.warn_before_breach() == 1
    assert svc.warn_before_breach() == 0  # a second run (or worker) sends nothing more
    notes = db.session.scalars(
        select(Notification).where(Notification.kind == "consult.due_soon")
    ).all()
    assert [n.user_id for n in notes] == [world["officer"]]
    # A new target (after a reply and a follow-up) may warn again.
    svc.reply(_user(world["officer"]), c, "答")
    clock.set("2026-11-25 16:40")
    svc.follow_up(_user(world["resident"]), c, "再问")
    db.session.commit()
    assert svc.warn_before_breach() == 1
    from portal.jobs import registered_jobs

    assert "consult-sla-warning" in registered_jobs()
