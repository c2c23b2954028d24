"""The alert destinations' API contract (the public paths still say "channels")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from siyu.api.types import (
    Text,
    _Input,
)

ReceiverUrl = Annotated[
    str,
    Field(
        pattern=r"^https?://[A-Za-z0-9][A-Za-z0-9.-]*(:[0-9]{1,5})?([/?#]\S*)?$",
        max_length=2000,
        description="The receiver's full http(s) URL.",
    ),
]


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
    items: list[dict]
    next_cursor: str | None = None


def channel_view(channel, with_secret: bool = False) -> ChannelView:
    return ChannelView(
        id=channel.id,
        name=channel.name,
        kind=channel.kind,
        url=channel.url,
        email=channel.email,
        code_id=channel.code_id,
        created_at=channel.created_at,
        secret=channel.secret if with_secret else None,
    )
