"""How often one address may post to the contact box (警民联系箱), without keeping it.

The limiter counts under a keyed HMAC of the client's address, never the address itself.
The HMAC key is derived from the app's secret and the day, so a count cannot be turned back
into an address and today's counter cannot be matched with tomorrow's. The counters live
only in the limiter's storage (process memory, or Redis when configured) and expire with
their window (minutes); nothing about the sender reaches the database or the logs.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from dataclasses import dataclass

from flask import current_app, request
from limits import RateLimitItem, parse_many

from portal.db import utcnow
from portal.extensions import limiter

log = logging.getLogger(__name__)
NAMESPACE = "contact-box"


def address_token(address: str | None = None) -> str:
    """The limiter's key for an address: HMAC-SHA256 under a per-day key, shortened."""
    address = address if address is not None else (request.remote_addr or "unknown")
    secret = str(current_app.config["SECRET_KEY"]).encode()
    day_key = hmac.new(secret, f"{NAMESPACE}:{utcnow():%Y-%m-%d}".encode(), hashlib.sha256).digest()
    return hmac.new(day_key, address.encode(), hashlib.sha256).hexdigest()[:32]


def _limits() -> list[RateLimitItem]:
    return list(parse_many(current_app.config.get("CONTACT_LIMIT") or "5 per 10 minutes"))


@dataclass
class Verdict:
    """Whether a message may go in; if not, in how many minutes it may."""

    allowed: bool
    retry_minutes: int = 0


def count_message() -> Verdict:
    """Count one message from the current request's address against the limit.

    Fails open when the storage is unreachable: a lost counter is better than a lost tip.
    """
    if not limiter.enabled:
        return Verdict(True)
    token = address_token()
    strategy = limiter.limiter
    try:
        items = _limits()
        for item in items:
            if not strategy.test(item, NAMESPACE, token):
                reset, _remaining = strategy.get_window_stats(item, NAMESPACE, token)
                return Verdict(False, max(1, math.ceil((reset - time.time()) / 60)))
        for item in items:
            strategy.hit(item, NAMESPACE, token)
    except Exception:  # noqa: BLE001 - any storage failure; the token is not logged
        log.warning("contact-box rate limit storage unavailable; message let through")
    return Verdict(True)
