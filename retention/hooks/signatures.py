"""Standard Webhooks signatures: HMAC-SHA256 over "{id}.{timestamp}.{body}" with whsec_ secrets."""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


class SignatureError(Exception):
    """The request is not signed by a sender we trust, or not recently enough."""


def secret_bytes(secret: str) -> bytes:
    """The key bytes of a `whsec_<base64>` secret."""
    if secret.startswith("whsec_"):
        secret = secret[len("whsec_"):]
    return base64.b64decode(secret)


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64>` signature of one message, as a sender computes it."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secrets: Iterable[str], msg_id: str | None, timestamp: str | None, signature_header: str | None,
           body: bytes, now_unix: float, tolerance: int = 300) -> None:
    """Raise SignatureError unless one of the signatures matches one of the secrets in time."""
    if not msg_id or not timestamp or not signature_header:
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        ts = int(timestamp)
    except ValueError:
        raise SignatureError("webhook-timestamp is not a Unix time in seconds") from None
    if abs(now_unix - ts) > tolerance:
        raise SignatureError("webhook-timestamp is more than 5 minutes away from now")
    offered = []
    for part in signature_header.split():
        version, _, value = part.partition(",")
        if version == "v1" and value:
            try:
                offered.append(base64.b64decode(value, validate=True))
            except ValueError:
                continue
    if not offered:
        raise SignatureError("webhook-signature has no v1 signature")
    signed = f"{msg_id}.{timestamp}.".encode() + body
    matched = False
    for secret in secrets:
        expected = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
        for candidate in offered:
            # compare_digest on every pair: the time taken does not reveal which one matched.
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError("no signature matches a configured secret")
