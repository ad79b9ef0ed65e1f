"""Standard Webhooks signatures: HMAC-SHA256 over "{id}.{timestamp}.{body}" with whsec_ secrets."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable

# Unix seconds as ASCII digits; twelve digits reach past the year 30000, so anything longer is not a time.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


# Standard Webhooks secrets are 24 to 64 random bytes; a shorter key can be guessed, an empty one
# makes every HMAC "valid" for anyone.
MIN_SECRET_BYTES = 24
SECRETS_SETTING = "RETENTION_WEBHOOK_SECRETS"


class SignatureError(Exception):
    """The request is not signed by a sender we trust, or not recently enough."""


class SecretError(RuntimeError):
    """A configured webhook secret cannot be used: the app refuses to start with it."""


def check_secrets(secrets: Iterable[str]) -> list[str]:
    """The secrets, each `whsec_` + base64 of at least MIN_SECRET_BYTES bytes; SecretError naming the setting."""
    checked = []
    for number, secret in enumerate(secrets, start=1):
        where = f"{SECRETS_SETTING}: secret {number}"
        if not secret.startswith("whsec_"):
            raise SecretError(f"{where} does not start with whsec_ (format: whsec_<base64 of random bytes>)")
        try:
            key = base64.b64decode(secret[len("whsec_"):], validate=True)
        except (binascii.Error, ValueError):
            raise SecretError(f"{where} is not valid base64 after whsec_") from None
        if len(key) < MIN_SECRET_BYTES:
            raise SecretError(f"{where} is {len(key)} bytes long once decoded; at least {MIN_SECRET_BYTES} "
                              f"are needed (make one: python -c \"import base64, secrets; "
                              f"print('whsec_' + base64.b64encode(secrets.token_bytes(32)).decode())\")")
        checked.append(secret)
    return checked


def new_secret() -> str:
    """A fresh random secret in the Standard Webhooks form."""
    import secrets

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


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
    if not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureError("webhook-timestamp is not a Unix time in seconds")
    ts = int(timestamp)
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
