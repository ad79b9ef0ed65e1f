"""Where a redirect may go: only same-site paths, whatever the request asks for (no open redirects)."""
from __future__ import annotations

from urllib.parse import unquote, urlsplit

from flask import request

# Longer targets are not links a page of ours would make; refusing them keeps the check cheap.
MAX_TARGET_LENGTH = 2000


def _looks_like_elsewhere(text: str) -> bool:
    """Whether a browser could read this as another site: a scheme, a host, or characters it drops or rewrites."""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F or ch.isspace() for ch in text):
        return True  # tab, CR and LF are removed by browsers ("/\t/evil" becomes "//evil"); CR/LF break headers
    if "\\" in text:
        return True  # browsers read "\" as "/" ("/\evil" is "//evil")
    if not text.startswith("/") or text.startswith("//"):
        return True
    parts = urlsplit(text)
    return bool(parts.scheme or parts.netloc)


def is_same_site_path(target: str | None) -> bool:
    """Whether `target` is a path on this site ("/calls/?x=1"), also after percent-decoding it."""
    if not isinstance(target, str) or not target or len(target) > MAX_TARGET_LENGTH:
        return False
    text = target
    for _ in range(3):  # "%252F%252F" decodes twice; a few rounds cover what any proxy would do
        if _looks_like_elsewhere(text):
            return False
        decoded = unquote(text)
        if decoded == text:
            return True
        text = decoded
    return False


def safe_next(target: str | None, fallback: str) -> str:
    """`target` when it is a same-site path, else `fallback` (a URL we built ourselves)."""
    return target if is_same_site_path(target) else fallback


def safe_referrer(fallback: str) -> str:
    """The page the request came from, as a path, when it is on this site; else `fallback`."""
    referrer = request.referrer
    if not referrer or len(referrer) > MAX_TARGET_LENGTH:
        return fallback
    try:
        parts = urlsplit(referrer)
    except ValueError:
        return fallback
    if parts.scheme not in ("http", "https") or parts.netloc != request.host:
        return fallback
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return safe_next(path, fallback)
