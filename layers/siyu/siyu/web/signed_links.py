"""Signed, time-limited links: a small payload and an expiry, carried in a URL and trusted only
with the stack's signing key (HMAC-SHA256). For pages that need no login but must not be guessed
or kept forever (a guide's SOP task page).

A token is ``<payload>.<signature>``: the payload is URL-safe base64 of compact JSON with ``exp``
(epoch seconds); the signature is URL-safe base64 of HMAC-SHA256 over the payload text. Pure: the
key comes from the caller (``siyu.storage.signing_key``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

MAX_TOKEN_LENGTH = 2000


class LinkRefused(Exception):
    """A token that is malformed, forged or expired (the page says which, nothing more)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # "invalid" or "expired"


def sign(payload: Mapping[str, Any], expires_at: datetime, key: bytes) -> str:
    body = {**payload, "exp": int(expires_at.timestamp())}
    text = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode())
    return f"{text}.{_b64(_mac(text, key))}"


def verify(token: str, key: bytes, now: datetime) -> dict[str, Any]:
    """The payload of a genuine, unexpired token; LinkRefused otherwise."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        raise LinkRefused("invalid")
    text, signature = token.split(".")
    if not text.isascii():
        raise LinkRefused("invalid")
    try:
        given = _unb64(signature)
    except ValueError:
        raise LinkRefused("invalid") from None
    if not hmac.compare_digest(given, _mac(text, key)):
        raise LinkRefused("invalid")
    try:
        payload = json.loads(_unb64(text))
    except ValueError:
        raise LinkRefused("invalid") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int):
        raise LinkRefused("invalid")
    if payload["exp"] <= now.timestamp():
        raise LinkRefused("expired")
    return payload


def _mac(text: str, key: bytes) -> bytes:
    return hmac.new(key, text.encode("ascii"), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    if not text or not text.isascii():
        raise ValueError("empty or not ASCII")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as error:
        raise ValueError(str(error)) from None
