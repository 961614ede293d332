"""Uploads checked by content, stored outside ``static/`` under server-made names."""

from __future__ import annotations

import io
import secrets
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError
from werkzeug.datastructures import FileStorage

_SIGNATURES = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG"}
_EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}
# Accepted by default; a feature that shows photos to the public may add WebP.
PHOTO_FORMATS = ("JPEG", "PNG")
WEB_PHOTO_FORMATS = ("JPEG", "PNG", "WEBP")


class UploadError(ValueError):
    """An upload refused, with a message for the user."""


def _signature(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return next((fmt for sig, fmt in _SIGNATURES.items() if data.startswith(sig)), None)


def _not_accepted(formats: tuple[str, ...]) -> UploadError:
    if "WEBP" in formats:
        return UploadError(_l("只接受 JPEG、PNG 或 WebP 图片。"))
    return UploadError(_l("只接受 JPEG 或 PNG 图片。"))


def _broken(formats: tuple[str, ...]) -> UploadError:
    if "WEBP" in formats:
        return UploadError(_l("图片已损坏或不是真正的 JPEG/PNG/WebP 文件。"))
    return UploadError(_l("图片已损坏或不是真正的 JPEG/PNG 文件。"))


def read_image(
    upload: FileStorage, max_bytes: int, formats: tuple[str, ...] = PHOTO_FORMATS
) -> tuple[bytes, str]:
    """The bytes and format of an image upload in one of ``formats`` (JPEG, PNG, WEBP),
    or UploadError with the reason.

    The browser's content type and the file name are ignored: only the bytes decide —
    the signature first, then Pillow must decode the same format.
    """
    data = upload.stream.read(max_bytes + 1)
    if not data:
        raise UploadError(_l("文件是空的。"))
    if len(data) > max_bytes:
        raise UploadError(_l("文件太大，最大 %(mb)s MB。", mb=max_bytes // (1024 * 1024)))
    claimed = _signature(data)
    if claimed is None or claimed not in formats:
        raise _not_accepted(formats)
    try:
        with Image.open(io.BytesIO(data), formats=[claimed]) as img:
            img.verify()
            actual = img.format
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise _broken(formats) from None
    if actual != claimed:
        raise _not_accepted(formats)
    return data, actual


def upload_dir(kind: str) -> Path:
    """The folder for one kind of upload under the instance upload root."""
    path = Path(current_app.config["UPLOAD_DIR"]) / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def reencode(data: bytes, fmt: str, max_side: int) -> bytes:
    """Decode and encode again: drops metadata (EXIF location) and anything hidden after
    the image data, and shrinks it to ``max_side`` pixels. An animated WebP keeps its
    first frame."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        img.thumbnail((max_side, max_side))
        if fmt == "JPEG" and img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        if fmt == "WEBP" and img.mode not in ("RGB", "RGBA"):
            img = img.convert("RGBA" if "A" in img.mode or "transparency" in img.info else "RGB")
        out = io.BytesIO()
        options = {"quality": 85} if fmt in ("JPEG", "WEBP") else {}
        img.save(out, fmt, **options)
        return out.getvalue()


def store_image(
    upload: FileStorage,
    kind: str,
    max_side: int | None = None,
    formats: tuple[str, ...] = PHOTO_FORMATS,
) -> str:
    """Check and store an image; returns the server-made file name.

    With ``max_side`` the image is re-encoded (for pictures shown to the public);
    ``formats`` may add "WEBP" (``WEB_PHOTO_FORMATS``)."""
    data, fmt = read_image(upload, current_app.config["MAX_PHOTO_BYTES"], formats)
    if max_side:
        data = reencode(data, fmt, max_side)
    name = secrets.token_hex(16) + _EXTENSIONS[fmt]
    (upload_dir(kind) / name).write_bytes(data)
    return name


def stored_path(kind: str, name: str) -> Path | None:
    """The path of a stored upload, refusing anything that is not a plain server-made name."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    path = upload_dir(kind) / name
    return path if path.is_file() else None
