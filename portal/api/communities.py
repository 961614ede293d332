"""Communities with their officers and whereabouts (tag ``communities``)."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_babel import gettext as _

from portal.api import bp
from portal.api.common import error
from portal.api.schemas import COMMUNITY_SCHEMA, community_json
from portal.api.spec import operation
from portal.communities import services as svc


@bp.route("/communities")
@operation(
    "communities",
    "Communities with their officers and whereabouts",
    response={
        "type": "object",
        "properties": {"items": {"type": "array", "items": COMMUNITY_SCHEMA}},
        "required": ["items"],
    },
)
def communities() -> Any:
    """Every community and its officers."""
    return jsonify(items=[community_json(c) for c in svc.all_communities()])


@bp.route("/communities/<slug>")
@operation("communities", "One community", response=COMMUNITY_SCHEMA)
def community(slug: str) -> Any:
    """One community by slug."""
    c = svc.community_by_slug(slug[:60])
    if c is None:
        return error(404, "not_found", _("社区不存在。"))
    return jsonify(community_json(c))
