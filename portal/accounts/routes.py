"""Account pages. Thin: parse the form, call a service, render or redirect."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.accounts import bp
from portal.accounts import services as svc
from portal.accounts.forms import (
    ForgotPasswordForm,
    IdentityForm,
    LoginForm,
    OrganisationForm,
    RegisterForm,
    ResetPasswordForm,
)
from portal.accounts.limits import throttle_login
from portal.communities.models import Community
from portal.db import db
from portal.extensions import limiter
from portal.security.access import login_required
from portal.security.uploads import UploadError, store_image


def safe_next(target: str | None) -> str | None:
    """Only local paths are followed after login (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


def community_choices() -> list[tuple[int, str]]:
    """Communities for a select box, by name."""
    rows = db.session.execute(select(Community.id, Community.name).order_by(Community.name)).all()
    return [(0, _("请选择"))] + [(r.id, r.name) for r in rows]


@bp.route("/register", methods=["GET", "POST"])
def register() -> Any:
    """Create a resident account."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    form.community_id.choices = community_choices()
    if form.validate_on_submit():
        community = db.session.get(Community, form.community_id.data)
        if community is None:
            form.community_id.errors.append(_("请选择社区。"))
        else:
            try:
                user = svc.register_user(
                    login=form.login.data,
                    password=form.password.data,
                    display_name=form.display_name.data,
                    community=community,
                )
            except svc.DomainError as err:
                form.login.errors.append(err.message)
            else:
                svc.start_session(user)
                flash(_("注册成功，欢迎使用网上警务室。"), "success")
                return redirect(url_for("accounts.account"))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@throttle_login
def login() -> Any:
    """Log in with phone or e-mail; failures are counted per account and per address."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    status = 200
    if form.validate_on_submit():
        user = svc.authenticate(form.login.data, form.password.data)
        if user is not None:
            svc.start_session(user)
            flash(_("登录成功。"), "success")
            default = url_for("backoffice.dashboard") if user.is_staff else url_for("main.index")
            return redirect(safe_next(form.next.data) or default)
        form.password.errors.append(_("手机号/邮箱或密码不正确。"))
        status = 401
    elif request.method == "POST":
        status = 422
    return render_template("accounts/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    """End the session on the server and in the browser."""
    svc.end_session()
    flash(_("您已退出登录。"), "success")
    return redirect(url_for("main.index"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def forgot_password() -> Any:
    """Ask for a reset link; the answer is the same whether the account exists or not."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        svc.request_password_reset(
            form.login.data,
            # Built on the configured public address, never on the request's Host header,
            # so a forged Host cannot turn the link into someone else's site.
            lambda token: (
                current_app.config["BASE_URL"].rstrip("/")
                + url_for("accounts.reset_password", token=token)
            ),
        )
        flash(_("如果该账户存在，重设密码的链接已发出，请查收邮件或短信。"), "success")
        return redirect(url_for("accounts.login"))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/forgot.html", form=form), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Any:
    """Set a new password from a one-time link."""
    if svc.reset_token_user(token) is None:
        return render_template("accounts/reset_invalid.html"), 410
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            svc.reset_password(token, form.password.data)
        except svc.DomainError as err:
            flash(err.message, "error")
            return render_template("accounts/reset_invalid.html"), 410
        flash(_("密码已重设，请用新密码登录。"), "success")
        return redirect(url_for("accounts.login"))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/reset.html", form=form), status


@bp.route("/account")
@login_required
def account() -> Any:
    """The user's own page: verification status and what to do next."""
    return render_template(
        "accounts/account.html",
        identity=svc.latest_identity(current_user),
        organisation=svc.latest_organisation(current_user),
        verified=svc.is_verified(current_user),
    )


@bp.route("/account/verify", methods=["GET", "POST"])
@login_required
def verify() -> Any:
    """Submit real name, ID number, phone and an optional ID photo."""
    form = IdentityForm()
    status = 200
    if form.validate_on_submit():
        photo_name = None
        upload = form.photo.data
        try:
            if upload and getattr(upload, "filename", ""):
                photo_name = store_image(upload, "id_photos")
            svc.submit_identity(
                current_user,
                real_name=form.real_name.data,
                id_number=form.id_number.data,
                phone=form.phone.data,
                photo_filename=photo_name,
            )
        except UploadError as err:
            form.photo.errors = [*form.photo.errors, str(err)]
            status = 422
        except svc.DomainError as err:
            flash(err.message, "error")
            status = 409
        else:
            flash(_("认证申请已提交，社区民警审核后会通知您。"), "success")
            return redirect(url_for("accounts.account"))
    elif request.method == "POST":
        status = 422
    return render_template("accounts/verify.html", form=form), status


@bp.route("/account/organisation", methods=["GET", "POST"])
@login_required
def verify_organisation() -> Any:
    """Employers: submit the organisation's name and unified social credit code."""
    form = OrganisationForm()
    status = 200
    if form.validate_on_submit():
        try:
            svc.submit_organisation(
                current_user, org_name=form.org_name.data, credit_code=form.credit_code.data
            )
        except svc.DomainError as err:
            flash(err.message, "error")
            status = 409
        else:
            flash(_("单位认证申请已提交。"), "success")
            return redirect(url_for("accounts.account"))
    elif request.method == "POST":
        status = 422
    return render_template("accounts/organisation.html", form=form), status


@bp.app_errorhandler(429)
def too_many_attempts(err: Any) -> Any:
    """Throttled: say so plainly, with the form still there (never a silent failure)."""
    from portal.security.access import wants_json

    message = _("尝试次数过多，请 %(minutes)s 分钟后再试。", minutes=_retry_minutes(err))
    db.session.rollback()
    if wants_json():
        from portal.api.common import error

        return error(429, "too_many_attempts", message)
    if request.endpoint == "accounts.login":
        form = LoginForm()
        form.password.data = ""
        return render_template("accounts/login.html", form=form, throttled=message), 429
    return render_template("errors/error.html", code=429, message=message), 429


def _retry_minutes(err: Any) -> int:
    """Whole minutes until the breached limit lets the next attempt through."""
    import math
    import time

    current = limiter.current_limit
    reset = current.reset_at if current is not None else None
    if not reset:
        return 15  # the longest login window
    return max(1, math.ceil((reset - time.time()) / 60))
