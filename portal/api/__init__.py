"""JSON API v1. Each feature adds its endpoints here, tagged with its package name."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from portal.api import (  # noqa: E402,F401
    accounts,
    appointments,
    communities,
    consult,
    jobs_housing,
    meta,
    notices,
    notifications,
    registry,
    registry_ledger,
)
