"""One walk over every route as anonymous, resident, officer and admin: who may enter.

Every route of the app must be listed in ACCESS; a new route without an entry fails
``test_every_route_is_listed`` so its access rule is decided on purpose.
"""

from __future__ import annotations

import pytest

from tests.conftest import login, valid_id

PUBLIC, USER, STAFF, ADMIN, OFFICER = "public", "user", "staff", "admin", "officer"

ACCESS = {
    "main.index": PUBLIC,
    "main.healthz": PUBLIC,
    "main.set_language": PUBLIC,
    "static": PUBLIC,
    "communities.index": PUBLIC,
    "communities.show": PUBLIC,
    "communities.officer_photo": PUBLIC,
    "accounts.login": PUBLIC,
    "accounts.register": PUBLIC,
    "accounts.logout": PUBLIC,
    "accounts.forgot_password": PUBLIC,
    "accounts.reset_password": PUBLIC,
    "accounts.account": USER,
    "accounts.verify": USER,
    "accounts.verify_organisation": USER,
    "notifications.index": USER,
    "notifications.read_all": USER,
    "notifications.read_one": USER,
    "backoffice.dashboard": STAFF,
    "backoffice.verifications": STAFF,
    "backoffice.verification": STAFF,
    "backoffice.decide": STAFF,
    "backoffice.reveal": STAFF,
    "backoffice.verification_photo": STAFF,
    "backoffice.decide_organisation": STAFF,
    "backoffice.audit_log": STAFF,
    "backoffice.set_status": OFFICER,
    "backoffice.profile": OFFICER,
    "backoffice.walk_in": OFFICER,
    "backoffice.community_admin": ADMIN,
    "backoffice.community_officers": ADMIN,
    "backoffice.outbox": ADMIN,
    "backoffice.calendar": ADMIN,
    "backoffice.delete_override": ADMIN,
    "api.openapi": PUBLIC,
    "api.csrf_token": PUBLIC,
    "api.communities": PUBLIC,
    "api.community": PUBLIC,
    "api.login": PUBLIC,
    "api.logout": PUBLIC,
    "api.register": PUBLIC,
    "api.me": USER,
    "api.verification_status": USER,
    "api.submit_verification": USER,
    "api.submit_organisation": USER,
    "api.notifications": USER,
    "api.mark_read": USER,
    "api.notices": PUBLIC,
    "api.notice": PUBLIC,
    "api.feeds": PUBLIC,
    "api.create_notice": STAFF,
    "api.update_notice": STAFF,
    "api.publish_notice": STAFF,
    "api.lost_found": PUBLIC,
    "api.contact": PUBLIC,
    "api.contact_track": PUBLIC,
    "api.withdraw_notice": STAFF,
    "api.staff_lost_found": STAFF,
    "api.moderate_item": STAFF,
    "api.claim_item": USER,
    "api.claim": USER,
    "api.claim_visit": USER,
    "api.reject_claim": STAFF,
    "api.contact_messages": STAFF,
    "api.contact_reply": STAFF,
    "notices.index": PUBLIC,
    "notices.show": PUBLIC,
    "notices.feed": PUBLIC,
    "notices.image": PUBLIC,
    "notices.subscription": USER,
    "notices.lost_found": PUBLIC,
    "notices.report_lost": USER,
    "notices.claim": USER,
    "notices.contact": PUBLIC,
    "notices.track": PUBLIC,
    "notices.my_messages": USER,
    "notices.staff_index": STAFF,
    "notices.create": STAFF,
    "notices.edit": STAFF,
    "notices.act": STAFF,
    "notices.upload_image": STAFF,
    "notices.staff_lost_found": STAFF,
    "notices.moderate": STAFF,
    "notices.staff_messages": STAFF,
    "notices.staff_message": STAFF,
    "notices.item": PUBLIC,
    "notices.my_items": USER,
    "notices.claim_page": USER,
    "notices.decide_claim": STAFF,
    "appointments.index": PUBLIC,
    "appointments.service": USER,
    "appointments.book": USER,
    "appointments.mine": USER,
    "appointments.show": USER,
    "appointments.qr": USER,
    "appointments.ics": USER,
    "appointments.cancel": USER,
    "appointments.reschedule": USER,
    "appointments.rate": USER,
    "appointments.officer_day": STAFF,
    "appointments.check_in": STAFF,
    "appointments.handle": STAFF,
    "appointments.plan": OFFICER,
    "appointments.add_exception": OFFICER,
    "appointments.edit_exception": OFFICER,
    "appointments.delete_exception": OFFICER,
    "appointments.services": STAFF,
    "appointments.edit_service": STAFF,
    "api.appointment_services": PUBLIC,
    "api.appointment_slots": USER,
    "api.appointment_book": USER,
    "api.appointment_bookings": USER,
    "api.appointment_cancel": USER,
    "api.appointment_reschedule": USER,
    "api.appointment_ics": USER,
    "api.appointment_check_in": STAFF,
    "api.appointment_officer_bookings": STAFF,
    "api.appointment_confirm": STAFF,
    "api.appointment_decline": STAFF,
    "api.appointment_done": STAFF,
    "api.appointment_no_show": STAFF,
    "jobs_housing.index": PUBLIC,
    "jobs_housing.show": PUBLIC,
    "jobs_housing.photo": PUBLIC,
    "jobs_housing.mine": USER,
    "jobs_housing.create": USER,
    "jobs_housing.edit": USER,
    "jobs_housing.upload_photo": USER,
    "jobs_housing.poster_action": USER,
    "jobs_housing.report": USER,
    "jobs_housing.apply": USER,
    "jobs_housing.applications": USER,
    "jobs_housing.my_applications": USER,
    "jobs_housing.application_action": USER,
    "jobs_housing.moderation": STAFF,
    "jobs_housing.review": STAFF,
    "api.listings": PUBLIC,
    "api.listing": PUBLIC,
    "api.my_listings": USER,
    "api.create_rental": USER,
    "api.create_job": USER,
    "api.edit_listing": USER,
    "api.listing_action": USER,
    "api.report_listing": USER,
    "api.apply_listing": USER,
    "api.applications": USER,
    "api.application_action": USER,
    "consult.mine": USER,
    "consult.ask": USER,
    "consult.show": USER,
    "consult.follow_up": USER,
    "consult.close": USER,
    "consult.reopen": USER,
    "consult.rate": USER,
    "consult.kb": PUBLIC,
    "consult.kb_item": PUBLIC,
    "consult.chat_page": USER,
    "consult.queue": STAFF,
    "consult.queue_item": STAFF,
    "consult.queue_action": STAFF,
    "consult.canned": STAFF,
    "consult.figures": STAFF,
    "consult.chat_inbox": STAFF,
    "consult.chat_room": STAFF,
    "consult.chat_convert": STAFF,
    "consult.chat_clear_urgent": STAFF,
    "api.consult_ask": USER,
    "api.consult_mine": USER,
    "api.consult_question": USER,
    "api.consult_follow_up": USER,
    "api.consult_close": USER,
    "api.consult_reopen": USER,
    "api.consult_rate": USER,
    "api.consult_kb": PUBLIC,
    "api.consult_similar": PUBLIC,
    "api.consult_chat_mine": USER,
    "api.consult_chat_messages": USER,
    "jobs_housing.start_agreement": USER,
    "jobs_housing.agreement": USER,
    "jobs_housing.confirm_agreement": USER,
    "api.start_agreement": USER,
    "api.agreement": USER,
    "api.confirm_agreement": USER,
    "jobs_housing.agreement_templates": ADMIN,
    "jobs_housing.delete_photo": USER,
    "registry.mine": USER,
    "registry.register": USER,
    "registry.apply_permit": USER,
    "registry.end_my_tenancy": USER,
    "registry.employer": USER,
    "registry.employer_template": USER,
    "registry.review_queue": STAFF,
    "registry.record": STAFF,
    "registry.reveal": STAFF,
    "registry.record_action": STAFF,
    "registry.end_tenancy": STAFF,
    "registry.house_tenancies": STAFF,
    "registry.paper_pledge": STAFF,
    "registry.permit_queue": STAFF,
    "registry.permit_status": STAFF,
    "api.registry_mine": USER,
    "api.registry_register": USER,
    "api.registry_apply_permit": USER,
    "api.registry_pending": STAFF,
    "api.registry_confirm": STAFF,
    "api.registry_reject": STAFF,
    "api.registry_permit_status": STAFF,
    "registry.ledger": STAFF,
    "registry.ledger_export": STAFF,
    "registry.ledger_migrant": STAFF,
    "registry.ledger_reveal": STAFF,
    "registry.ledger_houses": STAFF,
    "registry.ledger_house": STAFF,
    "registry.ledger_figures": STAFF,
    "api.registry_ledger": STAFF,
    "api.registry_ledger_houses": STAFF,
    "api.registry_ledger_export": STAFF,
    "api.registry_figures": STAFF,
    "jobs_housing.reported": STAFF,
    "jobs_housing.report_action": STAFF,
}

ARGS = {
    "slug": "c1",
    "user_id": 1,
    "vid": 1,
    "oid": 1,
    "action": "approve",
    "field": "phone",
    "note_id": 1,
    "community_id": 1,
    "override_id": 1,
    "token": "not-a-token",
    "code": "en",
    "filename": "css/portal.css",
    "notice_id": 1,
    "notice_action": "publish",
    "item_id": 1,
    "item_action": "approve",
    "message_id": 1,
    "name": "0123456789abcdef0123456789abcdef.png",
    "service_id": 1,
    "booking_id": 1,
    "lid": 1,
    "aid": 1,
    "photo_id": 1,
    "kind": "rental",
    "cid": 1,
    "conv_id": 1,
    "agid": 1,
    "claim_id": 1,
    "claim_action": "reject",
    "record_id": 1,
    "tenancy_id": 1,
    "house_id": 1,
    "permit_id": 1,
    "fmt": "csv",
    "exception_id": 1,
    "migrant_id": 1,
}

ROLES = ["anonymous", "resident", "officer", "admin"]


def test_every_route_is_listed(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    assert endpoints - set(ACCESS) == set(), "decide the access rule of new routes"
    assert set(ACCESS) - endpoints == set()


def _allowed(level: str, role: str) -> bool:
    return {
        PUBLIC: True,
        USER: role != "anonymous",
        STAFF: role in ("officer", "admin"),
        ADMIN: role == "admin",
        OFFICER: role == "officer",
    }[level]


@pytest.mark.parametrize("role", ROLES)
def test_walk_every_route(app, client, make, world, role):
    make.verification(world["resident"], valid_id())
    if role != "anonymous":
        login(client, f"{role}@example.com")
    for rule in app.url_map.iter_rules():
        level = ACCESS[rule.endpoint]
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        path = rule.build(
            {k: v for k, v in ARGS.items() if k in rule.arguments}, append_unknown=False
        )[1]
        for method in methods:
            if rule.endpoint in ("accounts.logout", "api.logout"):
                continue  # would end this walk's session; covered in test_sessions
            resp = client.open(
                path,
                method=method,
                json={} if path.startswith("/api/") and method != "GET" else None,
            )
            status = resp.status_code
            to_login = status == 302 and "/login" in (resp.location or "")
            where = f"{role} {method} {path} -> {status}"
            assert status != 500, where
            if _allowed(level, role):
                assert status not in (401, 403) and not to_login, where
            elif role == "anonymous":
                assert to_login or status == 401, where
            else:
                assert status == 403, where


def test_huge_ids_are_404_not_500(app, client, world):
    login(client, "admin@example.com")
    checked = 0
    for rule in app.url_map.iter_rules():
        int_args = [
            a for a in rule.arguments if rule._converters[a].__class__.__name__ == "DatabaseId"
        ]
        if not int_args:
            continue
        args = {k: v for k, v in ARGS.items() if k in rule.arguments}
        args.update({a: 1 for a in int_args})
        path = rule.build(args, append_unknown=False)[1]
        huge = path
        for _arg in int_args:
            huge = (
                huge.replace("/1/", "/99999999999999999999/", 1)
                if "/1/" in huge
                else huge.replace("/1", "/99999999999999999999", 1)
            )
        method = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})[0]
        assert "99999999999999999999" in huge, huge
        resp = client.open(huge, method=method)
        assert resp.status_code in (404, 405), (huge, resp.status_code)
        checked += 1
    assert checked >= 5
