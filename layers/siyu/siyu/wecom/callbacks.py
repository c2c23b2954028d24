"""WeCom's callbacks arriving: verified, remembered, queued, acknowledged.

``GET /wecom/callback`` is WeCom checking the URL: the decrypted ``echostr`` goes back as plain
text. ``POST`` carries one encrypted event: the signature and receive id are checked, the
(signature, nonce) pair must be new (remembered for a day: a replay is refused), the timestamp
may be held to a maximum age, and the plaintext goes to the queue before WeCom hears
``success`` (well within its 5 s). The worker processes each event once (``events_worker``).

Every refusal is ``CallbackRefused`` and says nothing: the caller answers 403 with no detail.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from siyu.core.clock import utcnow
from siyu.wecom.crypto import CallbackCrypto, CallbackRefused

logger = logging.getLogger("siyu.wecom")


class CallbackMemory(Protocol):
    def remember_callback(self, fingerprint: str, now: datetime) -> bool: ...

    def forget_callback(self, fingerprint: str) -> None: ...


class EventSink(Protocol):
    def send(self, plaintext: bytes) -> None: ...


@dataclass
class CallbackReceiver:
    crypto: Callable[[], CallbackCrypto | None]  # the connected corp's, or None
    memory: CallbackMemory
    queue: EventSink
    max_age_seconds: int = 0  # 0: no age check (the replay memory still holds for a day)
    clock: Callable[[], datetime] = utcnow

    def verify_url(self, query: Mapping[str, str]) -> str:
        crypto = self._crypto()
        signature, timestamp, nonce = _signed(query)
        return crypto.verify_url(signature, timestamp, nonce, query.get("echostr", ""))

    def receive(self, query: Mapping[str, str], body: bytes) -> None:
        crypto = self._crypto()
        signature, timestamp, nonce = _signed(query)
        plaintext = crypto.decrypt_message(body, signature, timestamp, nonce)
        self._check_age(timestamp)
        fingerprint = hashlib.sha256(f"{signature}|{nonce}".encode()).hexdigest()[:40]
        if not self.memory.remember_callback(fingerprint, self.clock()):
            logger.info("refused a replayed WeCom callback")
            raise CallbackRefused("replayed")
        try:
            self.queue.send(plaintext)
        except BaseException:
            self.memory.forget_callback(fingerprint)  # WeCom retries: let that retry in
            raise

    def _crypto(self) -> CallbackCrypto:
        crypto = self.crypto()
        if crypto is None:
            raise CallbackRefused("not connected")
        return crypto

    def _check_age(self, timestamp: str) -> None:
        if self.max_age_seconds <= 0:
            return
        try:
            sent = int(timestamp)
        except ValueError:
            raise CallbackRefused("timestamp") from None
        if abs(self.clock().timestamp() - sent) > self.max_age_seconds:
            raise CallbackRefused("too old")


def _signed(query: Mapping[str, str]) -> tuple[str, str, str]:
    signature, timestamp, nonce = (query.get(k, "") for k in ("msg_signature", "timestamp", "nonce"))
    if not (signature and timestamp and nonce) or max(len(signature), len(timestamp), len(nonce)) > 128:
        raise CallbackRefused("missing")
    return signature, timestamp, nonce
