"""Operator alerts: the channels they arrive on and how one message is delivered.

Channels: a WeCom group robot (markdown), a generic webhook (JSON body signed with
HMAC-SHA256 in X-Siyu-Signature), and e-mail through the stack's SNS topic. Delivery is
at-least-once: a failed send is retried with exponential backoff by later job runs, and a
crash between a send and its record may repeat that one message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from siyu.core.clock import to_iso, to_precise_iso
from siyu.delivery.sender import DeliveryFailed, send_robot, send_webhook

KINDS = ("wecom_robot", "webhook", "email")
SEVERITY_LABEL = {"critical": "紧急", "warning": "提醒", "info": "通知"}
EVENT_LABEL = {"raised": "告警", "resolved": "已恢复", "switched": "已切换", "test": "测试"}


@dataclass(frozen=True)
class AlertChannel:
    id: str
    name: str
    kind: str  # wecom_robot | webhook | email
    created_at: datetime
    url: str | None = None  # robot / webhook
    secret: str | None = None  # webhook signing secret
    email: str | None = None
    code_id: str | None = None  # None: every code's alerts
    subscription_arn: str | None = None  # email: the SNS subscription made for it

    def covers(self, code_id: str) -> bool:
        return self.code_id in (None, code_id)


@dataclass(frozen=True)
class AlertMessage:
    id: str
    code_id: str
    code_name: str
    event: str  # raised | resolved | switched | test
    condition: str  # e.g. expiring_24h:<target>, runway_low, on_fallback, switched
    severity: str  # critical | warning | info
    text: str
    occurred_at: datetime

    def payload(self) -> dict:
        return {
            "id": self.id,
            "event": self.event,
            "condition": self.condition,
            "severity": self.severity,
            "code_id": self.code_id,
            "code_name": self.code_name,
            "message": self.text,
            "occurred_at": to_precise_iso(self.occurred_at),
        }

    def headline(self) -> str:
        event = EVENT_LABEL.get(self.event, self.event)
        return f"【siyu {event}·{SEVERITY_LABEL.get(self.severity, self.severity)}】{self.code_name}"

    def markdown(self) -> str:
        colour = {"critical": "warning", "warning": "comment", "info": "info"}.get(self.severity, "comment")
        if self.event == "resolved":
            colour = "info"
        return (
            f"**{self.headline()}**\n"
            f'> <font color="{colour}">{self.text}</font>\n'
            f"> 活码：{self.code_id}　条件：{self.condition}\n"
            f"> 时间：{to_iso(self.occurred_at)}"
        )


def deliver(channel: AlertChannel, message: AlertMessage, sns_client, topic_arn: str | None) -> None:
    """Send `message` on `channel`, or raise DeliveryFailed saying why."""
    if channel.kind == "wecom_robot":
        send_robot(channel.url, {"msgtype": "markdown", "markdown": {"content": message.markdown()}})
    elif channel.kind == "webhook":
        send_webhook(channel.url, channel.secret, message.event, message.payload())
    elif channel.kind == "email":
        if not topic_arn:
            raise DeliveryFailed("no ALERT_TOPIC_ARN configured for e-mail alerts")
        try:
            sns_client.publish(
                TopicArn=topic_arn,
                Subject=f"[siyu] {message.event}: {message.condition}"[:100],
                Message=f"{message.headline()}\n\n{message.text}\n\n"
                + json.dumps(message.payload(), ensure_ascii=False),
                # Each e-mail channel's subscription filters on its own id: one copy per channel.
                MessageAttributes={
                    "channel_id": {"DataType": "String", "StringValue": channel.id},
                    "code_id": {"DataType": "String", "StringValue": message.code_id},
                },
            )
        except Exception as error:  # botocore errors of every kind
            raise DeliveryFailed(f"SNS publish failed: {error}") from error
    else:
        raise DeliveryFailed(f"unknown channel kind {channel.kind!r}")
