"""Notices (警务公开): police tips, crime bulletins, announcements, legal education, lost and
found, the Atom feeds and subscriptions, and the contact box (警民联系箱)."""

from flask import Blueprint

bp = Blueprint("notices", __name__)

from portal.notices import panels, routes  # noqa: E402,F401
