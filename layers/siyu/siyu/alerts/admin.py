"""What operators do with alert channels and the alert log (the admin API's logic)."""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from siyu.alerts.destinations import KINDS, AlertChannel, AlertMessage, DeliveryFailed, deliver
from siyu.alerts.repository import AlertsTable
from siyu.core.clock import utcnow
from siyu.core.errors import InvalidInput, NotFound
from siyu.live_codes.repository import CodesTable
from siyu.storage import aws

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class AlertAdmin:
    alerts: AlertsTable
    codes: CodesTable
    sns: object
    topic_arn: str | None
    clock: Callable[[], datetime] = utcnow

    @classmethod
    def from_environment(cls) -> AlertAdmin:
        return cls(
            AlertsTable.from_environment(), CodesTable.from_environment(), aws.sns(), os.environ.get("ALERT_TOPIC_ARN")
        )

    def add_channel(
        self,
        name: str,
        kind: str,
        url: str | None = None,
        secret: str | None = None,
        email: str | None = None,
        code_id: str | None = None,
    ) -> AlertChannel:
        if kind not in KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
        if kind in ("wecom_robot", "webhook"):
            parts = urlsplit(url or "")
            if parts.scheme not in ("https", "http") or not parts.hostname:
                raise InvalidInput(f"a {kind} channel needs the full http(s) url of the receiver")
            if kind == "webhook" and not secret:
                secret = secrets.token_urlsafe(32)  # shown once, in the creation answer
        elif not email or not _EMAIL.match(email):
            raise InvalidInput("an email channel needs a valid email address")
        if code_id and self.codes.load(code_id, consistent=True)[0] is None:
            raise NotFound(f"no live code with id {code_id!r}")
        channel = AlertChannel(
            id=secrets.token_hex(4),
            name=name,
            kind=kind,
            created_at=self.clock(),
            url=url if kind != "email" else None,
            secret=secret if kind == "webhook" else None,
            email=email if kind == "email" else None,
            code_id=code_id,
        )
        if kind == "email":
            channel = self._subscribe(channel)
        self.alerts.put_channel(channel)
        return channel

    def channels(self) -> list[AlertChannel]:
        return self.alerts.channels()

    def remove_channel(self, channel_id: str) -> None:
        channel = self._channel(channel_id)
        if channel.subscription_arn and channel.subscription_arn.startswith("arn:"):  # not "pending confirmation"
            self.sns.unsubscribe(SubscriptionArn=channel.subscription_arn)  # first: no orphan subscriber
        self.alerts.delete_channel(channel_id)

    def test_channel(self, channel_id: str) -> str | None:
        """Send a test message now; None when it arrived, else what went wrong."""
        channel = self._channel(channel_id)
        message = AlertMessage(
            id=secrets.token_hex(8),
            code_id=channel.code_id or "-",
            code_name="测试消息",
            event="test",
            condition="test",
            severity="info",
            text=f"这是一条来自 siyu 的测试消息：告警渠道「{channel.name}」工作正常。",
            occurred_at=self.clock(),
        )
        try:
            deliver(channel, message, self.sns, self.topic_arn)
        except DeliveryFailed as error:
            return str(error)
        return None

    def log(self, code_id: str | None, limit: int, cursor: str | None):
        return self.alerts.log(code_id, limit, cursor)

    def _channel(self, channel_id: str) -> AlertChannel:
        channel = next((c for c in self.alerts.channels() if c.id == channel_id), None)
        if channel is None:
            raise NotFound(f"no alert channel with id {channel_id!r}")
        return channel

    def _subscribe(self, channel: AlertChannel) -> AlertChannel:
        if not self.topic_arn:
            raise InvalidInput("e-mail alerts need the stack's alert topic (ALERT_TOPIC_ARN is not set)")
        # Only messages published for this channel reach this address (one copy per channel).
        attributes = {"FilterPolicy": json.dumps({"channel_id": [channel.id]})}
        answer = self.sns.subscribe(
            TopicArn=self.topic_arn,
            Protocol="email",
            Endpoint=channel.email,
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )
        return AlertChannel(**{**channel.__dict__, "subscription_arn": answer.get("SubscriptionArn")})
