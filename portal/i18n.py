"""Language choice: Chinese first, English on request.

Message ids are the Chinese texts themselves, so the default language can never show a
missing translation; the English catalogue lives in ``portal/translations/en``.
"""

from __future__ import annotations

from flask import current_app, has_request_context, request, session


def select_locale() -> str:
    """The chosen language (session, then ``?lang=``), else zh_CN."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    """Every time is shown in the station's zone."""
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]
