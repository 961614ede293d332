"""Board rules through the services: posting, transitions, moderation, hints, reports,
applications and expiry."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from portal import search
from portal.accounts.models import User
from portal.db import db, utcnow
from portal.errors import DomainError
from portal.jobs_housing import services as svc
from portal.jobs_housing.models import (
    ApplicationStatus,
    Kind,
    Listing,
    ListingStatus,
    ReportReason,
)
from portal.notifications.models import Notification
from portal.security.models import AuditEntry
from tests.jobs_housing.conftest import JOB, RENTAL


def u(uid: int) -> User:
    return db.session.get(User, uid)


def rental(board, **changes) -> Listing:
    data = {**RENTAL, **changes}
    return svc.create_listing(
        u(board["landlord"]),
        Kind.RENTAL,
        data,
        community_id=board["community"],
        owner_declared=True,
    )


def published(board, **changes) -> Listing:
    listing = rental(board, **changes)
    svc.submit(u(board["landlord"]), listing)
    svc.approve(u(board["officer"]), listing)
    return listing


def test_only_verified_residents_post_rentals(ctx, board):
    with pytest.raises(DomainError) as err:
        svc.create_listing(
            u(board["seekers"][1]),
            Kind.RENTAL,
            RENTAL,
            community_id=board["community"],
            owner_declared=True,
        )
    assert err.value.code == "not_verified"
    assert rental(board).status == ListingStatus.DRAFT


def test_rental_needs_owner_declaration(ctx, board):
    with pytest.raises(DomainError):
        svc.create_listing(
            u(board["landlord"]),
            Kind.RENTAL,
            RENTAL,
            community_id=board["community"],
            owner_declared=False,
        )


def test_jobs_need_a_verified_organisation(ctx, board):
    # verified person without an organisation
    with pytest.raises(DomainError):
        svc.create_listing(
            u(board["landlord"]),
            Kind.JOB,
            JOB,
            community_id=board["community"],
            owner_declared=False,
        )
    job = svc.create_listing(
        u(board["employer"]), Kind.JOB, JOB, community_id=board["community"], owner_declared=False
    )
    assert job.price == 2800


def test_status_transitions_and_audit(ctx, board):
    listing = rental(board)
    officer = u(board["officer"])
    with pytest.raises(DomainError):
        svc.approve(officer, listing)  # a draft is not pending
    svc.submit(u(board["landlord"]), listing)
    assert listing.status == ListingStatus.PENDING and not listing.live
    svc.request_changes(officer, listing, "请补充照片")
    assert listing.status == ListingStatus.CHANGES_REQUESTED
    svc.submit(u(board["landlord"]), listing)
    svc.reject(officer, listing, "信息不实")
    assert listing.status == ListingStatus.REJECTED
    with pytest.raises(DomainError):
        svc.submit(u(board["landlord"]), listing)
    other = published(board, address="另一地址 5 号")
    assert other.status == ListingStatus.PUBLISHED and other.live
    assert other.expires_at is not None
    svc.mark_filled(u(board["landlord"]), other)
    assert other.status == ListingStatus.FILLED and not other.live
    third = published(board, address="第三个地址 7 号")
    svc.withdraw(u(board["landlord"]), third)
    assert third.status == ListingStatus.WITHDRAWN and not third.live
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {
        "listing.approve",
        "listing.reject",
        "listing.request_changes",
        "listing.submit",
    } <= actions
    rejected = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "listing.reject"))
    assert rejected.detail == {"reason": "信息不实"}
    titles = [
        n.title
        for n in db.session.scalars(
            select(Notification).where(Notification.user_id == board["landlord"])
        )
    ]
    assert "您的信息需要修改" in titles and "您的信息未通过审核" in titles


def test_reason_required_to_reject_or_request_changes(ctx, board):
    listing = rental(board)
    svc.submit(u(board["landlord"]), listing)
    with pytest.raises(DomainError):
        svc.reject(u(board["officer"]), listing, " ")
    with pytest.raises(DomainError):
        svc.request_changes(u(board["officer"]), listing, "")


def test_edit_of_published_listing_keeps_old_version_visible(ctx, board):
    listing = published(board)
    svc.update_listing(
        u(board["landlord"]), listing, {**RENTAL, "rent": 1500, "title": "新标题两室"}
    )
    assert listing.status == ListingStatus.PENDING
    assert listing.live and listing.rent == 1200 and listing.title == RENTAL["title"]
    rows, _ = svc.search(kind="rental")
    assert [r.id for r in rows] == [listing.id]
    svc.approve(u(board["officer"]), listing)
    assert listing.rent == 1500 and listing.price == 1500 and listing.pending_edit is None


def test_rejected_edit_leaves_published_version(ctx, board):
    listing = published(board)
    svc.update_listing(u(board["landlord"]), listing, {**RENTAL, "rent": 9000})
    svc.reject(u(board["officer"]), listing, "租金不实")
    assert listing.status == ListingStatus.PUBLISHED and listing.live and listing.rent == 1200


def test_hints_fee_words_contacts_duplicates_outliers(ctx, board, app):
    listing = rental(board, description="需交中介费 200 元，电话 13912345678，微信 abc_12345")
    svc.submit(u(board["landlord"]), listing)
    hints = svc.hints(listing)
    assert any("中介费" in h for h in hints)
    assert any("电话" in h for h in hints)
    assert any("微信" in h for h in hints)
    clean = rental(board, address="完全不同 99 号", title="安静一室出租好房", description="朝南。")
    assert svc.hints(clean) == []
    # configurable words
    app.config["JOBS_HOUSING_FEE_WORDS"] = ["茶水费"]
    assert not any("中介费" in h for h in svc.hints(listing))
    # duplicate of a pending listing with the same address
    dup = rental(board, description="朝南。")
    assert any(f"#{listing.id}" in h for h in svc.hints(dup))
    # outlier against five live listings around 1200
    for i in range(5):
        published(
            board,
            address=f"某楼 {i} 号",
            title=f"普通出租房 {i} 号楼",
            description=f"第 {i} 套",
            rent=1100 + i * 50,
        )
    pricey = rental(board, address="贵楼 1 号", title="豪华出租房源", description="独栋", rent=9000)
    assert any("中位数" in h for h in svc.hints(pricey))


def test_reports_need_several_distinct_users(ctx, board, app):
    app.config["JOBS_HOUSING_REPORT_THRESHOLD"] = 3
    listing = published(board)
    s = board["seekers"]
    svc.report(u(s[0]), listing, ReportReason.FRAUD)
    with pytest.raises(DomainError):
        svc.report(u(s[0]), listing, ReportReason.OTHER)  # one user cannot pile up reports
    with pytest.raises(DomainError):
        svc.report(u(board["landlord"]), listing, ReportReason.OTHER)
    svc.report(u(s[1]), listing, ReportReason.FEE)
    assert listing.live
    svc.report(u(s[2]), listing, ReportReason.WRONG)
    assert not listing.live and listing.status == ListingStatus.PENDING
    assert svc.search()[1] == 0
    svc.approve(u(board["officer"]), listing)
    assert listing.live
    # old reports are resolved: one new report does not hide it again
    svc.report(u(s[3]), listing, ReportReason.TAKEN)
    assert listing.live


def test_application_flow_and_phone_rule(ctx, board):
    listing = published(board)
    seeker = u(board["seekers"][0])
    a = svc.apply(seeker, listing, "想周末看房")
    with pytest.raises(DomainError):
        svc.apply(seeker, listing, "again")
    with pytest.raises(DomainError):
        svc.apply(u(board["landlord"]), listing, "self")
    landlord = u(board["landlord"])
    assert svc.shared_phones(landlord, a) is None
    with pytest.raises(DomainError):
        svc.consent_to_share(seeker, a)  # not accepted yet
    svc.decide_application(landlord, a, True)
    assert a.status == ApplicationStatus.ACCEPTED
    assert svc.shared_phones(landlord, a) is None and svc.shared_phones(seeker, a) is None
    svc.consent_to_share(seeker, a)
    assert svc.shared_phones(landlord, a) == "13800000001"
    assert svc.shared_phones(seeker, a) == "13904340001"
    assert svc.shared_phones(u(board["seekers"][1]), a) is None
    with pytest.raises(DomainError):
        svc.decide_application(landlord, a, False)


def test_declined_application_never_shares(ctx, board):
    listing = published(board)
    a = svc.apply(u(board["seekers"][1]), listing, "hi")
    svc.decide_application(u(board["landlord"]), a, False)
    with pytest.raises(DomainError):
        svc.consent_to_share(u(board["seekers"][1]), a)
    assert svc.shared_phones(u(board["landlord"]), a) is None


def test_expiry_reminder_and_renewal_run_twice(ctx, board):
    listing = published(board)
    lid = listing.id
    db.session.commit()
    now = utcnow()
    assert svc.expire_listings(now) == 0
    soon = now + dt.timedelta(days=28)
    assert svc.expire_listings(soon) == 1  # reminder
    assert svc.expire_listings(soon) == 0  # not twice
    db.session.expire_all()
    listing = db.session.get(Listing, lid)
    assert listing.reminded_at is not None
    later = now + dt.timedelta(days=31)
    assert svc.expire_listings(later) == 1
    assert svc.expire_listings(later) == 0
    db.session.expire_all()
    listing = db.session.get(Listing, lid)
    assert listing.status == ListingStatus.EXPIRED and not listing.live
    notes = db.session.scalars(
        select(Notification.title).where(Notification.user_id == board["landlord"])
    ).all()
    assert "您的信息即将到期" in notes and "您的信息已到期" in notes
    svc.renew(u(board["landlord"]), listing)  # nothing changed: no review
    assert listing.status == ListingStatus.PUBLISHED and listing.live
    assert listing.reminded_at is None


def test_renewal_only_near_expiry(ctx, board):
    listing = published(board)
    with pytest.raises(DomainError):
        svc.renew(u(board["landlord"]), listing)


def test_live_listing_with_edit_under_review_expires_and_renewal_resubmits(ctx, board):
    listing = published(board)
    svc.update_listing(u(board["landlord"]), listing, {**RENTAL, "rent": 1300})
    lid = listing.id
    db.session.commit()
    assert svc.expire_listings(utcnow() + dt.timedelta(days=31)) == 1
    db.session.expire_all()
    listing = db.session.get(Listing, lid)
    assert listing.status == ListingStatus.EXPIRED and not listing.live
    svc.renew(u(board["landlord"]), listing)
    assert listing.live and listing.status == ListingStatus.PENDING and listing.rent == 1200


def test_status_labels_do_not_collide_across_enums(ctx):
    assert ListingStatus.PENDING.label == "待审核"
    assert ApplicationStatus.PENDING.label == "待回复"


def test_community_changes_only_before_publication(ctx, board):
    draft = rental(board)
    svc.update_listing(u(board["landlord"]), draft, RENTAL, board["other_community"])
    assert draft.community_id == board["other_community"]
    live = published(board, address="别处 1 号")
    with pytest.raises(DomainError):
        svc.update_listing(u(board["landlord"]), live, RENTAL, board["other_community"])


def test_keyword_search_uses_the_index_and_follows_the_public_version(ctx, board):
    flat = published(board)
    job = svc.create_listing(
        u(board["employer"]), Kind.JOB, JOB, community_id=board["community"], owner_declared=False
    )
    svc.submit(u(board["employer"]), job)
    svc.approve(u(board["officer"]), job)
    draft = rental(board, title="天桥社区草稿房源", address="别处 9 号")

    def found(q: str, **kw) -> list[int]:
        return [r.id for r in svc.search(q=q, **kw)[0]]

    assert found("两室一厅") == [flat.id]
    assert found("天桥社区") == [job.id, flat.id]  # the draft is not live
    assert found("天桥社区", kind="rental") == [flat.id]
    assert found("保洁") == [job.id]  # title
    assert found("身体健康") == [job.id]  # requirements
    assert found("测试公司") == [job.id]  # organisation
    assert found("公交") == [flat.id]  # description
    assert found("地铁") == []
    assert found("，，") == found("") == [job.id, flat.id]  # no tokens: no keyword filter
    # An edit under review is not searchable; the public version is, until approval.
    svc.update_listing(u(board["landlord"]), flat, {**RENTAL, "title": "北环精装一室"})
    assert found("北环") == [] and found("两室一厅") == [flat.id]
    svc.approve(u(board["officer"]), flat)
    assert found("北环") == [flat.id] and found("两室一厅") == []
    assert draft.id not in found("草稿")


@pytest.mark.parametrize("few", [1000, 1])  # bound ids; the subquery shapes
def test_keyword_search_in_a_community_asks_the_index_for_it(ctx, board, monkeypatch, few):
    here = [published(board, address=f"天桥 {i} 号") for i in range(3)]
    draft = rental(board, address="天桥 草稿")  # indexed, not live
    moved = rental(board, address="天桥 7 号")
    svc.update_listing(u(board["landlord"]), moved, RENTAL, board["other_community"])
    svc.submit(u(board["landlord"]), moved)
    db.session.flush()
    # The community is a facet of the listing's document: a keyword in one community
    # asks the index for that community's documents only (moved ones included).
    other = {"community": board["other_community"]}
    assert list(db.session.scalars(search.match(svc.SEARCH_KIND, "天桥", other))) == [moved.id]
    monkeypatch.setattr(svc, "MAX_RESULTS", few)  # few=1: the matches are a subquery
    rows, total = svc.search(q="两室", community_id=board["community"])
    assert [r.id for r in rows] == [r.id for r in reversed(here)]
    assert total == min(3, few + 1)
    assert svc.search(q="两室", community_id=board["other_community"]) == ([], 0)  # pending
    svc.approve(u(board["officer"]), moved)
    assert [r.id for r in svc.search(q="两室", community_id=board["other_community"])[0]] == [
        moved.id
    ]
    assert draft.id not in {r.id for r in svc.search(q="天桥", community_id=board["community"])[0]}
    # Rebuilding the index keeps the facet.
    assert search.reindex(svc.SEARCH_KIND) == 5
    assert [r.id for r in svc.search(q="两室", community_id=board["other_community"])[0]] == [
        moved.id
    ]


def test_keyword_count_follows_listings_on_and_off_the_board(ctx, board, app):
    """The count of a keyword search comes from the index's live facet: every way on or
    off the board (withdrawal, reports, expiry — a bulk UPDATE —, renewal) keeps it."""
    app.config["JOBS_HOUSING_REPORT_THRESHOLD"] = 2
    a, b, c = (published(board, address=f"北环 {i} 号") for i in range(3))
    lb = b.id

    def total(**kw) -> int:
        return svc.search(q="北环", **kw)[1]

    def live_docs() -> set[int]:
        return set(db.session.scalars(search.match(svc.SEARCH_KIND, "北环", {"live": 1})))

    assert total() == 3 == total(community_id=board["community"])
    assert total(community_id=board["other_community"]) == 0
    svc.withdraw(u(board["landlord"]), a)
    assert total() == 2 and live_docs() == {b.id, c.id}
    svc.report(u(board["seekers"][0]), c, ReportReason.FRAUD)
    svc.report(u(board["seekers"][1]), c, ReportReason.FRAUD)  # hidden by reports
    assert not c.live and total() == 1 and live_docs() == {b.id}
    db.session.commit()
    assert svc.expire_listings(utcnow() + dt.timedelta(days=31)) == 1  # b, the only live one
    db.session.expire_all()
    assert total() == 0 and live_docs() == set()
    svc.renew(u(board["landlord"]), db.session.get(Listing, lb))
    db.session.flush()
    assert total() == 1 == total(kind="rental") and live_docs() == {lb}
    svc.approve(u(board["officer"]), db.session.get(Listing, c.id))  # back after review
    db.session.flush()
    assert total() == 2 and live_docs() == {lb, c.id}


def test_reported_listings_for_officers(ctx, board, app):
    app.config["JOBS_HOUSING_REPORT_THRESHOLD"] = 3
    s, officer = board["seekers"], u(board["officer"])
    quiet = published(board, address="安静 1 号", title="无人举报的房源")
    older = published(board, address="旧楼 2 号", title="先被举报的房源")
    newer = published(board, address="新楼 3 号", title="后被举报的房源")
    svc.report(u(s[0]), older, ReportReason.FRAUD)
    svc.report(u(s[1]), older, ReportReason.FRAUD)
    svc.report(u(s[2]), older, ReportReason.FEE)
    assert not older.live  # three reporters hid it: it is in the review queue instead
    svc.approve(officer, older)  # approval resolves those reports
    svc.report(u(s[0]), newer, ReportReason.FEE)
    svc.report(u(s[3]), older, ReportReason.WRONG)
    rows, total = svc.reported_listings(officer)
    assert total == 2
    assert [r[0].id for r in rows] == [older.id, newer.id]  # newest report first
    listing, reporters, reasons, newest = rows[0]
    assert reporters == 1 and [(r.value, n) for r, n in reasons] == [("wrong", 1)]
    assert quiet.id not in [r[0].id for r in rows]
    # paginated
    assert [r[0].id for r in svc.reported_listings(officer, page=2, per_page=1)[0]] == [newer.id]
    # another community's officer sees none of them; an admin sees all
    assert svc.reported_listings(u(board["other_officer"]))[1] == 0
    assert svc.reported_listings(u(board["admin"]))[1] == 2

    with pytest.raises(DomainError):
        svc.dismiss_reports(officer, newer, " ")
    assert svc.dismiss_reports(officer, newer, "核实无误") == 1
    assert newer.live and svc.reported_listings(officer)[1] == 1
    with pytest.raises(DomainError):
        svc.dismiss_reports(officer, newer, "again")

    svc.suspend_for_review(officer, older, "疑似信息不实，请核实")
    assert not older.live and older.status == ListingStatus.PENDING
    assert older in svc.moderation_queue(officer)
    assert svc.reported_listings(officer)[1] == 0
    with pytest.raises(DomainError):
        svc.suspend_for_review(officer, older, "twice")
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"listing.reports_dismiss", "listing.suspend"} <= actions
    note = db.session.scalars(
        select(Notification).where(Notification.user_id == board["landlord"])
    ).all()
    assert any("暂停展示" in str(n.title) for n in note)
