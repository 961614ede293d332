"""Accounts: registration, login, password reset, identity verification."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)

from portal.accounts import routes  # noqa: E402,F401
