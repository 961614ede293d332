"""JSON API v1. Each feature adds its endpoints here, tagged with its package name."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from portal.api import accounts, communities, jobs_housing, meta, notifications  # noqa: E402,F401
