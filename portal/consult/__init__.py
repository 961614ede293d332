"""Consultations (在线咨询), the officers' queue, the knowledge base and live chat (在线交流)."""

from flask import Blueprint

bp = Blueprint("consult", __name__)

from portal.consult import events, routes, services  # noqa: E402,F401
