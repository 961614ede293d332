"""Shared image uploads: checked by content; WebP accepted where a feature asks for it,
re-encoded without metadata like JPEG and PNG."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage

from portal.security import uploads


def _webp(size=(1600, 1200), mode="RGB", exif: bool = True) -> bytes:
    img = Image.new(mode, size, (200, 30, 30) if mode == "RGB" else (200, 30, 30, 128))
    buf = io.BytesIO()
    extra = {}
    if exif:
        e = Image.Exif()
        e[0x010F] = "SecretCameraMaker"
        extra["exif"] = e.tobytes()
    img.save(buf, "WEBP", quality=90, **extra)
    return buf.getvalue()


def _file(data: bytes, name: str = "x.jpg") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name)


def test_webp_is_read_by_content_when_allowed(app):
    data = _webp()
    assert b"SecretCameraMaker" in data
    got, fmt = uploads.read_image(_file(data, "photo.png"), 10**7, uploads.WEB_PHOTO_FORMATS)
    assert fmt == "WEBP" and got == data
    with pytest.raises(uploads.UploadError) as err:
        uploads.read_image(_file(data), 10**7)  # the default stays JPEG and PNG
    assert "只接受 JPEG 或 PNG 图片" in str(err.value)


@pytest.mark.parametrize(
    "data",
    [
        b"RIFF\x10\x00\x00\x00WEBPVP8 garbage-garbage",
        b"RIFF" + b"\x00" * 4 + b"WEBP",
    ],
)
def test_broken_webp_is_refused(app, data):
    with app.test_request_context():
        with pytest.raises(uploads.UploadError) as err:
            uploads.read_image(_file(data), 10**7, uploads.WEB_PHOTO_FORMATS)
        assert "WebP" in str(err.value)


def test_riff_that_is_not_webp_is_refused(app):
    with app.test_request_context():
        with pytest.raises(uploads.UploadError) as err:
            uploads.read_image(
                _file(b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 30),
                10**7,
                uploads.WEB_PHOTO_FORMATS,
            )
        assert "只接受 JPEG、PNG 或 WebP 图片" in str(err.value)


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_webp_is_reencoded_shrunk_and_stripped(app, mode):
    with app.test_request_context():
        name = uploads.store_image(
            _file(_webp(mode=mode)), "test", max_side=800, formats=uploads.WEB_PHOTO_FORMATS
        )
        assert name.endswith(".webp")
        path = uploads.stored_path("test", name)
        stored = path.read_bytes()
    assert b"SecretCameraMaker" not in stored
    with Image.open(io.BytesIO(stored)) as img:
        assert img.format == "WEBP" and max(img.size) == 800
        assert not img.getexif()
        assert img.mode == mode


def test_animated_webp_keeps_its_first_frame(app):
    frames = [Image.new("RGB", (64, 64), c) for c in ((255, 0, 0), (0, 255, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:], duration=100)
    with app.test_request_context():
        name = uploads.store_image(
            _file(buf.getvalue()), "test", max_side=100, formats=uploads.WEB_PHOTO_FORMATS
        )
        stored = uploads.stored_path("test", name).read_bytes()
    with Image.open(io.BytesIO(stored)) as img:
        assert getattr(img, "n_frames", 1) == 1
        assert img.convert("RGB").getpixel((5, 5))[0] > 200
