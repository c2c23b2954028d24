"""Sending to receivers outside the stack: a brand's webhook, a WeCom group robot.

Every send goes through ``post``, which never raises anything but ``DeliveryFailed`` (an
unreachable host, an HTTP error, a malformed URL, a broken answer are all failed deliveries the
caller retries or records, never a crash) and never takes more than SEND_TIMEOUT_SECONDS in all.
``post`` is guarded (``guarded_http``): https only (http to loopback only when the stack runs
locally), no address inside a private network or this machine, even behind a DNS name, no redirect
followed, at most MAX_ANSWER_BYTES of the answer read.
Webhook bodies are JSON signed with HMAC-SHA256 (``X-Siyu-Signature``) and carry what they are
(``X-Siyu-Event``) and, where the sender may repeat a send, an ``Idempotency-Key``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from siyu.delivery.guarded_http import ExchangeFailed, exchange, shown

SEND_TIMEOUT_SECONDS = 5
ANSWER_BYTES = 4096  # what a caller sees of the answer
MAX_ANSWER_BYTES = 64 * 1024  # what is read of it at most


class DeliveryFailed(Exception):
    """The receiver did not take the message; the text says why (for the delivery log)."""


def signature(secret: str, body: bytes) -> str:
    """X-Siyu-Signature: what a receiver recomputes to trust the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(url: str, body: bytes, headers: Mapping[str, str]) -> bytes:
    """POST `body` as JSON; the answer's first 4 KB, or DeliveryFailed saying why."""
    try:
        answer = exchange(
            "POST",
            url,
            body,
            {"Content-Type": "application/json; charset=utf-8", **headers},
            timeout=SEND_TIMEOUT_SECONDS,
            max_answer=MAX_ANSWER_BYTES,
        )
    except ExchangeFailed as error:
        raise DeliveryFailed(str(error)) from None
    except Exception as error:  # a malformed URL or a broken answer is a failed delivery, not a crash
        raise DeliveryFailed(f"could not deliver to {shown(url)}: {type(error).__name__}") from None
    if 300 <= answer.status < 400:
        raise DeliveryFailed(f"HTTP {answer.status} from {shown(url)}: a redirect, which is not followed")
    if answer.status >= 400 or answer.status < 200:
        raise DeliveryFailed(f"HTTP {answer.status} from {shown(url)}")
    return answer.body[:ANSWER_BYTES]


def send_webhook(
    url: str, secret: str | None, event: str, payload: Mapping[str, Any], idempotency_key: str | None = None
) -> None:
    """POST `payload` as signed JSON to a brand's receiver, or DeliveryFailed."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    headers = {"X-Siyu-Signature": signature(secret or "", body), "X-Siyu-Event": event}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    post(url, body, headers)


def send_robot(url: str, message: Mapping[str, Any]) -> None:
    """Send one WeCom group robot message; DeliveryFailed unless the robot answers errcode 0."""
    answer = post(url, json.dumps(message, ensure_ascii=False).encode(), {})
    try:
        errcode = json.loads(answer or b"{}").get("errcode", -1)
    except (ValueError, AttributeError):
        errcode = -1
    if errcode != 0:
        raise DeliveryFailed(f"WeCom robot answered {answer[:200]!r}")
