"""Public community pages and the officer photo."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, send_file

from portal.communities import bp
from portal.communities import services as svc
from portal.db import db
from portal.security.uploads import stored_path


@bp.route("/communities")
def index() -> Any:
    """All communities served by the station."""
    return render_template("communities/index.html", communities=svc.all_communities())


@bp.route("/c/<slug>")
def show(slug: str) -> Any:
    """A community's page: its officers, where they are, office hours, how to reach them."""
    from portal.notices import services as notices

    community = svc.community_by_slug(slug[:60])
    if community is None:
        abort(404)
    latest, _total = notices.public_notices(community_id=community.id, per_page=5)
    return render_template("communities/show.html", community=community, latest_notices=latest)


@bp.route("/officers/<int:user_id>/photo")
def officer_photo(user_id: int) -> Any:
    """An officer's public photo."""
    from portal.communities.models import OfficerProfile

    profile = db.session.get(OfficerProfile, user_id)
    path = (
        stored_path("officer_photos", profile.photo_filename)
        if profile and profile.photo_filename
        else None
    )
    if path is None:
        abort(404)
    return send_file(path, max_age=3600)
