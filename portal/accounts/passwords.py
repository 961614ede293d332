"""Password hashing with argon2id at OWASP ASVS 5.0 strength (m=19 MiB, t=2, p=1 or more).

Werkzeug's default scrypt setting is below that bar, so it is not used.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app

# A hash to check against when the account does not exist, so timing does not tell.
_DUMMY: dict[tuple[int, int, int], str] = {}


def hasher() -> PasswordHasher:
    """The configured argon2id hasher."""
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["ARGON2_TIME_COST"],
        memory_cost=cfg["ARGON2_MEMORY_KIB"],
        parallelism=cfg["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return hasher().hash(password)


def check_password(stored: str | None, password: str) -> bool:
    """True if the password matches; spends the same time when there is no hash."""
    ph = hasher()
    if not stored:
        key = (ph.time_cost, ph.memory_cost, ph.parallelism)
        if key not in _DUMMY:
            _DUMMY[key] = ph.hash("not-a-password")
        stored = _DUMMY[key]
        password = password + "\x00"
    try:
        return ph.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when the stored hash is weaker than the current setting."""
    try:
        return hasher().check_needs_rehash(stored)
    except InvalidHashError:
        return True
