"""The alert destinations' API contract. The public API calls them "channels" (paths, fields and
the schema's model names stay so); the views are built here from the package's records."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from siyu.alerts.destinations import AlertDestination
from siyu.alerts.records import AlertRecord, delivery_document
from siyu.api.types import ReceiverUrl, Text, _Input, view_of


class _ChannelCreate(_Input):
    name: Text
    code_id: str | None = Field(None, max_length=40, description="Only this code's alerts; absent means every code's.")


class RobotChannelCreate(_ChannelCreate):
    """A WeCom group robot webhook (markdown messages)."""

    kind: Literal["wecom_robot"]
    url: ReceiverUrl


class WebhookChannelCreate(_ChannelCreate):
    """Your own receiver: JSON signed with X-Siyu-Signature (HMAC-SHA256)."""

    kind: Literal["webhook"]
    url: ReceiverUrl
    secret: str | None = Field(
        None, min_length=16, max_length=200, description="Webhook signing secret; generated if absent."
    )


class EmailChannelCreate(_ChannelCreate):
    """E-mail through the stack's SNS topic."""

    kind: Literal["email"]
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)


# Which fields a channel needs depends on its kind: one model per kind.
ChannelCreate = Annotated[RobotChannelCreate | WebhookChannelCreate | EmailChannelCreate, Field(discriminator="kind")]


class ChannelView(BaseModel):
    id: str
    name: str
    kind: str
    url: str | None
    email: str | None
    code_id: str | None
    created_at: datetime
    secret: str | None = Field(None, description="Only in the answer that created a webhook channel.")


class ChannelList(BaseModel):
    items: list[ChannelView]


class ChannelTest(BaseModel):
    delivered: bool
    error: str | None


class AlertLog(BaseModel):
    items: list[dict[str, Any]]  # log_entry(): the message as sent, its status and deliveries
    next_cursor: str | None = None


def destination_view(destination: AlertDestination, with_secret: bool = False) -> ChannelView:
    return view_of(ChannelView, destination, secret=destination.secret if with_secret else None)


def log_entry(record: AlertRecord) -> dict[str, Any]:
    """One alert log item: the message's payload, the record's status and each destination's
    delivery state (keys sorted, as they are stored)."""
    deliveries = {k: dict(sorted(delivery_document(v).items())) for k, v in sorted(record.deliveries.items())}
    return {**record.message.payload(), "status": record.status, "deliveries": deliveries}
