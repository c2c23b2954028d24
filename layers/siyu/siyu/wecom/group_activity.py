"""WeCom's ``externalcontact/groupchat/statistic`` (群聊数据统计, by owner) for the flash-group
metrics' 活跃率: one owner's groups on one day — how many groups, members, members who spoke and
messages. WeCom keeps the figures by owner and by day; a day is its China-time midnight."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from siyu.core.clock import utcnow
from siyu.layering.model import OwnerActivity
from siyu.wecom.contact_tagger import ConnectedClient

CHINA = ZoneInfo("Asia/Shanghai")


@dataclass
class WecomGroupActivity:
    connections: ConnectedClient
    clock: Callable[[], datetime] = utcnow

    def connected(self) -> bool:
        return self.connections.current() is not None

    def of_owner(self, owner: str, day: str) -> OwnerActivity:
        """The owner's day (raises WecomApiError when WeCom refuses; zeros when it lists no data)."""
        start = int(datetime.combine(datetime.fromisoformat(day).date(), time(), CHINA).timestamp())
        body = {
            "day_begin_time": start,
            "day_end_time": start,
            "owner_filter": {"userid_list": [owner]},
            "offset": 0,
            "limit": 1,
        }
        answer = self.connections.client().post("/cgi-bin/externalcontact/groupchat/statistic", body)
        items: list[dict[str, Any]] = answer.get("items", [])
        data: dict[str, Any] = next((i.get("data", {}) for i in items if i.get("owner") == owner), {})
        return OwnerActivity(
            owner=owner,
            day=day,
            chat_total=int(data.get("chat_total", 0)),
            member_total=int(data.get("member_total", 0)),
            member_has_msg=int(data.get("member_has_msg", 0)),
            msg_total=int(data.get("msg_total", 0)),
            read_at=self.clock(),
        )
