"""A survey's link token: random, derived from the app's secret and a per-survey nonce, stored only hashed.

token = first 32 characters of base64url(HMAC-SHA256(SECRET_KEY, "survey-link:" + nonce)): 192 bits, where the
nonce is 128 random bits (secrets.token_hex(16)). The table keeps the nonce and sha256(token): a copy of the
database alone cannot make a link (the secret is not in it), and a link says nothing about any other survey or
customer. Deriving it (rather than keeping it) lets a letter printed days later, or reprinted, carry the same
link as the email. Rotating SECRET_KEY keeps every link already sent working (the hash is looked up); only a
letter printed after the rotation would carry a new link, so `issue` is called again for it (letter_link).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from flask import current_app

TOKEN_CHARS = 32
NONCE_BYTES = 16


def derive(nonce: str, secret: str | bytes | None = None) -> str:
    secret = secret if secret is not None else current_app.config["SECRET_KEY"]
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, b"survey-link:" + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:TOKEN_CHARS]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_nonce() -> str:
    return secrets.token_hex(NONCE_BYTES)


def new_token() -> tuple[str, str]:
    """(nonce, token) of a fresh link: the survey keeps the nonce and token_hash(token)."""
    nonce = new_nonce()
    return nonce, derive(nonce)


def issue(survey) -> str:
    """Give the survey a fresh nonce and hash; returns its token (never stored)."""
    survey.token_nonce, token = new_token()
    survey.token_hash = token_hash(token)
    return token


def token_of(survey) -> str | None:
    """The survey's token when the current secret still makes it, else None (issue a new one)."""
    if not survey.token_nonce or not survey.token_hash:
        return None
    token = derive(survey.token_nonce)
    return token if hmac.compare_digest(token_hash(token), survey.token_hash) else None


def plausible(token: str) -> bool:
    """Whether a text could be a token at all (before any database lookup)."""
    return isinstance(token, str) and 16 <= len(token) <= 64 and all(
        c.isascii() and (c.isalnum() or c in "-_") for c in token)
