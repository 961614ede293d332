"""Session login and logout, the current user, identity verification (tag ``accounts``)."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts import services as svc
from portal.accounts.forms import IdentityForm, LoginForm, OrganisationForm, RegisterForm
from portal.accounts.limits import throttle_login
from portal.accounts.routes import community_choices
from portal.api import bp
from portal.api.common import error, validated
from portal.api.schemas import (
    ORGANISATION_SCHEMA,
    USER_SCHEMA,
    VERIFICATION_SCHEMA,
    organisation_json,
    user_json,
    verification_json,
)
from portal.api.spec import operation
from portal.communities.models import Community
from portal.db import db
from portal.security.access import login_required

OK = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
STATUS_SCHEMA = {
    "type": "object",
    "properties": {
        "identity": {"oneOf": [VERIFICATION_SCHEMA, {"type": "null"}]},
        "organisation": {"oneOf": [ORGANISATION_SCHEMA, {"type": "null"}]},
        "verified": {"type": "boolean"},
    },
    "required": ["identity", "organisation", "verified"],
}


def _me() -> Any:
    return user_json(
        current_user, svc.is_verified(current_user), svc.has_verified_organisation(current_user)
    )


@bp.route("/session", methods=["POST"])
@throttle_login
@operation(
    "accounts", "Log in (phone or e-mail and password)", form=LoginForm, response=USER_SCHEMA
)
def login() -> Any:
    """Start a session; wrong credentials answer 401 and count against the limits."""
    form, err = validated(LoginForm)
    if err:
        return err
    user = svc.authenticate(form.login.data, form.password.data)
    if user is None:
        return error(401, "bad_credentials", _("手机号/邮箱或密码不正确。"))
    svc.start_session(user)
    return jsonify(user_json(user, svc.is_verified(user), svc.has_verified_organisation(user)))


@bp.route("/session", methods=["DELETE"])
@operation("accounts", "Log out", response=OK)
def logout() -> Any:
    """End the session on the server."""
    svc.end_session()
    return jsonify(ok=True)


@bp.route("/users", methods=["POST"])
@operation(
    "accounts", "Register a resident account", form=RegisterForm, response=USER_SCHEMA, status=201
)
def register() -> Any:
    """Create an account and log it in."""

    def prepare(form: RegisterForm) -> None:
        form.community_id.choices = community_choices()

    form, err = validated(RegisterForm, prepare=prepare)
    if err:
        return err
    community = db.session.get(Community, form.community_id.data)
    if community is None:
        return error(422, "invalid", _("请选择社区。"), {"community_id": [_("请选择社区。")]})
    try:
        user = svc.register_user(
            login=form.login.data,
            password=form.password.data,
            display_name=form.display_name.data,
            community=community,
        )
    except svc.DomainError as exc:
        return error(409, exc.code, exc.message, {exc.field: [exc.message]} if exc.field else None)
    svc.start_session(user)
    return jsonify(user_json(user, False, False)), 201


@bp.route("/me")
@login_required
@operation("accounts", "The current user", response=USER_SCHEMA, auth="any")
def me() -> Any:
    """Who is logged in, with the verification badges."""
    return jsonify(_me())


@bp.route("/verification")
@login_required
@operation("accounts", "My verification status", response=STATUS_SCHEMA, auth="any")
def verification_status() -> Any:
    """The latest identity and organisation verifications, masked."""
    ident = svc.latest_identity(current_user)
    org = svc.latest_organisation(current_user)
    return jsonify(
        identity=verification_json(ident) if ident else None,
        organisation=organisation_json(org) if org else None,
        verified=svc.is_verified(current_user),
    )


@bp.route("/verification", methods=["POST"])
@login_required
@operation(
    "accounts",
    "Submit identity verification (photo only through the page)",
    form=IdentityForm,
    response=VERIFICATION_SCHEMA,
    auth="any",
    status=201,
)
def submit_verification() -> Any:
    """File real name, ID number and phone for an officer to check."""
    form, err = validated(IdentityForm)
    if err:
        return err
    try:
        v = svc.submit_identity(
            current_user,
            real_name=form.real_name.data,
            id_number=form.id_number.data,
            phone=form.phone.data,
            photo_filename=None,
        )
    except svc.DomainError as exc:
        return error(409, exc.code, exc.message)
    return jsonify(verification_json(v)), 201


@bp.route("/verification/organisation", methods=["POST"])
@login_required
@operation(
    "accounts",
    "Submit an organisation for verification",
    form=OrganisationForm,
    response=ORGANISATION_SCHEMA,
    auth="any",
    status=201,
)
def submit_organisation() -> Any:
    """File an organisation name and unified social credit code."""
    form, err = validated(OrganisationForm)
    if err:
        return err
    try:
        v = svc.submit_organisation(
            current_user, org_name=form.org_name.data, credit_code=form.credit_code.data
        )
    except svc.DomainError as exc:
        return error(409, exc.code, exc.message)
    return jsonify(organisation_json(v)), 201
