"""Reminder mode: pure rules.

A WeCom group robot cannot be in a customer group, and a personal-WeChat group has no API at all,
so a plan in reminder mode reaches a group through a person: at send time the responsible guide is
reminded (a WeCom app message, a ``textcard``, to the plan's ``wecom_users``; or a markdown message
to an internal group's robot) with a signed, time-limited link to a task page (``/t/<token>``),
where they copy the content, send it themselves and tap 已发送.

A reminder delivery is one per (occurrence, step, group), as robot deliveries are. Its statuses:
``awaiting_staff`` once the reminder is out (it stays in the send due index until its link
expires), ``sent`` when the guide marks it sent (who and when recorded), ``not_sent`` when the link
expired first (the job hands it over at its expiry and the sender settles it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from siyu.core.errors import InvalidInput
from siyu.sop.rules import AWAITING_STAFF, NOT_SENT, REMINDER, SENT, Delivery, Plan, Reminder, zone

TASK_PATH = "/t/"
MIN_TASK_HOURS, MAX_TASK_HOURS = 1, 168
MAX_WECOM_USERS = 100  # message/send takes up to 1000 touser; a plan's reminded guides are few
MAX_WHO_CHARS = 40
NOT_CONFIRMED = "the guide did not mark it sent before the task link expired"
TEXTCARD_TITLE_BYTES = 128
TEXTCARD_DESCRIPTION_BYTES = 512
PREVIEW_CHARS = 60


REMINDER_TARGETS = ("code_groups", "wecom_groups", "wecom_chats")  # the target kinds that name groups


def is_reminder(plan: Plan) -> bool:
    return plan.reminder is not None


def reminder_option(
    mode: str, wecom_users: list[str] | None, robot_url: str | None, task_hours: int, target_kind: str
) -> Reminder | None:
    """The plan's reminder mode from its `delivery` option (None: direct), or InvalidInput (422)."""
    if mode != REMINDER:
        if wecom_users or robot_url:
            raise InvalidInput("delivery.remind is for delivery.mode reminder only")
        return None
    if target_kind not in REMINDER_TARGETS:
        raise InvalidInput(
            f"delivery.mode reminder is only for targets that name groups ({', '.join(REMINDER_TARGETS)}), "
            f"not {target_kind}"
        )
    if not wecom_users and not robot_url:
        raise InvalidInput("delivery.mode reminder needs remind: exactly one of remind.wecom_users or remind.robot_url")
    if bool(wecom_users) == bool(robot_url):
        raise InvalidInput("delivery.remind: give exactly one of remind.wecom_users or remind.robot_url")
    users = tuple(dict.fromkeys(wecom_users or ()))
    return Reminder(wecom_users=users, robot_url=robot_url or "", task_hours=task_hours)


def task_expiry(now: datetime, reminder: Reminder) -> datetime:
    return now + timedelta(hours=reminder.task_hours)


def token_payload(plan_id: str, delivery_id: str) -> dict[str, str]:
    """What a task link carries (signed with its expiry): the plan and the delivery."""
    return {"plan": plan_id, "delivery": delivery_id}


def task_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{TASK_PATH}{token}"


def who_of(text: object, fallback: str) -> str:
    """Who marked a task sent, as recorded: the form's `who` (trimmed, one line, short) or `fallback`."""
    cleaned = " ".join(str(text or "").split())[:MAX_WHO_CHARS]
    return cleaned or fallback


def _cut(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", "ignore") + "…"


def preview(plan: Plan, delivery: Delivery) -> str:
    """A line of what is to be sent (the step's text, or what kind of content it is)."""
    step = next((s for s in plan.steps if s.id == delivery.step_id), None)
    if step is None:
        return delivery.step_name
    content = step.content
    text = (
        content.text
        or content.title
        or {"image": "一张图片", "link": "一个链接", "miniprogram": "一个小程序"}.get(content.kind, "")
    )
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "…"


def deadline_text(expires_at: datetime, time_zone: str) -> str:
    return expires_at.astimezone(zone(time_zone)).strftime("%m-%d %H:%M")


def textcard(plan: Plan, delivery: Delivery, url: str, expires_at: datetime) -> dict[str, str]:
    """The WeCom app message (msgtype textcard) that reminds the guides."""
    title = _cut(f"SOP 待发送：{delivery.destination_name}", TEXTCARD_TITLE_BYTES)
    description = (
        f'<div class="gray">{plan.name} · {delivery.step_name}</div>'
        f'<div class="normal">{preview(plan, delivery)}</div>'
        f'<div class="highlight">请在 {deadline_text(expires_at, plan.time_zone)} 前发送到群里，并点“已发送”</div>'
    )
    return {
        "title": title,
        "description": _cut(description, TEXTCARD_DESCRIPTION_BYTES),
        "url": url,
        "btntxt": "去发送",
    }


def robot_markdown(plan: Plan, delivery: Delivery, url: str, expires_at: datetime) -> dict[str, Any]:
    """The internal group robot message (markdown) that reminds the guides."""
    text = (
        f"**SOP 待发送：{delivery.destination_name}**\n"
        f"> {plan.name} · {delivery.step_name}\n"
        f"> {preview(plan, delivery)}\n"
        f'> 截止：<font color="warning">{deadline_text(expires_at, plan.time_zone)}</font>\n'
        f"[打开任务页，复制内容发到群里]({url})"
    )
    return {"msgtype": "markdown", "markdown": {"content": text}}


def reminder_report(deliveries: Iterable[Delivery]) -> list[dict[str, Any]]:
    """Per group's guide (the delivery's group name): reminders sent, marked sent, expired unconfirmed,
    still open, and the confirmation rate (marked sent / settled)."""
    guides: dict[str, dict[str, Any]] = {}
    for d in deliveries:
        if d.channel != REMINDER or d.status not in (AWAITING_STAFF, SENT, NOT_SENT):
            continue
        guide = guides.setdefault(
            d.destination_name, {"guide": d.destination_name, "tasks": 0, "sent": 0, "not_sent": 0, "awaiting": 0}
        )
        guide["tasks"] += 1
        guide[{SENT: "sent", NOT_SENT: "not_sent"}.get(d.status, "awaiting")] += 1
    for guide in guides.values():
        settled = guide["sent"] + guide["not_sent"]
        guide["confirmation_rate"] = round(guide["sent"] / settled, 4) if settled else None
    return sorted(guides.values(), key=lambda g: g["guide"])
