"""Operator alerts: the destinations they arrive on and how one message is delivered.

Destinations (the public API calls them "channels"): a WeCom group robot (markdown), a generic
webhook (JSON body signed with HMAC-SHA256 in X-Siyu-Signature), and e-mail through the stack's
SNS topic. Delivery is at-least-once: a failed send is retried with exponential backoff by later
job runs, and a crash between a send and its record may repeat that one message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from siyu.core.clock import to_iso, to_precise_iso
from siyu.delivery.sender import DeliveryFailed, send_robot, send_webhook

if TYPE_CHECKING:
    from siyu.alerts.ports import Topic

KINDS = ("wecom_robot", "webhook", "email")
SEVERITY_LABEL = {"critical": "紧急", "warning": "提醒", "info": "通知"}
EVENT_LABEL = {"raised": "告警", "resolved": "已恢复", "switched": "已切换", "test": "测试"}


@dataclass(frozen=True)
class AlertDestination:
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

    @property
    def ref(self) -> str:
        """Which of its code's alert records this message is (in order of occurrence)."""
        return f"{to_precise_iso(self.occurred_at)}#{self.id}"

    def payload(self) -> dict[str, Any]:
        """The message as JSON: the webhook body, and how the alert log keeps it."""
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


def deliver(destination: AlertDestination, message: AlertMessage, topic: Topic) -> None:
    """Send `message` to `destination`, or raise DeliveryFailed saying why."""
    if destination.kind == "wecom_robot":
        send_robot(destination.url or "", {"msgtype": "markdown", "markdown": {"content": message.markdown()}})
    elif destination.kind == "webhook":
        send_webhook(destination.url or "", destination.secret, message.event, message.payload())
    elif destination.kind == "email":
        topic.publish(destination.id, message)
    else:
        raise DeliveryFailed(f"unknown channel kind {destination.kind!r}")
