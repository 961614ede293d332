"""Settings from environment variables, with safe defaults.

Secrets that are not given are generated once into the instance folder and never
committed: ``secret_key`` (sessions, CSRF) and ``pii.key`` (personal-data encryption).
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from pathlib import Path
from typing import Any


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _env_words(name: str) -> list[str] | None:
    """A comma-separated list (ASCII or Chinese commas, 、 too); None when unset or empty."""
    value = os.environ.get(name)
    if not value:
        return None
    words = [w.strip() for w in re.split(r"[,，、]", value)]
    return [w for w in words if w] or None


def _agreement_templates(directory: str | None) -> dict[str, str]:
    """``rental.txt`` and ``job.txt`` (UTF-8, ``string.Template``) from a folder; a missing
    file keeps the built-in wording. The board checks the placeholders when it uses them."""
    if not directory:
        return {}
    out = {}
    for kind in ("rental", "job"):
        path = Path(directory) / f"{kind}.txt"
        if path.is_file():
            out[kind] = path.read_text(encoding="utf-8")
    return out


def instance_secret(instance_path: Path, name: str, make: Any) -> str:
    """Read a secret from the instance folder, creating it (mode 600) on first use."""
    path = instance_path / name
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def load_config(instance_path: Path) -> dict[str, Any]:
    """Build the configuration mapping from the environment."""
    db_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'portal.db'}"
    redis_url = os.environ.get("PORTAL_REDIS_URL") or None
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY")
        or instance_secret(instance_path, "secret_key", lambda: secrets.token_hex(32)),
        "PII_KEY": os.environ.get("PORTAL_PII_KEY")
        or instance_secret(
            instance_path, "pii.key", lambda: base64.urlsafe_b64encode(os.urandom(32)).decode()
        ),
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "UPLOAD_DIR": os.environ.get("PORTAL_UPLOAD_DIR") or str(instance_path / "uploads"),
        "MAX_CONTENT_LENGTH": 6 * 1024 * 1024,
        "MAX_PHOTO_BYTES": 5 * 1024 * 1024,
        # Sessions: the cookie carries only a server-side session id.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _env_bool("PORTAL_SECURE_COOKIES", False),
        "SESSION_IDLE_MINUTES": _env_int("PORTAL_SESSION_IDLE_MINUTES", 60),
        "SESSION_MAX_HOURS": _env_int("PORTAL_SESSION_MAX_HOURS", 12),
        # Sockets authenticate at connect; events re-check the session at most this often,
        # and each process sweeps its sockets for ended sessions this often (portal/realtime).
        "SOCKET_SESSION_CHECK_SECONDS": _env_int("PORTAL_SOCKET_SESSION_CHECK_SECONDS", 30),
        "SOCKET_SESSION_SWEEP_SECONDS": _env_int("PORTAL_SOCKET_SESSION_SWEEP_SECONDS", 15),
        # Off: a socket's events are handled one after another, in the order they came, on
        # the thread that reads the socket (a chat message can never overtake the one sent
        # before it, and no thread is started per event). On: each event on a new thread.
        "SOCKETIO_ASYNC_HANDLERS": _env_bool("PORTAL_SOCKETIO_ASYNC_HANDLERS", False),
        # A server process's full garbage collection (every thread stops for it) waits for
        # this many middle-generation collections; Python's default is 10 (realtime.serve).
        "GC_FULL_EVERY": _env_int("PORTAL_GC_FULL_EVERY", 100),
        "PREFERRED_URL_SCHEME": os.environ.get("PORTAL_URL_SCHEME", "http"),
        "BASE_URL": os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:5000"),
        # Flask-Limiter: shared counters in Redis when configured.
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": False,
        "LOGIN_LIMIT_PER_ADDRESS": os.environ.get(
            "PORTAL_LOGIN_LIMIT_ADDRESS", "20 per 10 minutes"
        ),
        "LOGIN_LIMIT_PER_ACCOUNT": os.environ.get("PORTAL_LOGIN_LIMIT_ACCOUNT", "5 per 15 minutes"),
        # Contact box: messages per address (counted under an HMAC, never the address).
        "CONTACT_LIMIT": os.environ.get("PORTAL_CONTACT_LIMIT", "5 per 10 minutes"),
        # Lost and found: the appointment service a claimant books to collect a found item.
        "LOST_FOUND_CLAIM_SERVICE": os.environ.get("PORTAL_LOST_FOUND_CLAIM_SERVICE", "失物认领"),
        # Mail: SMTP when a host is set, otherwise the dev outbox.
        "SMTP_HOST": os.environ.get("PORTAL_SMTP_HOST") or None,
        "SMTP_PORT": _env_int("PORTAL_SMTP_PORT", 587),
        "SMTP_USER": os.environ.get("PORTAL_SMTP_USER") or None,
        "SMTP_PASSWORD": os.environ.get("PORTAL_SMTP_PASSWORD") or None,
        "SMTP_STARTTLS": _env_bool("PORTAL_SMTP_STARTTLS", True),
        "MAIL_FROM": os.environ.get("PORTAL_MAIL_FROM", "网上警务室 <noreply@localhost>"),
        # Identity verification.
        "VERIFICATION_VALID_DAYS": _env_int("PORTAL_VERIFICATION_VALID_DAYS", 365),
        "PASSWORD_RESET_MINUTES": _env_int("PORTAL_PASSWORD_RESET_MINUTES", 30),
        "STATION_REGION": os.environ.get("PORTAL_STATION_REGION", "220302"),
        # Employers' worker lists (registry): largest file and most rows per submission.
        "REGISTRY_IMPORT_MAX_BYTES": _env_int("PORTAL_REGISTRY_IMPORT_MAX_BYTES", 1024 * 1024),
        "REGISTRY_IMPORT_MAX_ROWS": _env_int("PORTAL_REGISTRY_IMPORT_MAX_ROWS", 500),
        # Appointments: open bookings per resident, cancel/reschedule cutoff, no-shows
        # (since the last approved booking) before the next booking needs an officer.
        "APPOINTMENT_MAX_OPEN": _env_int("PORTAL_APPOINTMENT_MAX_OPEN", 2),
        "APPOINTMENT_CANCEL_CUTOFF_MINUTES": _env_int(
            "PORTAL_APPOINTMENT_CANCEL_CUTOFF_MINUTES", 120
        ),
        "APPOINTMENT_NO_SHOW_LIMIT": _env_int("PORTAL_APPOINTMENT_NO_SHOW_LIMIT", 2),
        # Registry: closed ledger records are anonymised after this many days.
        "REGISTRY_RETENTION_DAYS": _env_int("PORTAL_REGISTRY_RETENTION_DAYS", 3 * 365),
        # Registry: the stored ledger figures are recomputed when older than this (seconds).
        "REGISTRY_FIGURES_MAX_AGE": _env_int("PORTAL_REGISTRY_FIGURES_MAX_AGE", 1200),
        # The rental and job board: words that raise the "fee" hint for moderators, how
        # many distinct reporters hide a listing until review (at least 2), and a folder
        # with rental.txt / job.txt agreement wording (admins' saved wording wins).
        "JOBS_HOUSING_FEE_WORDS": _env_words("PORTAL_JOBS_HOUSING_FEE_WORDS"),
        "JOBS_HOUSING_REPORT_THRESHOLD": _env_int("PORTAL_JOBS_HOUSING_REPORT_THRESHOLD", 3),
        "JOBS_HOUSING_AGREEMENT_TEMPLATES": _agreement_templates(
            os.environ.get("PORTAL_JOBS_HOUSING_AGREEMENT_DIR")
        ),
        # Number of reverse proxies in front (nginx = 1): trust their X-Forwarded-* headers so
        # the client's address reaches the limiter and the audit log, and https is known.
        "PROXY_COUNT": _env_int("PORTAL_PROXY_COUNT", 0),
        "WORKER_INTERVAL_SECONDS": _env_int("PORTAL_WORKER_INTERVAL", 5),
        "RUN_WORKER_IN_PROCESS": False,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": {"zh_CN": "中文", "en": "English"},
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": False,
        "ARGON2_TIME_COST": 2,
        "ARGON2_MEMORY_KIB": 19 * 1024,
        "ARGON2_PARALLELISM": 1,
    }
