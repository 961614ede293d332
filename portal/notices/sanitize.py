"""The one place where officers' rich text is made safe. Everything that touches HTML
sanitising lives here, so the library (bleach today) can be replaced in one module.

Notices are sanitised once, on save (``clean_html``); templates print the stored result
with ``|safe``. The allow-list is explicit: anything not named below is stripped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

import bleach
from bleach.html5lib_shim import Filter

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "h2", "h3", "h4", "ul", "ol", "li", "strong", "b", "em", "i", "u",
        "blockquote", "a", "img", "table", "thead", "tbody", "tr", "th", "td", "caption",
    }
)  # fmt: skip
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
# Images only from the portal's own notice uploads (server-made names).
IMAGE_SRC = re.compile(r"^/notices/images/[0-9a-f]{32}\.(?:jpg|png)$")
_ABSOLUTE_LINK = re.compile(r"^(?:https?://[^\s/\\]|mailto:[^\s])", re.IGNORECASE)
_SITE_LINK = re.compile(r"^/(?![/\\])")
# Tags whose content is code, not text: dropped together with their content.
_DROP_WITH_CONTENT = re.compile(
    r"<(script|style|template|noscript|iframe|object|embed|svg|math|xmp|noembed|noframes)\b"
    r".*?(?:</\1\s*>|$)",
    re.IGNORECASE | re.DOTALL,
)


def _invisible(ch: str) -> bool:
    # Control, format (zero-width, bidi) and whitespace characters: browsers or copy-paste
    # may drop them, so a URL containing any is refused rather than guessed at.
    return unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp") or ch.isspace()


def safe_link(value: str) -> bool:
    """True for http, https and mailto links and paths on this site; nothing else."""
    if not value or any(_invisible(ch) for ch in value):
        return False
    return bool(_ABSOLUTE_LINK.match(value) or _SITE_LINK.match(value))


def _allow_attribute(tag: str, name: str, value: str) -> bool:
    if tag == "a":
        return (name == "href" and safe_link(value)) or name == "title"
    if tag == "img":
        if name == "src":
            return bool(IMAGE_SRC.match(value))
        return name in ("alt", "width", "height") and (
            name == "alt" or value.isdigit() and len(value) <= 4
        )
    if tag in ("td", "th"):
        return name in ("colspan", "rowspan") and value.isdigit() and len(value) <= 2
    return False


class _LinkAndImageFilter(Filter):  # type: ignore[misc]
    """Every link gets rel="nofollow noopener"; an image left without a source goes."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for token in super().__iter__():
            if token["type"] in ("StartTag", "EmptyTag"):
                attrs = token["data"]
                if token["name"] == "a":
                    attrs[(None, "rel")] = "nofollow noopener"
                elif token["name"] == "img" and (None, "src") not in attrs:
                    continue
            yield token


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=_allow_attribute,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
    filters=[_LinkAndImageFilter],
)


def clean_html(html: str) -> str:
    """Officer-written HTML reduced to the allow-list. Idempotent: cleaning the result
    again changes nothing, so what is stored is what every later parse sees."""
    text = _DROP_WITH_CONTENT.sub("", html or "")
    out = _cleaner.clean(text)
    # A second pass settles anything the first pass's serialisation could re-form
    # (mutation XSS relies on markup that parses differently the second time).
    again = _cleaner.clean(out)
    return again.strip()


def plain_text(html: str) -> str:
    """The words of a (clean) HTML fragment, for search and feed summaries."""
    text = bleach.clean(html or "", tags=set(), strip=True)
    text = text.replace("&nbsp;", " ").replace("&lt;", "<").replace("&gt;", ">")
    text = text.replace("&quot;", '"').replace("&#39;", "'").replace("&amp;", "&")
    return re.sub(r"\s+", " ", text).strip()
