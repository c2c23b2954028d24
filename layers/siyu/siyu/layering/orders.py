"""The brand's order webhook (``POST /hooks/orders``): signed, idempotent by order id, so
repurchases and per-group revenue can be shown.

The brand signs each call with the secret an operator set (``PUT /admin/order-webhook``; kept in
the secret store, never returned): ``X-Siyu-Timestamp: <epoch seconds>`` and
``X-Siyu-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">``. A timestamp more
than 5 minutes away is refused (a replay); the same order id twice changes nothing.

Body: ``{"order_id", "amount_fen", "paid_at", "chat_id"?, "external_userid"?, "visitor_id"?}``
(the group the order is credited to, and who bought: a WeCom contact or a visitor).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from siyu.core.clock import utcnow
from siyu.core.errors import InvalidInput, NotFound, SiyuError
from siyu.layering.flash_rules import CHINA
from siyu.layering.model import Order

MAX_SKEW = timedelta(minutes=5)
ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class SignatureRefused(SiyuError):
    """The call is not signed with the order webhook's secret (401)."""


class OrderStore(Protocol):
    def record_order(self, order: Order, day: str) -> str: ...


class WebhookSecret(Protocol):
    def get(self) -> str | None: ...


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def check_signature(secret: str, timestamp: str, body: bytes, given: str, now: datetime) -> None:
    if not timestamp.isdigit() or abs(now.timestamp() - int(timestamp)) > MAX_SKEW.total_seconds():
        raise SignatureRefused("X-Siyu-Timestamp is missing or more than 5 minutes away from now")
    if not hmac.compare_digest(given.encode(), signature(secret, timestamp, body).encode()):
        raise SignatureRefused("X-Siyu-Signature does not match the body signed with the order webhook's secret")


def order_from(document: Any) -> Order:
    if not isinstance(document, dict):
        raise InvalidInput('send a JSON object: {"order_id", "amount_fen", "paid_at", ...}')
    order_id, amount, paid = document.get("order_id"), document.get("amount_fen"), document.get("paid_at")
    if not isinstance(order_id, str) or not ID.match(order_id):
        raise InvalidInput("order_id: 1-64 letters, digits, '_', '.', ':' or '-'")
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= 10**11:
        raise InvalidInput("amount_fen: the amount paid in fen (分), a whole number")
    try:
        paid_at = datetime.fromisoformat(str(paid))
    except ValueError:
        raise InvalidInput("paid_at: an ISO-8601 time with its offset, e.g. 2026-12-05T10:00:00+08:00") from None
    if paid_at.tzinfo is None:
        raise InvalidInput("paid_at: give the offset, e.g. +08:00")
    who = [document.get(k) for k in ("external_userid", "visitor_id")]
    if not any(isinstance(w, str) and ID.match(w) for w in who):
        raise InvalidInput("name the buyer: external_userid (WeCom contact) or visitor_id (the siyu_vid cookie)")
    external, visitor = who
    buyer = external if isinstance(external, str) and ID.match(external) else f"v:{visitor}"
    chat = document.get("chat_id")
    if chat is not None and (not isinstance(chat, str) or not ID.match(chat)):
        raise InvalidInput("chat_id: the customer group's chat id")
    return Order(order_id, amount, paid_at, buyer, chat)


@dataclass
class OrderWebhook:
    orders: OrderStore
    secret: WebhookSecret
    clock: Callable[[], datetime] = utcnow

    def receive(self, body: bytes, timestamp: str, given: str, document: Callable[[bytes], Any]) -> str:
        """ "new", "repurchase" or "duplicate"; SignatureRefused, InvalidInput, NotFound otherwise."""
        secret = self.secret.get()
        if secret is None:
            raise NotFound("the order webhook is not set up: an operator sets its secret first")
        check_signature(secret, timestamp, body, given, self.clock())
        order = order_from(document(body))
        return self.orders.record_order(order, order.paid_at.astimezone(CHINA).date().isoformat())
