"""Live codes (活码) and their targets: the pure rules, no AWS.

A live code is the permanent QR a brand prints. Behind it sits an ordered pool of targets
(uploaded QRs). Three kinds:

- ``group`` (群活码): group QRs used in order; each takes ``switch_threshold`` scans, then the
  next one takes over.
- ``staff`` (客服活码): staff contact QRs shared by round robin or weights, with daily caps,
  working hours and backup staff (see ``assignment``).
- ``grouped`` (分组活码): the scanner first picks an option; each option has its own pool.

Every code has channels (渠道): one per place it is printed, each with its own scan URL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from siyu.core.ids import ID_PATTERN

DEFAULT_SWITCH_THRESHOLD = 180
MIN_SWITCH_THRESHOLD = 1
MAX_SWITCH_THRESHOLD = 10_000
DEFAULT_TARGET_LIFETIME = timedelta(days=7)
MAX_TARGETS_PER_CODE = 100
DEFAULT_GUIDANCE = "长按识别二维码加入群聊"
DEFAULT_FALLBACK_TEXT = "群已满或已过期，请稍后再来，或联系客服获取最新入群方式。"

# Ids are made by siyu.core.ids.new_id; anything else in a URL is not a code (and is never looked up).
CODE_ID_PATTERN = ID_PATTERN

ACTIVE = "active"
ARCHIVED = "archived"

GROUP, STAFF, GROUPED = "group", "staff", "grouped"
CODE_KINDS = (GROUP, STAFF, GROUPED)
IN_ORDER, ROUND_ROBIN, WEIGHTED = "in_order", "round_robin", "weighted"
STRATEGIES = (IN_ORDER, ROUND_ROBIN, WEIGHTED)
DEFAULT_TIME_ZONE = "Asia/Shanghai"
DEFAULT_STICKY_DAYS = 7
MAX_OPTIONS = 20
MAX_CHANNELS = 500
STAFF_QR_KINDS = ("wechat_personal", "wecom")
# WeCom-backed targets: a contact way (联系我) is a "wecom" contact QR; a join way (加入群聊) is its own kind.
WECOM_JOIN_KIND = "wecom_group"
MAX_WAYS_PER_CODE = 200  # WeCom-backed targets × (channels + 1)
MAX_WAY_CHAT_IDS = 5  # customer groups behind one join way (WeCom's limit)
MAX_TAGS = 20
MAX_TAG_LENGTH = 30
MAX_WELCOME_TEXT = 4000


@dataclass(frozen=True)
class WelcomeLink:
    title: str
    url: str
    desc: str | None = None
    picurl: str | None = None


@dataclass(frozen=True)
class WelcomeMiniprogram:
    title: str
    appid: str
    page: str
    pic_url: str


@dataclass(frozen=True)
class Welcome:
    """The welcome message WeCom sends a customer who came through a code (text and at most
    these three attachments)."""

    text: str
    link: WelcomeLink | None = None
    image_url: str | None = None
    miniprogram: WelcomeMiniprogram | None = None


@dataclass(frozen=True)
class WorkingWindow:
    """On duty on these ISO weekdays (1 = Monday) from `start` to `end` minutes after local
    midnight; an `end` at or before `start` runs past midnight into the next day."""

    weekdays: tuple[int, ...]
    start: int
    end: int


@dataclass(frozen=True)
class Option:
    """One answer of a grouped code: its own pool of targets and how they are shared."""

    id: str
    label: str
    description: str
    tag: str  # recorded on the scanner's visitor record when picked
    strategy: str = IN_ORDER
    # A precise-group route (精准群) on a group or staff code: scanners in this segment get this pool.
    segment_id: str | None = None


@dataclass(frozen=True)
class Channel:
    """One place the code is printed (parcel card, store #12, SMS, poster A)."""

    id: str
    name: str
    created_at: datetime
    tags: tuple[str, ...] = ()  # added to the code's tags for customers who came through this channel
    welcome: Welcome | None = None  # replaces the code's welcome for scans through this channel


@dataclass(frozen=True)
class ChannelWay:
    """The WeCom way (contact or join) a WeCom-backed target shows through one channel
    (`channel_id` None: scans without a channel)."""

    channel_id: str | None
    config_id: str
    state: str
    url: str
    qr_png: bytes


@dataclass(frozen=True)
class Target:
    id: str
    url: str
    kind: str
    image_key: str
    expires_at: datetime
    created_at: datetime
    qr_png: bytes  # the clean re-render the landing page shows, made at upload time
    enabled: bool = True
    staff_name: str | None = None
    weight: int = 1
    daily_cap: int | None = None  # new contacts per local day; None: no cap
    working_hours: tuple[WorkingWindow, ...] = ()  # empty: always on duty
    backup: bool = False  # only used when no regular target is available
    option_id: str | None = None  # grouped codes: the option whose pool this target is in
    robot_url: str | None = None  # the WeCom group robot in this group: SOP pushes reach it through it
    # WeCom-backed targets: a contact way for one member, or a join way over 1..5 customer groups.
    # Their `url`/`qr_png` are the direct way's; they never expire (expires_at is "never", far away).
    wecom_user: str | None = None
    wecom_chat_ids: tuple[str, ...] = ()
    ways: tuple[ChannelWay, ...] = ()  # one per channel of the code, plus the direct one
    skip_verify: bool = True  # contact ways: customers are added without the member's approval
    auto_create_room: bool = True  # join ways: WeCom opens a new group when the last one is full
    room_base_name: str = ""  # join ways: the name of the groups WeCom creates

    @property
    def is_wecom_way(self) -> bool:
        return self.wecom_user is not None or bool(self.wecom_chat_ids)

    @property
    def direct_way(self) -> ChannelWay | None:
        return next((w for w in self.ways if w.channel_id is None), None)

    @property
    def wecom_config_id(self) -> str | None:
        way = self.direct_way
        return way.config_id if way else None


@dataclass(frozen=True)
class BackupQr:
    url: str
    image_key: str
    qr_png: bytes


@dataclass(frozen=True)
class LiveCode:
    id: str
    name: str
    title: str
    guidance: str
    switch_threshold: int
    fallback_text: str
    status: str
    created_at: datetime
    updated_at: datetime
    version: int
    targets: tuple[Target, ...] = ()
    backup_qr: BackupQr | None = None
    kind: str = GROUP
    strategy: str = IN_ORDER
    time_zone: str = DEFAULT_TIME_ZONE
    sticky_days: int = DEFAULT_STICKY_DAYS
    options: tuple[Option, ...] = ()
    channels: tuple[Channel, ...] = ()
    tags: tuple[str, ...] = ()  # given to every customer who comes through the code
    welcome: Welcome | None = None

    def target(self, target_id: str) -> Target | None:
        return next((t for t in self.targets if t.id == target_id), None)

    def option(self, option_id: str | None) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)

    def channel(self, channel_id: str | None) -> Channel | None:
        return next((c for c in self.channels if c.id == channel_id), None)


@dataclass(frozen=True)
class Pool:
    """The targets one scan chooses from, and how: the whole code, or one option's share."""

    key: str  # "main", or the option id
    targets: tuple[Target, ...]
    strategy: str


def way_for(target: Target, channel_id: str | None) -> ChannelWay | None:
    """The WeCom way a scan through `channel_id` shows: the channel's own, else the direct one
    (None for targets that are not WeCom-backed)."""
    if channel_id is not None:
        way = next((w for w in target.ways if w.channel_id == channel_id), None)
        if way is not None:
            return way
    return target.direct_way


def ways_needed(code: LiveCode, wecom_targets: int | None = None, channels: int | None = None) -> int:
    """How many WeCom ways the code holds (or would, with these counts): targets × (channels + 1)."""
    targets = sum(t.is_wecom_way for t in code.targets) if wecom_targets is None else wecom_targets
    return targets * ((len(code.channels) if channels is None else channels) + 1)


def tags_for(code: LiveCode, channel_id: str | None) -> tuple[str, ...]:
    """The tags a customer who came through `channel_id` gets: the code's, then the channel's."""
    channel = code.channel(channel_id)
    extra = channel.tags if channel else ()
    return tuple(dict.fromkeys((*code.tags, *extra)))


def welcome_for(code: LiveCode, channel_id: str | None) -> Welcome | None:
    """The welcome message for a customer who came through `channel_id`: the channel's, else the code's."""
    channel = code.channel(channel_id)
    return channel.welcome if channel and channel.welcome else code.welcome


def pool_of(code: LiveCode, option: Option | None = None) -> Pool:
    """A grouped code's option's pool; a segment route's pool; else the code's main pool (the
    targets in no route's pool)."""
    if code.kind == GROUPED:
        if option is None:
            return Pool("main", (), IN_ORDER)
        return Pool(option.id, tuple(t for t in code.targets if t.option_id == option.id), option.strategy)
    if option is not None and option.segment_id:
        return Pool(option.id, tuple(t for t in code.targets if t.option_id == option.id), code.strategy)
    return Pool("main", tuple(t for t in code.targets if not t.option_id), code.strategy)


def route_for(code: LiveCode, segments: frozenset[str]) -> Option | None:
    """The first segment route (in the code's order) whose segment the scanner is a member of."""
    if code.kind == GROUPED:
        return None
    return next((o for o in code.options if o.segment_id and o.segment_id in segments), None)


def uses_threshold(strategy: str) -> bool:
    """Group QRs fill up (WeChat stops scan-joins at 200); staff contacts do not."""
    return strategy == IN_ORDER


def takes_threshold(strategy: str, target: Target) -> bool:
    """Does this target fill up after `switch_threshold` scans? Group QRs in an in-order pool do;
    a join way does not (WeCom fills its groups and opens new ones itself)."""
    return uses_threshold(strategy) and not target.wecom_chat_ids


def is_usable(target: Target, now: datetime) -> bool:
    """Enabled and not yet expired: the only targets a scanner may ever be shown."""
    return target.enabled and target.expires_at > now


def pick_target(code: LiveCode, scans: Mapping[str, int], now: datetime) -> Target | None:
    """The target the next scan should show, or None when the code must fall back."""
    return next(iter(candidate_targets(code, scans, now)), None)


def candidate_targets(code: LiveCode, scans: Mapping[str, int], now: datetime) -> list[Target]:
    """Usable targets still under the threshold (as far as `scans` knows), in order.

    For codes whose pools do not fill up (staff codes) every usable target is a candidate."""
    return [t for t in code.targets if is_usable(t, now) and not _is_full(code, t, scans)]


def fills_up(code: LiveCode, target: Target) -> bool:
    """Does this target take only `switch_threshold` scans (a group QR in an in-order pool)?"""
    option = code.option(target.option_id)
    return takes_threshold(option.strategy if option else code.strategy, target)


def _is_full(code: LiveCode, target: Target, scans: Mapping[str, int]) -> bool:
    return fills_up(code, target) and scans.get(target.id, 0) >= code.switch_threshold


def target_status(code: LiveCode, target: Target, scans: Mapping[str, int], now: datetime) -> str:
    """What an operator needs to know about one target, in one word.

    ``current`` is being shown now; ``waiting`` takes over later; ``full`` reached the
    threshold; ``expired`` passed its expiry; ``disabled`` was switched off by the operator.
    """
    if not target.enabled:
        return "disabled"
    if target.expires_at <= now:
        return "expired"
    if _is_full(code, target, scans):
        return "full"
    current = pick_target(code, scans, now)
    return "current" if current is not None and current.id == target.id else "waiting"


def reorder(targets: Sequence[Target], target_ids: Sequence[str]) -> tuple[Target, ...]:
    """Targets in the order given; the ids must be exactly the code's target ids."""
    by_id = {t.id: t for t in targets}
    if len(target_ids) != len(set(target_ids)) or set(target_ids) != set(by_id):
        raise ValueError("target_ids must list every target of the code exactly once")
    return tuple(by_id[i] for i in target_ids)
