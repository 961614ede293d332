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
_EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png"}


class UploadError(ValueError):
    """An upload refused, with a message for the user."""


def read_image(upload: FileStorage, max_bytes: int) -> tuple[bytes, str]:
    """The bytes and format of a JPEG or PNG upload, or UploadError with the reason.

    The browser's content type and the file name are ignored: only the bytes decide.
    """
    data = upload.stream.read(max_bytes + 1)
    if not data:
        raise UploadError(_l("文件是空的。"))
    if len(data) > max_bytes:
        raise UploadError(_l("文件太大，最大 %(mb)s MB。", mb=max_bytes // (1024 * 1024)))
    claimed = next((fmt for sig, fmt in _SIGNATURES.items() if data.startswith(sig)), None)
    if claimed is None:
        raise UploadError(_l("只接受 JPEG 或 PNG 图片。"))
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.verify()
            actual = img.format
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise UploadError(_l("图片已损坏或不是真正的 JPEG/PNG 文件。")) from None
    if actual != claimed:
        raise UploadError(_l("只接受 JPEG 或 PNG 图片。"))
    return data, actual


def upload_dir(kind: str) -> Path:
    """The folder for one kind of upload under the instance upload root."""
    path = Path(current_app.config["UPLOAD_DIR"]) / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def reencode(data: bytes, fmt: str, max_side: int) -> bytes:
    """Decode and encode again: drops metadata (EXIF location) and anything hidden after
    the image data, and shrinks it to ``max_side`` pixels."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        img.thumbnail((max_side, max_side))
        if fmt == "JPEG" and img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        out = io.BytesIO()
        img.save(out, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
        return out.getvalue()


def store_image(upload: FileStorage, kind: str, max_side: int | None = None) -> str:
    """Check and store an image; returns the server-made file name.

    With ``max_side`` the image is re-encoded (for pictures shown to the public)."""
    data, fmt = read_image(upload, current_app.config["MAX_PHOTO_BYTES"])
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
