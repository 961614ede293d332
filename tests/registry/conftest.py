"""Registry fixtures: the board's people (a verified local landlord, a verified employer
with an organisation, seekers — seeker 0 is a verified migrant), and helpers that sign
agreements through the board's own services."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from portal.accounts.models import User
from portal.db import db
from portal.jobs_housing import agreements
from portal.jobs_housing import services as board_svc
from portal.jobs_housing.models import Kind
from portal.registry import services as svc
from portal.registry.models import MigrantRecord, RecordStatus, Source
from tests.conftest import PASSWORD, valid_id
from tests.jobs_housing.conftest import JOB, RENTAL, board  # noqa: F401 - fixture

MIGRANT_ID = valid_id("11010519900101001")  # Beijing: a migrant for station 220302
LOCAL_ID = valid_id("22030219650312003")  # the landlord, local


def u(uid: int) -> User:
    return db.session.get(User, uid)


def sign_rental(world: dict[str, Any], seeker_index: int = 0, **changes: Any) -> Any:
    """A published rental, an accepted application and an agreement both sides signed."""
    listing = board_svc.create_listing(
        u(world["landlord"]),
        Kind.RENTAL,
        {**RENTAL, **changes},
        community_id=world["community"],
        owner_declared=True,
    )
    board_svc.submit(u(world["landlord"]), listing)
    board_svc.approve(u(world["officer"]), listing)
    return _sign(world, listing, world["landlord"], seeker_index)


def sign_job(world: dict[str, Any], seeker_index: int = 0, **changes: Any) -> Any:
    listing = board_svc.create_listing(
        u(world["employer"]),
        Kind.JOB,
        {**JOB, **changes},
        community_id=world["community"],
        owner_declared=False,
    )
    board_svc.submit(u(world["employer"]), listing)
    board_svc.approve(u(world["officer"]), listing)
    return _sign(world, listing, world["employer"], seeker_index)


def _sign(world: dict[str, Any], listing: Any, poster: int, seeker_index: int) -> Any:
    seeker = world["seekers"][seeker_index]
    a = board_svc.apply(u(seeker), listing, "您好")
    board_svc.decide_application(u(poster), a, True)
    ag = agreements.start_agreement(u(poster), a)
    agreements.confirm(u(poster), ag, PASSWORD)
    agreements.confirm(u(seeker), ag, PASSWORD)
    return ag


def pending_record(
    community_id: int,
    id_number: str = MIGRANT_ID,
    *,
    since: dt.date | None = None,
    user_id: int | None = None,
    address: str = "天桥社区 5 号楼 101",
    workplace: str = "",
    source: Source = Source.OFFICER,
) -> MigrantRecord:
    record = svc.submit_pending(
        community_id=community_id,
        source=source,
        source_ref=None,
        user=u(user_id) if user_id else None,
        name="孙小明",
        id_number=id_number,
        phone="13800000001",
        address=address,
        workplace=workplace,
        since=since or dt.date(2026, 1, 5),
    )
    assert record is not None
    return record


def confirmed_record(community_id: int, officer_id: int, **kw: Any) -> MigrantRecord:
    record = pending_record(community_id, **kw)
    out = svc.confirm(u(officer_id), record)
    assert out.status == RecordStatus.CONFIRMED
    return out


@pytest.fixture
def people(app, make, board) -> dict[str, Any]:  # noqa: F811 - the imported fixture
    """The board plus a verified local resident (seeker 1) and a verified second migrant
    (seeker 2)."""
    make.verification(board["seekers"][1], valid_id("22030219800101002"), "approved", "本地人")
    make.verification(
        board["seekers"][2], valid_id("43010219920202003"), "approved", "周外地", "13800000003"
    )
    return board
