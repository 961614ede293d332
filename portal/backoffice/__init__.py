"""The officer's back office: a dashboard composed from the features' services."""

from flask import Blueprint

bp = Blueprint("backoffice", __name__, url_prefix="/backoffice")

from portal.backoffice import routes  # noqa: E402,F401
