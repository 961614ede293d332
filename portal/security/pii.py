"""Personal data at rest: encryption, keyed look-up hashes and masking.

ID numbers and phone numbers are stored only as AES-GCM ciphertext. A keyed hash
(HMAC-SHA256 under a key derived from the same master key) sits beside each one so the
database can enforce uniqueness and find a record without ever holding the plaintext.
Every screen shows the masked form; revealing the plain value is an audited act
(``portal.security.audit``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import String
from sqlalchemy.types import TypeDecorator

_VERSION = b"v1"


class PiiCipher:
    """Encrypts, decrypts and blind-indexes personal data under one master key."""

    def __init__(self, master_key: str | bytes) -> None:
        raw = master_key.encode() if isinstance(master_key, str) else master_key
        try:
            key = base64.urlsafe_b64decode(raw)
        except ValueError:
            key = b""
        if len(key) != 32:
            raise ValueError("PORTAL_PII_KEY must be 32 bytes, url-safe base64 encoded")
        self._aead = AESGCM(self._derive(key, b"portal-pii-encryption"))
        self._index_key = self._derive(key, b"portal-pii-blind-index")

    @staticmethod
    def _derive(key: bytes, info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)

    def encrypt(self, plaintext: str) -> str:
        """Ciphertext as ASCII text: version, nonce and sealed bytes."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), _VERSION)
        return _VERSION.decode() + ":" + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str) -> str:
        """The plaintext of a value made by ``encrypt``."""
        version, _, body = token.partition(":")
        data = base64.urlsafe_b64decode(body.encode())
        return self._aead.decrypt(data[:12], data[12:], version.encode()).decode("utf-8")

    def blind_index(self, kind: str, normalized: str) -> str:
        """A keyed hash for uniqueness and look-up; ``kind`` keeps phones and IDs apart."""
        msg = f"{kind}:{normalized}".encode()
        return hmac.new(self._index_key, msg, hashlib.sha256).hexdigest()


def cipher() -> PiiCipher:
    """The app's cipher (created in ``create_app`` from ``PII_KEY``)."""
    return current_app.extensions["portal.pii"]


class EncryptedString(TypeDecorator[str]):
    """A column type that stores a string encrypted and hands back the plaintext."""

    impl = String(255)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: object) -> str | None:
        return None if value is None else cipher().encrypt(value)

    def process_result_value(self, value: str | None, dialect: object) -> str | None:
        return None if value is None else cipher().decrypt(value)


def normalize_phone(value: str) -> str:
    """Digits only, without a +86 / 0086 prefix."""
    digits = re.sub(r"\D", "", value or "")
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


PHONE_RE = re.compile(r"^1[3-9]\d{9}$")


def is_mobile_phone(value: str) -> bool:
    """A mainland mobile number: 11 digits starting 13–19."""
    return bool(PHONE_RE.match(normalize_phone(value)))


def phone_index(phone: str) -> str:
    """Blind index of a phone number."""
    return cipher().blind_index("phone", normalize_phone(phone))


def id_index(id_number: str) -> str:
    """Blind index of a resident ID number."""
    return cipher().blind_index("id", id_number.strip().upper())


def mask_id(value: str | None) -> str:
    """110105********002X: region kept, birth date and sequence hidden."""
    if not value:
        return ""
    if len(value) <= 10:
        return value[:1] + "*" * (len(value) - 1)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    """138****5678."""
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str | None) -> str:
    """张*, 欧阳** — the family name stays, the rest is hidden."""
    if not value:
        return ""
    if len(value) == 1:
        return value
    keep = 2 if len(value) >= 4 else 1
    return value[:keep] + "*" * (len(value) - keep)
