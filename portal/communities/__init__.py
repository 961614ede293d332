"""Communities: the public community page and the officers' whereabouts board."""

from flask import Blueprint

bp = Blueprint("communities", __name__)

from portal.communities import routes  # noqa: E402,F401
