"""SOP plans (timed push scripts): schedules, guards, content rules per channel, presets. Pure.

A plan has steps; each step has a schedule and content, and is sent to every destination of the
plan's audience (its named destinations, or the groups of a live code that have a robot).
Schedules are civil times in the plan's time zone:

- ``day_offset``: day N after the destination's start date (the day a group was added, or a date the
  operator gives) at HH:MM; day 0 is the start date itself;
- ``weekly``: on the given ISO weekdays at HH:MM;
- ``once``: at one local date-time.

Guards: nothing is sent in quiet hours (default 22:00-08:00): a push due then waits for their
end, unless that makes it more than ``max_delay_minutes`` late, in which case it is skipped
(the same rule skips pushes the job finds long overdue). Each destination receives at most
``daily_cap`` pushes per local day.

Wall-clock times that do not exist (the hour skipped when daylight saving starts) are sent at
the same distance after the change (02:30 becomes 03:30); times that happen twice (when it ends)
are sent the first time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from siyu.core.errors import InvalidInput
from siyu.web.base64_files import decode_base64_file

DAY_OFFSET, WEEKLY, ONCE = "day_offset", "weekly", "once"
TEXT, MARKDOWN, IMAGE, LINK, MINIPROGRAM = "text", "markdown", "image", "link", "miniprogram"
WECOM_ROBOT, WEBHOOK = "wecom_robot", "webhook"
# 企业群发 (externalcontact/add_msg_template): to customer groups or 1:1 to customers; the sender
# (a group's owner) confirms each task in their WeCom client before anything is sent.
WECOM_GROUPMSG = "wecom_groupmsg"
# Reminder mode: a person (a guide) is reminded with a link to a task page and sends it by hand
# (any group, personal-WeChat groups included); see ``siyu.sop.reminders``.
REMINDER = "reminder"
ACTIVE, PAUSED = "active", "paused"
LOOKAHEAD = timedelta(days=400)

# What each channel can carry (WeCom group robot: text, markdown, image, news; a mini-program
# card needs WeCom mass-send, which is not a channel yet). Limits as the robot API states them.
CHANNEL_KINDS = {
    WECOM_ROBOT: (TEXT, MARKDOWN, IMAGE, LINK),
    WEBHOOK: (TEXT, MARKDOWN, IMAGE, LINK, MINIPROGRAM),
    WECOM_GROUPMSG: (TEXT, IMAGE, LINK, MINIPROGRAM),  # text, plus the picture or card as an attachment
    REMINDER: (TEXT, MARKDOWN, IMAGE, LINK, MINIPROGRAM),  # a person copies it from the task page
}
GROUPMSG_TEXT_BYTES = 4000  # add_msg_template text.content
GROUPMSG_MINIPROGRAM_TITLE_BYTES = 64
GROUPMSG_IMAGE_BYTES = 2 * 1024 * 1024  # media/upload of an image
ROBOT_TEXT_BYTES = 2048
ROBOT_MARKDOWN_BYTES = 4096
ROBOT_IMAGE_BYTES = 2 * 1024 * 1024
ROBOT_NEWS_TITLE_BYTES = 128
ROBOT_NEWS_DESCRIPTION_BYTES = 512
# A step's image as decoded from the request: the Lambda request limit (6 MB), so no body that
# reaches the function holds a larger one and the decoder never refuses what fits the request;
# what a robot can carry (2 MB) is checked per channel by check_content.
MAX_IMAGE_BYTES = 6 * 1024 * 1024


class PlanInvalid(ValueError):
    """A plan that cannot run as written; the message says what to change."""


@dataclass(frozen=True)
class Schedule:
    kind: str  # day_offset | weekly | once
    at: time  # local wall-clock time (once: the time of `on`)
    day: int = 0  # day_offset
    weekdays: tuple[int, ...] = ()  # weekly: ISO weekdays, 1 = Monday
    on: date | None = None  # once


@dataclass(frozen=True)
class Content:
    kind: str  # text | markdown | image | link | miniprogram
    text: str = ""  # text, markdown
    image_key: str | None = None  # image: stored in the bucket; link / miniprogram: the picture
    image_bytes: int = 0
    title: str = ""  # link, miniprogram
    description: str = ""  # link
    url: str = ""  # link
    picture_url: str = ""  # link: a public picture URL (the robot fetches it)
    appid: str = ""  # miniprogram
    page: str = ""  # miniprogram


@dataclass(frozen=True)
class Step:
    id: str
    name: str
    schedule: Schedule
    content: Content


@dataclass(frozen=True)
class Destination:
    """One member of a plan's audience: where its pushes go."""

    key: str  # stable within the plan: d:<id> for a named destination, g:<target_id> for a group
    name: str
    channel: str  # wecom_robot | webhook
    url: str
    secret: str | None = None  # webhook signing secret
    start: date | None = None  # day_offset day 0


@dataclass(frozen=True)
class Guards:
    quiet_start: time = time(22, 0)
    quiet_end: time = time(8, 0)
    max_delay_minutes: int = 720
    daily_cap: int = 3


@dataclass(frozen=True)
class Reminder:
    """Reminder mode: who is reminded of each delivery (WeCom app users, or an internal group's
    robot) and how long its task link lives."""

    wecom_users: tuple[str, ...] = ()
    robot_url: str = ""
    task_hours: int = 24


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    time_zone: str
    # Who receives the pushes, stored as the plan's "target": {"kind": "destinations"} (the named
    # `destinations` below) | {"kind": "code_groups", "code_id": ...} (every group with a robot).
    audience: dict[str, Any]
    steps: tuple[Step, ...]
    guards: Guards
    status: str
    start: date  # day 0 for destinations without their own start
    created_at: datetime
    version: int = 1
    destinations: tuple[Destination, ...] = field(default=())  # named destinations (kind destinations)
    reminder: Reminder | None = None  # reminder mode (None: sent directly)


# A delivery's status: waiting (for its send time) | queued | sending | retry | sent | failed |
# skipped | held (the plan was paused) | cancelled (its step or destination is gone); a 企业群发
# delivery also: awaiting_staff (the task is made, its sender has not confirmed it everywhere yet)
# | not_sent (nobody received it: the sender never confirmed, or every recipient was refused). A
# reminder delivery: awaiting_staff (the guide was reminded) | sent (they marked it sent on the
# task page) | not_sent (the task link expired first).
QUEUED, WAITING, SENDING, RETRY, SENT = "queued", "waiting", "sending", "retry", "sent"
FAILED, SKIPPED, HELD, CANCELLED = "failed", "skipped", "held", "cancelled"
AWAITING_STAFF, NOT_SENT = "awaiting_staff", "not_sent"
PENDING = "pending"  # a recipient of a 企业群发 task its sender has not sent to yet


@dataclass(frozen=True)
class RecipientResult:
    """One customer group (chat id) or customer (external user id) of a 企业群发 task."""

    recipient: str
    status: str  # sent | pending | not_sent
    sender: str | None = None
    reason: str | None = None  # not_sent: why
    sent_at: datetime | None = None


@dataclass(frozen=True)
class RecipientCounts:
    sent: int = 0
    pending: int = 0
    not_sent: int = 0


@dataclass(frozen=True)
class FailedAttempt:
    at: datetime
    error: str


@dataclass(frozen=True)
class Delivery:
    """One push of one step to one destination at one occurrence; its id is that key."""

    id: str
    plan_id: str
    step_id: str
    step_name: str
    destination_key: str
    destination_name: str
    channel: str
    scheduled_for: datetime
    send_at: datetime
    status: str
    created_at: datetime
    reason: str | None = None
    attempts: int = 0
    cap_counted: bool | None = None  # counted against the destination's daily cap (None: never asked)
    sent_at: datetime | None = None
    updated_at: datetime | None = None
    last_error: str | None = None
    history: tuple[FailedAttempt, ...] = ()
    lease_until: datetime | None = None  # while a sender holds it
    due_at: str | None = None  # while it waits in the send queue (or, awaiting staff, its next check)
    # 企业群发 only: who sends it (a group's owner; for tags, optional), the groups it goes to (those
    # over WeCom's one-a-day limit removed before the task is made: `limited`), the task and its results.
    sender: str | None = None
    chat_ids: tuple[str, ...] = ()
    limited: tuple[str, ...] = ()
    msgid: str | None = None
    task_created_at: datetime | None = None
    reminders: int = 0
    results: tuple[RecipientResult, ...] = ()
    counts: RecipientCounts | None = None
    # Reminder mode only: when the task link expires, and who marked it sent on the task page.
    task_expires_at: datetime | None = None
    confirmed_by: str | None = None


@dataclass(frozen=True)
class PlannedPush:
    """One push of the calendar ahead, as the job will make it."""

    scheduled_for: datetime
    send_at: datetime | None  # None: it would be skipped (over the daily cap)
    step_id: str
    step_name: str
    destination_key: str
    destination_name: str
    outcome: str  # send | held_by_quiet_hours | over_daily_cap | over_wecom_daily_limit


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The instant (in UTC) of wall-clock `at` on `day` in `tz`. fold=0 reads a time in a
    spring-forward gap with the offset before the change (02:30 becomes 03:30) and a repeated
    time as its first occurrence."""
    return datetime.combine(day, at).replace(tzinfo=tz).astimezone(UTC)


def occurrences(schedule: Schedule, start: date, tz: ZoneInfo, after: datetime, until: datetime) -> Iterator[datetime]:
    """The instants of `schedule` in (after, until], in order; `start` is the destination's day 0."""
    if schedule.kind == ONCE:
        assert schedule.on is not None, "a once schedule has its day (admin's _schedule requires it)"
        instant = local_instant(schedule.on, schedule.at, tz)
        if after < instant <= until:
            yield instant
        return
    if schedule.kind == DAY_OFFSET:
        instant = local_instant(start + timedelta(days=schedule.day), schedule.at, tz)
        if after < instant <= until:
            yield instant
        return
    day = after.astimezone(tz).date() - timedelta(days=1)
    last = until.astimezone(tz).date()
    while day <= last:
        if day.isoweekday() in schedule.weekdays:
            instant = local_instant(day, schedule.at, tz)
            if after < instant <= until:
                yield instant
        day += timedelta(days=1)


def in_quiet_hours(instant: datetime, guards: Guards, tz: ZoneInfo) -> bool:
    clock = instant.astimezone(tz).time()
    start, end = guards.quiet_start, guards.quiet_end
    if start == end:
        return False
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end


def send_time(scheduled: datetime, guards: Guards, tz: ZoneInfo) -> datetime:
    """When a push scheduled at `scheduled` may go out: then, or at the end of quiet hours."""
    if not in_quiet_hours(scheduled, guards, tz):
        return scheduled
    local = scheduled.astimezone(tz)
    end_day = local.date() if local.time() < guards.quiet_end else local.date() + timedelta(days=1)
    return local_instant(end_day, guards.quiet_end, tz)


def too_late(scheduled: datetime, now: datetime, guards: Guards) -> bool:
    return now - scheduled > timedelta(minutes=guards.max_delay_minutes)


def check_content(content: Content, channel: str) -> None:
    """Refuse, at plan-creation time, content the channel cannot carry."""
    if content.kind not in CHANNEL_KINDS.get(channel, ()):
        if content.kind == MINIPROGRAM:
            raise PlanInvalid(
                "a WeCom group robot cannot send mini-program cards; send them through 企业群发 (a wecom_groups, "
                "wecom_chats or wecom_tags target) or to a webhook destination, or use a link card"
            )
        if channel == WECOM_GROUPMSG:
            raise PlanInvalid(
                f"WeCom 企业群发 cannot send {content.kind} content; use text, image, link or miniprogram"
            )
        raise PlanInvalid(f"a {channel} destination cannot send {content.kind} content")
    if channel == WECOM_GROUPMSG:
        _check_groupmsg(content)
    if channel != WECOM_ROBOT:
        return
    if content.kind == TEXT and len(content.text.encode()) > ROBOT_TEXT_BYTES:
        raise PlanInvalid(f"a WeCom robot text is at most {ROBOT_TEXT_BYTES} bytes (about 680 Chinese characters)")
    if content.kind == MARKDOWN and len(content.text.encode()) > ROBOT_MARKDOWN_BYTES:
        raise PlanInvalid(f"a WeCom robot markdown message is at most {ROBOT_MARKDOWN_BYTES} bytes")
    if content.kind == IMAGE and content.image_bytes > ROBOT_IMAGE_BYTES:
        raise PlanInvalid("a WeCom robot image is at most 2 MB (JPG or PNG); compress it")
    if content.kind == LINK:
        if len(content.title.encode()) > ROBOT_NEWS_TITLE_BYTES:
            raise PlanInvalid(f"a link card title is at most {ROBOT_NEWS_TITLE_BYTES} bytes for a WeCom robot")
        if len(content.description.encode()) > ROBOT_NEWS_DESCRIPTION_BYTES:
            raise PlanInvalid(f"a link card description is at most {ROBOT_NEWS_DESCRIPTION_BYTES} bytes for a robot")


def _check_groupmsg(content: Content) -> None:
    if len(content.text.encode()) > GROUPMSG_TEXT_BYTES:
        raise PlanInvalid(f"a WeCom group message text is at most {GROUPMSG_TEXT_BYTES} bytes")
    if content.kind == IMAGE and content.image_bytes > GROUPMSG_IMAGE_BYTES:
        raise PlanInvalid("a WeCom group message image is at most 2 MB (JPG or PNG); compress it")
    if content.kind == MINIPROGRAM:
        if not content.image_key:
            raise PlanInvalid("a mini-program card sent through WeCom needs its picture: give image_base64")
        if len(content.title.encode()) > GROUPMSG_MINIPROGRAM_TITLE_BYTES:
            raise PlanInvalid(f"a mini-program card title is at most {GROUPMSG_MINIPROGRAM_TITLE_BYTES} bytes")
    if content.kind == LINK and len(content.title.encode()) > ROBOT_NEWS_TITLE_BYTES:
        raise PlanInvalid(f"a link card title is at most {ROBOT_NEWS_TITLE_BYTES} bytes")


def decode_image(image_base64: str) -> bytes:
    """A step's PNG or JPEG from its base64 text (the shared lenient decoder)."""
    try:
        data = decode_base64_file(image_base64, MAX_IMAGE_BYTES)
    except InvalidInput as error:  # reported with the step it belongs to, like every content rule
        raise PlanInvalid(error.message) from None
    if not (data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff")):
        raise PlanInvalid("the image must be a PNG or JPEG file")
    return data


# -- presets from the seeds: an operator starts from one and edits -------------------------

_WEEK = {
    1: ("周一·干货知识", "【周一干货】本周护肤小课堂：换季如何稳住皮肤屏障？今晚 8 点群内分享，记得来听～"),
    2: ("周二·话题讨论", "【周二话题】你最近在用的宝藏单品是什么？晒出来，抽 3 位送小样！"),
    3: ("周三·限时秒杀", "【周三秒杀】今晚 8 点群内专属秒杀，限量 50 份，提前定好闹钟⏰"),
    4: ("周四·新品种草", "【周四种草】新品试用报告来啦，看看群友们的真实反馈👇"),
    5: ("周五·福利抽奖", "【周五福利】群抽奖开始！回复“福利”参与，周日晚公布名单。"),
    6: ("周六·晒单有礼", "【周六晒单】晒出你的使用前后对比，优质晒单送积分～"),
    7: ("周日·下周预告", "【周日预告】下周活动抢先看，点个关注不迷路。"),
}
_FLASH = [
    (0, "10:00", "欢迎加入快闪群！本群开放 15 天，每天都有干货和福利，先看群公告～"),
    (1, "20:00", "【第 1 天】品牌故事：我们为什么做这款产品。"),
    (2, "20:00", "【第 2 天】干货分享：正确的使用方法和常见误区。"),
    (3, "20:00", "【第 3 天】体验官招募：回复“体验”领取试用装。"),
    (4, "20:00", "【第 4 天】用户真实反馈合集。"),
    (5, "20:00", "【第 5 天】直播预告：明晚 8 点专家答疑。"),
    (6, "20:00", "【第 6 天】直播进行中，点击进入直播间。"),
    (7, "20:00", "【第 7 天】限时体验价开启，仅限本群。"),
    (8, "20:00", "【第 8 天】晒单 PK 开始，前三名有奖。"),
    (9, "20:00", "【第 9 天】搭配攻略：组合使用效果更好。"),
    (10, "20:00", "【第 10 天】老客专享：复购立减。"),
    (11, "20:00", "【第 11 天】常见问题集中解答。"),
    (12, "20:00", "【第 12 天】福利加码：邀请好友进群领券。"),
    (13, "20:00", "【第 13 天】倒计时 2 天，体验价即将结束。"),
    (14, "20:00", "【第 14 天】最后一天！感谢陪伴，长期服务请添加专属顾问。"),
]
PRESETS: dict[str, dict[str, Any]] = {  # JSON-shaped: StepIn validates a preset's steps
    "daily_group_week": {
        "name": "日常群周计划",
        "description": "A daily group's week: Monday knowledge, Tuesday topic, Wednesday flash sale … at 20:00.",
        "target": {"kind": "code_groups"},
        "steps": [
            {
                "name": name,
                "schedule": {"kind": WEEKLY, "weekdays": [day], "at": "20:00"},
                "content": {"kind": TEXT, "text": text},
            }
            for day, (name, text) in _WEEK.items()
        ],
    },
    "flash_group_15_days": {
        "name": "快闪群 15 天脚本",
        "description": "A new flash group (快闪群): welcome on day 0, then one push a day for 14 days.",
        "target": {"kind": "code_groups"},
        "steps": [
            {
                "name": f"第 {day} 天",
                "schedule": {"kind": DAY_OFFSET, "day": day, "at": at},
                "content": {"kind": TEXT, "text": text},
            }
            for day, at, text in _FLASH
        ],
    },
    "seeding_then_conversion": {
        "name": "种草 5 天 + 转化 6 天",
        "description": "Seed 003's cohort plan: five days of 种草 content, then six days of conversion, at 20:00.",
        "target": {"kind": "code_groups"},
        "steps": [
            {
                "name": f"种草 第 {day} 天",
                "schedule": {"kind": DAY_OFFSET, "day": day, "at": "20:00"},
                "content": {"kind": TEXT, "text": f"【种草 {day}/5】今天聊聊成分和功效，看看群友的真实体验。"},
            }
            for day in range(1, 6)
        ]
        + [
            {
                "name": f"转化 第 {day} 天",
                "schedule": {"kind": DAY_OFFSET, "day": 5 + day, "at": "20:00"},
                "content": {"kind": TEXT, "text": f"【转化 {day}/6】群专属价今日有效，回复“下单”获取链接。"},
            }
            for day in range(1, 7)
        ],
    },
}
