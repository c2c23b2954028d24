"""The live codes' API contract: request and response bodies (pydantic; admin function only)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from siyu.alerts.watch_rules import runway
from siyu.api.types import (
    Instant,
    LongText,
    ReceiverUrl,
    Text,
    TimeZone,
    _Input,
    view_of,
)
from siyu.live_codes.assignment import Counters, available, local_day
from siyu.live_codes.edit_rules import OptionSpec, StaffSettings, WaySpec
from siyu.live_codes.model import (
    MAX_SWITCH_THRESHOLD,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    MAX_WAY_CHAT_IDS,
    MAX_WELCOME_TEXT,
    MIN_SWITCH_THRESHOLD,
    Channel,
    LiveCode,
    Option,
    Target,
    Welcome,
    WelcomeLink,
    WelcomeMiniprogram,
    WorkingWindow,
    is_usable,
    pool_of,
    target_status,
)
from siyu.live_codes.repository import FALLBACK

Threshold = Annotated[
    int,
    Field(
        ge=MIN_SWITCH_THRESHOLD,
        le=MAX_SWITCH_THRESHOLD,
        description="Scans a target receives before the next one takes over (WeChat stops scan-joins at 200).",
    ),
]

CodeKind = Literal["group", "staff", "grouped"]
Strategy = Literal["in_order", "round_robin", "weighted"]

StickyDays = Annotated[
    int, Field(ge=0, le=365, description="A returning scanner sees the same target for this many days (0: never).")
]
Clock = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$", description="HH:MM, local time")]


class OptionCreate(_Input):
    label: Annotated[str, Field(min_length=1, max_length=40, description="What the scanner taps, e.g. 上海.")]
    description: Annotated[str, Field(max_length=200)] = ""
    tag: Annotated[str, Field(min_length=1, max_length=40)] | None = Field(
        None, description="Tag recorded on the scanner when picked; defaults to the label."
    )
    strategy: Strategy = Field(
        "in_order", description="in_order: group QRs filled in turn; round_robin / weighted: staff contacts."
    )

    def spec(self) -> OptionSpec:
        return OptionSpec(self.label, self.description, self.tag, self.strategy)


class OptionUpdate(_Input):
    label: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    description: Annotated[str, Field(max_length=200)] | None = None
    tag: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    strategy: Strategy | None = None


TagName = Annotated[str, Field(min_length=1, max_length=MAX_TAG_LENGTH, description="A WeCom customer tag name.")]
Tags = Annotated[list[TagName], Field(max_length=MAX_TAGS, description=f"Each name once, at most {MAX_TAGS}.")]
HttpsUrl = Annotated[str, Field(pattern=r"^https://\S+$", max_length=2000, description="An https:// URL.")]


class WelcomeLinkBody(_Input):
    title: Annotated[str, Field(min_length=1, max_length=128)]
    url: HttpsUrl
    desc: Annotated[str, Field(max_length=512)] | None = None
    picurl: HttpsUrl | None = None


class WelcomeMiniprogramBody(_Input):
    title: Annotated[str, Field(min_length=1, max_length=64)]
    appid: Annotated[str, Field(min_length=1, max_length=64)]
    page: Annotated[str, Field(min_length=1, max_length=1000, description="The page path, e.g. pages/index?x=1.")]
    pic_url: HttpsUrl = Field(description="The card's cover image.")


class WelcomeBody(_Input):
    """What WeCom sends a customer who came in: text and at most these three attachments."""

    text: Annotated[str, Field(min_length=1, max_length=MAX_WELCOME_TEXT)]
    link: WelcomeLinkBody | None = None
    image_url: HttpsUrl | None = None
    miniprogram: WelcomeMiniprogramBody | None = None

    def record(self) -> Welcome:
        link = WelcomeLink(**self.link.model_dump()) if self.link else None
        mini = WelcomeMiniprogram(**self.miniprogram.model_dump()) if self.miniprogram else None
        return Welcome(self.text, link, self.image_url, mini)


def welcome_view(welcome: Welcome | None) -> WelcomeBody | None:
    """A welcome message in a view: the body it was set with."""
    return None if welcome is None else WelcomeBody.model_validate(asdict(welcome))


class Messaging(_Input):
    """Tags and the welcome message (on a code, or a channel)."""

    tags: Tags | None = Field(None, description="Replaces the list; [] clears it. A channel's add to the code's.")
    welcome: WelcomeBody | None = Field(
        None, description="Replaces it; null clears it. A channel's replaces the code's for scans through it."
    )

    def messaging(self) -> dict[str, Any]:
        """update_code / update_channel arguments: absent fields keep what is there."""
        clear = "welcome" in self.model_fields_set and self.welcome is None
        return {"tags": self.tags, "welcome": self.welcome.record() if self.welcome else None, "clear_welcome": clear}


class CodeCreate(_Input):
    name: Annotated[str, Field(min_length=1, max_length=80, description="Internal name operators see.")]
    kind: CodeKind = Field(
        "group",
        description="group: group QRs filled in turn; staff: staff contacts (客服活码); grouped: the "
        "scanner picks an option first (分组活码).",
    )
    title: Text | None = Field(None, description="Page title scanners see; defaults to name.")
    guidance: Text | None = Field(
        None, description="Line under the QR (for grouped codes: the question above the options)."
    )
    switch_threshold: Threshold | None = None
    fallback_text: LongText | None = Field(None, description="Shown when no target is usable.")
    strategy: Strategy | None = Field(None, description="staff codes: round_robin (default) or weighted.")
    time_zone: TimeZone | None = Field(None, description="Where caps reset and days are counted; Asia/Shanghai.")
    sticky_days: StickyDays | None = None
    options: list[OptionCreate] = Field(default_factory=list, max_length=20, description="grouped codes only.")


class CodeUpdate(Messaging):
    name: Annotated[str, Field(min_length=1, max_length=80)] | None = None
    title: Text | None = None
    guidance: Text | None = None
    switch_threshold: Threshold | None = None
    fallback_text: LongText | None = None
    strategy: Strategy | None = None
    time_zone: TimeZone | None = None
    sticky_days: StickyDays | None = None


class WorkingHours(_Input):
    days: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        [1, 2, 3, 4, 5, 6, 7], min_length=1, max_length=7, description="ISO weekdays: 1 = Monday … 7 = Sunday."
    )
    start: Clock
    end: Clock = Field(description="Exclusive; at or before start means the shift runs past midnight.")

    def window(self) -> WorkingWindow:
        return WorkingWindow(tuple(sorted(set(self.days))), _minutes(self.start), _minutes(self.end) % 1440)


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


class StaffFields(_Input):
    staff_name: Annotated[str, Field(min_length=1, max_length=40)] | None = Field(
        None, description="Shown to the scanner; required for staff contact QRs."
    )
    weight: Annotated[int, Field(ge=1, le=100)] | None = Field(None, description="weighted strategy; default 1.")
    daily_cap: Annotated[int, Field(ge=1, le=10_000)] | None = Field(
        None, description="New contacts per local day (WeChat limits friend requests); none: no cap."
    )
    working_hours: list[WorkingHours] | None = Field(None, max_length=14, description="Empty: always on duty.")
    backup: bool | None = Field(None, description="Only used when every regular target is capped or off duty.")
    robot_url: ReceiverUrl | None = Field(
        None, description="A group's WeCom group robot webhook: SOP plans over this code push into the group."
    )

    def staff(self) -> StaffSettings:
        hours = None if self.working_hours is None else tuple(w.window() for w in self.working_hours)
        clear = "daily_cap" in self.model_fields_set and self.daily_cap is None
        clear_robot = "robot_url" in self.model_fields_set and self.robot_url is None
        return StaffSettings(
            self.staff_name, self.weight, self.daily_cap, clear, hours, self.backup, self.robot_url, clear_robot
        )


class TargetUpload(StaffFields):
    image_base64: str = Field(description="The PNG or JPEG screenshot, base64 (a data: URI is accepted too).")
    expires_at: Instant | None = Field(
        None, description="When the QR stops working; default: 7 days for group QRs, none for contact QRs."
    )
    option_id: str | None = Field(None, max_length=20, description="grouped codes: the option's pool.")


WeComUserId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$", description="A WeCom userid, e.g. zhangsan.")]
ChatId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="A customer group's chat id.")]


class ContactWayTarget(StaffFields):
    """A staff member through a WeCom contact way (联系我): WeCom makes one per channel."""

    wecom_user: WeComUserId
    skip_verify: bool = Field(True, description="Customers are added without the member accepting each one.")
    option_id: str | None = Field(None, max_length=20, description="grouped codes: the option's pool.")

    def spec(self) -> WaySpec:
        return WaySpec(wecom_user=self.wecom_user, skip_verify=self.skip_verify)


class JoinWayTarget(_Input):
    """Customer groups through a WeCom join way (加入群聊): WeCom makes one per channel, fills the
    groups in turn and (auto_create_room) opens a new one when the last is full."""

    wecom_chat_ids: list[ChatId] = Field(
        min_length=1, max_length=MAX_WAY_CHAT_IDS, description=f"1 to {MAX_WAY_CHAT_IDS} groups, each once."
    )
    auto_create_room: bool = Field(True, description="Open a new group when every group is full.")
    room_base_name: Annotated[str, Field(max_length=40, description="Name of the groups WeCom opens.")] = ""
    option_id: str | None = Field(None, max_length=20, description="grouped codes: the option's pool.")

    def spec(self) -> WaySpec:
        return WaySpec(None, tuple(self.wecom_chat_ids), True, self.auto_create_room, self.room_base_name)


# A screenshot (image_base64), a WeCom member (wecom_user; staff pools) or WeCom groups (wecom_chat_ids; group pools).
TargetCreate = Annotated[TargetUpload | ContactWayTarget | JoinWayTarget, Field(union_mode="left_to_right")]


class TargetUpdate(StaffFields):
    enabled: bool | None = None
    expires_at: Instant | None = None


class TargetOrder(_Input):
    target_ids: list[str] = Field(description="Every target id of the code, in the order they should be used.")


class WorkingHoursView(BaseModel):
    days: list[int]
    start: str
    end: str


class WayView(BaseModel):
    channel_id: str | None = Field(description="None: the way direct scans (no channel) show.")
    config_id: str
    state: str
    url: str


class TargetView(BaseModel):
    id: str
    url: str = Field(description="What the QR opens (a WeCom target's: its direct way's URL).")
    kind: str
    position: int
    scans: int = Field(description="New scanners assigned to it, all time.")
    assigned_today: int = Field(description="New scanners assigned today (the code's time zone).")
    status: Literal["current", "waiting", "full", "expired", "disabled"]
    available_now: bool = Field(description="Would take a new scanner now: usable, on duty, under its caps.")
    enabled: bool
    expires_at: datetime | None = Field(description="None: never (WeCom ways do not expire).")
    created_at: datetime
    staff_name: str | None
    weight: int
    daily_cap: int | None
    working_hours: list[WorkingHoursView]
    backup: bool
    option_id: str | None
    robot_url: str | None
    wecom_user: str | None = Field(description="WeCom contact way targets: the member's userid.")
    wecom_chat_ids: list[str] = Field(description="WeCom join way targets: the customer groups.")
    wecom_config_id: str | None = Field(description="WeCom targets: the direct way's config id.")
    ways: list[WayView] = Field(description="WeCom targets: one way per channel, and the direct one.")


class OptionView(BaseModel):
    id: str
    label: str
    description: str
    tag: str
    strategy: str
    scan_url: str
    segment_id: str | None = Field(None, description="A precise-group route: scanners in this segment get its pool.")


ChannelName = Annotated[str, Field(min_length=1, max_length=80, description="Where it is printed, e.g. 门店12号立牌.")]


class CodeChannelCreate(Messaging):
    name: ChannelName


class CodeChannelUpdate(Messaging):
    name: ChannelName | None = None


class CodeChannelView(BaseModel):
    id: str
    name: str
    scan_url: str
    qr_png_url: str = Field(description="Print-ready PNG (?size= pixels); the same path with .svg for vector.")
    created_at: datetime
    tags: list[str]
    welcome: WelcomeBody | None


class CodeChannelList(BaseModel):
    items: list[CodeChannelView]


class CodeView(BaseModel):
    id: str
    kind: CodeKind
    strategy: Strategy
    time_zone: str
    sticky_days: int
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
    runway: dict[str, Any] = Field(
        description="usable_targets, scans_left, hours_until_last_expiry (scan rate: see alerts)"
    )
    targets: list[TargetView]
    options: list[OptionView]
    channels: list[CodeChannelView]
    tags: list[str]
    welcome: WelcomeBody | None
    created_at: datetime
    updated_at: datetime
    version: int


class CodeSummary(BaseModel):
    """A code in a list: its settings and pool size; scan counts are on GET /admin/codes/{id}."""

    id: str
    kind: CodeKind
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


def code_summary(code: LiveCode, scan_url: str, now: datetime) -> CodeSummary:
    return view_of(
        CodeSummary,
        code,
        scan_url=scan_url,
        targets=len(code.targets),
        usable_targets=sum(is_usable(t, now) for t in code.targets),
    )


def target_view(code: LiveCode, target: Target, counters: Counters, now: datetime) -> TargetView:
    scans = counters.totals()
    return view_of(
        TargetView,
        target,
        position=code.targets.index(target),
        scans=scans.get(target.id, 0),
        assigned_today=counters.on_day(target.id, local_day(code, now)),
        status=target_status(code, target, scans, now),
        available_now=available(code, pool_of(code, code.option(target.option_id)), target, counters, now),
        working_hours=[_hours_view(w) for w in target.working_hours],
        expires_at=None if target.is_wecom_way else target.expires_at,
        wecom_chat_ids=list(target.wecom_chat_ids),
        ways=[WayView(channel_id=w.channel_id, config_id=w.config_id, state=w.state, url=w.url) for w in target.ways],
    )


def _hours_view(window: WorkingWindow) -> WorkingHoursView:
    def clock(minutes: int) -> str:
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    return WorkingHoursView(days=list(window.weekdays), start=clock(window.start), end=clock(window.end))


def option_view(option: Option, scan_url: str) -> OptionView:
    return view_of(OptionView, option, scan_url=f"{scan_url}?o={option.id}")


def channel_scan_url(scan_url: str, channel: Channel) -> str:
    return f"{scan_url}?ch={channel.id}"


def code_channel_view(code: LiveCode, channel: Channel, scan_url: str, admin_base: str) -> CodeChannelView:
    return view_of(
        CodeChannelView,
        channel,
        scan_url=channel_scan_url(scan_url, channel),
        qr_png_url=f"{admin_base}/admin/codes/{code.id}/channels/{channel.id}/qr.png",
        tags=list(channel.tags),
        welcome=welcome_view(channel.welcome),
    )


def code_view(code: LiveCode, counters: Counters, scan_url: str, now: datetime, admin_base: str = "") -> CodeView:
    scans = counters.totals()
    targets = [target_view(code, t, counters, now) for t in code.targets]
    return view_of(
        CodeView,
        code,
        backup_qr_url=code.backup_qr.url if code.backup_qr else None,
        scan_url=scan_url,
        current_target_id=next((t.id for t in targets if t.status == "current"), None),
        total_scans=sum(scans.values()),
        fallback_scans=scans.get(FALLBACK, 0),
        runway=runway(code, scans, now, None).as_dict(),
        targets=targets,
        options=[option_view(o, scan_url) for o in code.options],
        channels=[code_channel_view(code, c, scan_url, admin_base) for c in code.channels],
        tags=list(code.tags),
        welcome=welcome_view(code.welcome),
    )
