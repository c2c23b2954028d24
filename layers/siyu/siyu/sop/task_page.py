"""The SOP task page's use cases (``GET /t/{token}``, ``POST /t/{token}/sent``): a reminder
delivery opened from its signed link, and marked sent by the guide who sent it by hand.

The token is the only credential: a forged one, or one naming no reminder delivery, is
``LinkRefused("invalid")``; an expired one ``LinkRefused("expired")``. Marking sent is a conditional
write (only while the delivery awaits staff), so a second POST changes nothing and says so.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from siyu.core.clock import utcnow
from siyu.sop import rules
from siyu.sop.ports import ImageFiles
from siyu.sop.reminders import deadline_text, who_of
from siyu.sop.rules import Content, Delivery, Plan
from siyu.web.signed_links import LinkRefused, verify

INLINE_IMAGE_BYTES = 1024 * 1024  # larger pictures are a short-lived bucket link instead of a data URI
IMAGE_LINK_SECONDS = 3600
UNNAMED = "未署名"


class TaskStore(Protocol):
    def plan(self, plan_id: str) -> tuple[Plan, object] | None: ...

    def delivery(self, plan_id: str, delivery_id: str) -> Delivery | None: ...

    def confirm_reminder(self, plan_id: str, delivery_id: str, who: str, at: datetime) -> bool: ...


@dataclass(frozen=True)
class TaskView:
    """What the page shows: the group, the content to send, the deadline, whether it is done."""

    plan: Plan
    delivery: Delivery
    content: Content
    deadline: str  # local time of the plan, MM-DD HH:MM
    image_src: str | None  # a data URI or a short-lived bucket link

    @property
    def group(self) -> str:
        return self.delivery.destination_name

    @property
    def guides(self) -> tuple[str, ...]:
        return self.plan.reminder.wecom_users if self.plan.reminder else ()


@dataclass
class SopTasks:
    sop: TaskStore
    files: ImageFiles
    signing_key: Callable[[], bytes]
    clock: Callable[[], datetime] = utcnow

    def open(self, token: str) -> TaskView:
        plan, delivery = self._found(token, self.clock())
        return self._view(plan, delivery)

    def mark_sent(self, token: str, who: object) -> tuple[TaskView, bool]:
        """Mark the delivery sent; (the page, True) the first time, (the page, False) after."""
        now = self.clock()
        plan, delivery = self._found(token, now)
        newly = self.sop.confirm_reminder(plan.id, delivery.id, who_of(who, UNNAMED), now)
        current = self.sop.delivery(plan.id, delivery.id) or delivery
        return self._view(plan, current), newly

    def _found(self, token: str, now: datetime) -> tuple[Plan, Delivery]:
        payload = verify(token, self.signing_key(), now)
        plan_id, delivery_id = payload.get("plan"), payload.get("delivery")
        if not isinstance(plan_id, str) or not isinstance(delivery_id, str) or not plan_id.isalnum():
            raise LinkRefused("invalid")
        found = self.sop.plan(plan_id)
        delivery = self.sop.delivery(plan_id, delivery_id) if found else None
        if found is None or delivery is None or delivery.channel != rules.REMINDER:
            raise LinkRefused("invalid")
        return found[0], delivery

    def _view(self, plan: Plan, delivery: Delivery) -> TaskView:
        step = next((s for s in plan.steps if s.id == delivery.step_id), None)
        content = step.content if step else rules.Content(rules.TEXT, text="（这一步已从计划中删除，无需发送）")
        expires = delivery.task_expires_at
        deadline = deadline_text(expires, plan.time_zone) if expires else ""
        return TaskView(plan, delivery, content, deadline, self._image(content))

    def _image(self, content: Content) -> str | None:
        if not content.image_key:
            return None
        if content.image_bytes and content.image_bytes <= INLINE_IMAGE_BYTES:
            data = self.files.get(content.image_key)
            kind = "png" if data.startswith(b"\x89PNG") else "jpeg"
            return f"data:image/{kind};base64,{base64.b64encode(data).decode('ascii')}"
        return self.files.download_url(content.image_key, IMAGE_LINK_SECONDS)
