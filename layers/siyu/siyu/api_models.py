"""The admin API's contract: request and response bodies (pydantic; admin function only)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from siyu.live_codes import (
    MAX_SWITCH_THRESHOLD,
    MIN_SWITCH_THRESHOLD,
    LiveCode,
    Target,
    is_usable,
    target_status,
)
from siyu.storage.codes_table import FALLBACK
from siyu.watch_rules import runway

CHINA_TIME = timezone(timedelta(hours=8))


def _assume_china_time(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=CHINA_TIME)


Instant = Annotated[
    datetime,
    AfterValidator(_assume_china_time),
    Field(description="ISO-8601; without an offset it is read as China time (UTC+08:00)."),
]
Threshold = Annotated[
    int,
    Field(
        ge=MIN_SWITCH_THRESHOLD,
        le=MAX_SWITCH_THRESHOLD,
        description="Scans a target receives before the next one takes over (WeChat stops scan-joins at 200).",
    ),
]
Text = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(min_length=1, max_length=1000)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CodeCreate(_Input):
    name: Annotated[str, Field(min_length=1, max_length=80, description="Internal name operators see.")]
    title: Text | None = Field(None, description="Page title scanners see; defaults to name.")
    guidance: Text | None = Field(None, description="Line under the QR; default 长按识别二维码加入群聊.")
    switch_threshold: Threshold | None = None
    fallback_text: LongText | None = Field(None, description="Shown when no target is usable.")


class CodeUpdate(_Input):
    name: Annotated[str, Field(min_length=1, max_length=80)] | None = None
    title: Text | None = None
    guidance: Text | None = None
    switch_threshold: Threshold | None = None
    fallback_text: LongText | None = None


class ImageUpload(_Input):
    image_base64: str = Field(description="The PNG or JPEG screenshot, base64 (a data: URI is accepted too).")


class TargetUpload(ImageUpload):
    expires_at: Instant | None = Field(None, description="When the QR stops working; default upload time + 7 days.")


class TargetUpdate(_Input):
    enabled: bool | None = None
    expires_at: Instant | None = None


class TargetOrder(_Input):
    target_ids: list[str] = Field(description="Every target id of the code, in the order they should be used.")


class TargetView(BaseModel):
    id: str
    url: str
    kind: str
    position: int
    scans: int
    status: Literal["current", "waiting", "full", "expired", "disabled"]
    enabled: bool
    expires_at: datetime
    created_at: datetime


class CodeView(BaseModel):
    id: str
    name: str
    title: str
    guidance: str
    switch_threshold: int
    fallback_text: str
    backup_qr_url: str | None
    status: Literal["active", "archived"]
    scan_url: str
    current_target_id: str | None
    total_scans: int
    fallback_scans: int
    runway: dict = Field(description="usable_targets, scans_left, hours_until_last_expiry (scan rate: see alerts)")
    targets: list[TargetView]
    created_at: datetime
    updated_at: datetime
    version: int


class CodeSummary(BaseModel):
    """A code in a list: its settings and pool size; scan counts are on GET /admin/codes/{id}."""

    id: str
    name: str
    title: str
    status: Literal["active", "archived"]
    scan_url: str
    switch_threshold: int
    targets: int
    usable_targets: int
    created_at: datetime
    updated_at: datetime


class CodeList(BaseModel):
    items: list[CodeSummary]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for the next page.")


class ImageLink(BaseModel):
    url: str
    expires_in: int


class ErrorBody(BaseModel):
    message: str


def code_summary(code: LiveCode, scan_url: str, now: datetime) -> CodeSummary:
    return CodeSummary(
        id=code.id,
        name=code.name,
        title=code.title,
        status=code.status,
        scan_url=scan_url,
        switch_threshold=code.switch_threshold,
        targets=len(code.targets),
        usable_targets=sum(is_usable(t, now) for t in code.targets),
        created_at=code.created_at,
        updated_at=code.updated_at,
    )


def target_view(code: LiveCode, target: Target, scans: dict[str, int], now: datetime) -> TargetView:
    return TargetView(
        id=target.id,
        url=target.url,
        kind=target.kind,
        position=code.targets.index(target),
        scans=scans.get(target.id, 0),
        status=target_status(code, target, scans, now),
        enabled=target.enabled,
        expires_at=target.expires_at,
        created_at=target.created_at,
    )


def code_view(code: LiveCode, scans: dict[str, int], scan_url: str, now: datetime) -> CodeView:
    targets = [target_view(code, t, scans, now) for t in code.targets]
    return CodeView(
        id=code.id,
        name=code.name,
        title=code.title,
        guidance=code.guidance,
        switch_threshold=code.switch_threshold,
        fallback_text=code.fallback_text,
        backup_qr_url=code.backup_qr.url if code.backup_qr else None,
        status=code.status,
        scan_url=scan_url,
        current_target_id=next((t.id for t in targets if t.status == "current"), None),
        total_scans=sum(scans.values()),
        fallback_scans=scans.get(FALLBACK, 0),
        runway=runway(code, scans, now, None).as_dict(),
        targets=targets,
        created_at=code.created_at,
        updated_at=code.updated_at,
        version=code.version,
    )


class ChannelCreate(_Input):
    name: Text
    kind: Literal["wecom_robot", "webhook", "email"] = Field(
        description="wecom_robot: a WeCom group robot webhook (markdown); webhook: your own receiver, JSON "
        "signed with X-Siyu-Signature (HMAC-SHA256); email: through the stack's SNS topic."
    )
    url: str | None = Field(None, max_length=2000, description="Receiver URL (wecom_robot, webhook).")
    secret: str | None = Field(
        None, min_length=16, max_length=200, description="Webhook signing secret; generated if absent."
    )
    email: str | None = Field(None, max_length=254)
    code_id: str | None = Field(None, description="Only this code's alerts; absent means every code's.")


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
