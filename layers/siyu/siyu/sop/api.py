"""The admin API's contract for SOP plans (pydantic; admin function only), and the views of
the domain records it answers with."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from siyu.api.types import CalendarDay, LocalDateTime, ReceiverUrl, TimeZone, _Input, view_of
from siyu.core.clock import to_precise_iso
from siyu.sop.rules import (
    AWAITING_STAFF,
    NOT_SENT,
    QUEUED,
    WAITING,
    WECOM_GROUPMSG,
    Delivery,
    Plan,
    PlannedPush,
)

Clock = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM, the plan's local time")]
Name = Annotated[str, Field(min_length=1, max_length=80)]


class ScheduleIn(_Input):
    kind: Literal["day_offset", "weekly", "once"]
    at: Clock | None = Field(None, description="day_offset, weekly: HH:MM local time.")
    day: Annotated[int, Field(ge=0, le=365)] | None = Field(None, description="day_offset: day N after the start.")
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] | None = Field(None, description="weekly: 1 = Monday … 7.")
    on: LocalDateTime | None = Field(
        None, description="once: local date-time, e.g. 2026-12-12T20:00 (no offset), years 2000-2100."
    )


class ContentIn(_Input):
    kind: Literal["text", "markdown", "image", "link", "miniprogram"]
    text: Annotated[str, Field(max_length=5000)] | None = None
    image_base64: str | None = Field(None, description="image (and a link/mini-program picture): PNG or JPEG.")
    title: Annotated[str, Field(max_length=200)] | None = None
    description: Annotated[str, Field(max_length=1000)] | None = None
    url: Annotated[str, Field(pattern=r"^https?://\S+$", max_length=2000)] | None = None
    picture_url: Annotated[str, Field(pattern=r"^https?://\S+$", max_length=2000)] | None = None
    appid: Annotated[str, Field(pattern=r"^wx[0-9a-f]{16}$")] | None = Field(None, description="miniprogram")
    page: Annotated[str, Field(max_length=500)] | None = Field(None, description="miniprogram page path")


class StepIn(_Input):
    name: Name
    schedule: ScheduleIn
    content: ContentIn


class DestinationIn(_Input):
    name: Name
    channel: Literal["wecom_robot", "webhook"]
    url: ReceiverUrl
    secret: Annotated[str, Field(min_length=16, max_length=200)] | None = Field(
        None, description="webhook signing secret (X-Siyu-Signature); generated if absent."
    )
    start_date: CalendarDay | None = Field(None, description="Day 0 of day_offset steps for this destination.")


ChatId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
TagName = Annotated[str, Field(min_length=1, max_length=30)]


class TargetIn(_Input):
    kind: Literal["destinations", "code_groups", "wecom_groups", "wecom_chats", "wecom_tags"] = Field(
        description="destinations, code_groups: robots and webhooks; wecom_groups, wecom_chats, wecom_tags: "
        "WeCom 企业群发 (the group owner, or the tags' guides, confirm each push in WeCom)."
    )
    destinations: list[DestinationIn] | None = Field(None, max_length=200)
    code_id: str | None = Field(
        None,
        description="code_groups: every group of this code that has a robot_url; wecom_groups: the customer "
        "groups of this code's join-way targets (wecom_chat_ids, and the groups WeCom made for them).",
    )
    chat_ids: list[ChatId] | None = Field(None, max_length=2000, description="wecom_chats: 1 to 2000 customer groups.")
    tags: list[TagName] | None = Field(None, max_length=100, description="wecom_tags: corp tag names (any of them).")
    sender: Annotated[str, Field(pattern=r"^[A-Za-z0-9_@.-]{1,64}$")] | None = Field(
        None, description="wecom_tags: the guide (userid) who sends; default: every guide, to their own customers."
    )


UserId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_@.-]{1,64}$")]


class RemindIn(_Input):
    wecom_users: list[UserId] | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="The guides (WeCom userids) who get a WeCom app message (textcard) with the task page "
        "link; needs WeCom connected (409 otherwise).",
    )
    robot_url: ReceiverUrl | None = Field(
        None,
        description="Or a WeCom group robot webhook (https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...) "
        "of an internal staff group: a markdown message with the task page link.",
    )


class DeliveryIn(_Input):
    mode: Literal["direct", "reminder"] = Field(
        "direct",
        description="direct: siyu sends (robots, webhooks, 企业群发). reminder: for targets that name groups "
        "(code_groups: every enabled group of the code, uploaded screenshots included; wecom_groups; "
        "wecom_chats): the guide is reminded with a signed task page link (/t/<token>) from which they "
        "send the content by hand and tap 已发送. One delivery per (occurrence, step, group).",
    )
    remind: RemindIn | None = Field(None, description="reminder: exactly one of wecom_users or robot_url.")
    task_hours: Annotated[int, Field(ge=1, le=168)] = Field(
        24, description="reminder: how long the task link lives; unconfirmed by then the delivery is not_sent."
    )


class GuardsIn(_Input):
    quiet_start: Clock = "22:00"
    quiet_end: Clock = "08:00"
    max_delay_minutes: Annotated[int, Field(ge=0, le=10080)] = Field(
        720, description="A push held by quiet hours (or found overdue) later than this is skipped."
    )
    daily_cap: Annotated[int, Field(ge=1, le=50)] = Field(3, description="Pushes per target per local day.")


class PlanCreate(_Input):
    name: Name | None = Field(None, description="Defaults to the preset's name.")
    preset: Literal["daily_group_week", "flash_group_15_days", "seeding_then_conversion"] | None = None
    time_zone: TimeZone = "Asia/Shanghai"  # type: ignore[assignment]  # validated to its str, as TimeZone makes it
    target: TargetIn
    start_date: CalendarDay | None = Field(None, description="Day 0 for destinations; default: today.")
    steps: list[StepIn] | None = Field(None, max_length=100, description="Required unless a preset gives them.")
    guards: GuardsIn = GuardsIn()
    delivery: DeliveryIn | None = Field(None, description="How pushes reach the groups; default: direct.")


class PlanUpdate(_Input):
    name: Name | None = None
    steps: list[StepIn] | None = Field(None, max_length=100)
    guards: GuardsIn | None = None


class PlanView(BaseModel):
    id: str
    name: str
    status: Literal["active", "paused"]
    time_zone: str
    target: dict[str, Any]
    start_date: date
    guards: dict[str, Any]
    steps: list[dict[str, Any]]
    destinations: list[dict[str, Any]]
    delivery: dict[str, Any] = Field(description="{mode: direct} or {mode: reminder, remind, task_hours}.")
    warnings: list[str]
    created_at: datetime
    version: int


class PlanList(BaseModel):
    items: list[PlanView]
    next_cursor: str | None = None


class CalendarEntry(BaseModel):
    scheduled_for: datetime
    send_at: datetime | None = Field(description="After quiet hours; None when the push would be skipped.")
    step_id: str
    step_name: str
    target_key: str
    target_name: str
    outcome: Literal["send", "held_by_quiet_hours", "over_daily_cap", "over_wecom_daily_limit"] = Field(
        description="over_wecom_daily_limit: the group already gets another 企业群发 push that day (any plan); "
        "WeCom would refuse it, so the job skips it."
    )


class Calendar(BaseModel):
    plan_id: str
    days: int
    items: list[CalendarEntry]


class DeliveryLog(BaseModel):
    items: list[dict[str, Any]] = Field(
        description="Each delivery's stored fields; a 企业群发 one also: sender, chat_ids, msgid, "
        "task_created_at, reminders, counts {sent, pending, not_sent} and results per group or customer; "
        "a reminder one (channel reminder): status awaiting_staff | sent | not_sent, task_expires_at, "
        "and once marked sent on the task page, confirmed_by and sent_at."
    )
    next_cursor: str | None = None


class OccurrenceReport(BaseModel):
    scheduled_for: datetime
    step_id: str
    step_name: str
    tasks: int = Field(description="企业群发 tasks made (one per group owner).")
    sent: int
    pending: int
    not_sent: int


class SenderReport(BaseModel):
    sender: str | None
    tasks: int
    confirmed: int = Field(description="Tasks the guide sent to at least one recipient.")
    confirmation_rate: float | None


class ReminderReport(BaseModel):
    guide: str = Field(description="The group's guide (the target's staff name, or the group's name).")
    tasks: int = Field(description="Reminders sent.")
    sent: int = Field(description="Marked sent on the task page.")
    not_sent: int = Field(description="The task link expired first.")
    awaiting: int
    confirmation_rate: float | None = Field(description="sent / (sent + not_sent); None while none settled.")


class WecomReport(BaseModel):
    plan_id: str
    occurrences: list[OccurrenceReport] = Field(description="Groups or customers sent, pending, not sent.")
    senders: list[SenderReport] = Field(description="The confirmation rate per guide (group owner).")
    reminders: list[ReminderReport] = Field(
        default_factory=list, description="Reminder mode: per group's guide, tasks marked sent or expired."
    )


def plan_view(plan: Plan, warnings: list[str], with_secrets: bool = False) -> PlanView:
    """The plan as operators see it; webhook secrets only in the answer that created them."""
    destinations = [
        {k: v for k, v in _document(d).items() if k != "secret" or with_secrets} | {"id": d.key.removeprefix("d:")}
        for d in plan.destinations
    ]
    return view_of(
        PlanView,
        plan,
        target=plan.audience,
        start_date=plan.start,
        guards=_document(plan.guards),
        steps=[_document(step) for step in plan.steps],
        destinations=destinations,
        delivery={"mode": "reminder", **_document(plan.reminder)} if plan.reminder else {"mode": "direct"},
        warnings=warnings,
    )


def calendar_entry(push: PlannedPush) -> CalendarEntry:
    return view_of(CalendarEntry, push, target_key=push.destination_key, target_name=push.destination_name)


# A delivery in the log: its stored attributes by their stored names, those it has.
_DELIVERY_FIELDS = {"destination_key": "target_key", "destination_name": "target_name"}


def delivery_view(delivery: Delivery) -> dict[str, Any]:
    """A delivery's stored attributes; a 企业群发 one always has its counts (sent, pending, not_sent)."""
    view: dict[str, Any] = {}
    for item in dataclasses.fields(delivery):
        value = getattr(delivery, item.name)
        if value is None or (isinstance(value, tuple) and not value) or (item.name == "reminders" and not value):
            continue
        view[_DELIVERY_FIELDS.get(item.name, item.name)] = _json(value)
    if delivery.channel == WECOM_GROUPMSG and delivery.counts is None:
        refused = sum(r.status == NOT_SENT for r in delivery.results)
        waiting = len(delivery.chat_ids) - refused if delivery.status in (AWAITING_STAFF, QUEUED, WAITING) else 0
        view["counts"] = {"sent": 0, "pending": max(waiting, 0), "not_sent": refused + len(delivery.limited)}
    return view


def _document(record: Any) -> dict[str, Any]:
    """A record's fields as JSON values, names sorted (as the stored plan document has them)."""
    document = _json(dataclasses.asdict(record))
    assert isinstance(document, dict)
    return document


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_precise_iso(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _json(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {k: _json(value[k]) for k in sorted(value)}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value
