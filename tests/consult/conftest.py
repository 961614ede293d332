"""Helpers for the consultation tests: a fixed clock and quick builders."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from portal.station.calendar import STATION_TZ


def at(text: str) -> dt.datetime:
    """A station-local moment, as UTC (what the services store)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=STATION_TZ).astimezone(dt.UTC)


class Clock:
    """The consultation services' clock, set by the test."""

    def __init__(self) -> None:
        self.now = at("2026-11-24 10:00")  # a Tuesday

    def set(self, text: str) -> None:
        self.now = at(text)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    from portal.consult import services

    c = Clock()
    monkeypatch.setattr(services, "_now", lambda: c.now)
    return c


def ask_as(client: Any, **overrides: Any) -> Any:
    data = {
        "category": "household",
        "title": "居住证怎么办理",
        "body": "刚搬来，想问一下居住证需要什么材料。",
    }
    data.update(overrides)
    return client.post("/consult/ask", data=data)
