"""Notifications: the bell, its list page, and the mail queue."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)

from portal.notifications import events, routes  # noqa: E402,F401
