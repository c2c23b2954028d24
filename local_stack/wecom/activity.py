"""Group activity on the WeCom emulator: customers speak in their groups (a control route), and
``externalcontact/groupchat/statistic`` (群聊数据统计, by owner) reports, per owner and day range,
the groups, their members, the members who spoke and the messages, as WeCom does.

WeCom's rules played here: ``day_begin_time`` is required (40058 otherwise), ``day_end_time``
defaults to it and may be at most 30 days later; ``owner_filter.userid_list`` at most 100 owners;
``limit`` at most 1000. Days are China-time days.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from local_stack.wecom.customers import NotFound
from local_stack.wecom.model import World, parameter_error

CHINA = timezone(timedelta(hours=8))
DAY = 86400


def day_of(instant: float) -> str:
    return datetime.fromtimestamp(instant, CHINA).date().isoformat()


def speak(world: World, chat_id: str, external_userid: str, now: float) -> dict[str, Any]:
    """The member says something in the group (counted in that day's statistic)."""
    chats = [c for c in world.chats_with(chat_id) if external_userid in c.members]
    if not chats:
        raise NotFound(f"{external_userid} is not a member of {chat_id}")
    chat = chats[0]
    spoken = world.spoken.setdefault((chat.corp_id, chat_id, day_of(now)), {})
    spoken[external_userid] = spoken.get(external_userid, 0) + 1
    return {"chat_id": chat_id, "day": day_of(now), "messages": spoken[external_userid]}


def groupchat_statistic(world: World, corp_id: str, body: dict[str, Any]) -> dict[str, Any]:
    begin = body.get("day_begin_time")
    if not isinstance(begin, int) or isinstance(begin, bool) or begin <= 0:
        raise parameter_error("day_begin_time is required (a day's start, epoch seconds)")
    end = body.get("day_end_time", begin) or begin
    if not isinstance(end, int) or end < begin or end - begin > 30 * DAY:
        raise parameter_error("day_end_time must be within 30 days after day_begin_time")
    owners = (body.get("owner_filter") or {}).get("userid_list") or []
    if not isinstance(owners, list) or len(owners) > 100:
        raise parameter_error("owner_filter.userid_list: at most 100 owners")
    limit = body.get("limit", 500)
    offset = body.get("offset", 0)
    if not isinstance(limit, int) or not 1 <= limit <= 1000 or not isinstance(offset, int) or offset < 0:
        raise parameter_error("limit must be 1 to 1000 and offset at least 0")
    days = [day_of(begin + i * DAY) for i in range((end - begin) // DAY + 1)]
    last_instant = begin + len(days) * DAY
    chats = [c for (corp, _), c in world.chats.items() if corp == corp_id and c.create_time < last_instant]
    owners = owners or sorted({c.owner for c in chats})
    items = []
    for owner in owners:
        mine = [c for c in chats if c.owner == owner]
        speakers: set[str] = set()
        messages = 0
        active_chats = 0
        for chat in mine:
            said = [world.spoken.get((corp_id, chat.chat_id, day), {}) for day in days]
            chat_speakers = {who for day in said for who in day}
            speakers |= {f"{chat.chat_id}/{who}" for who in chat_speakers}
            messages += sum(n for day in said for n in day.values())
            active_chats += bool(chat_speakers)
        data = {
            "new_chat_cnt": sum(1 for c in mine if day_of(c.create_time) in days),
            "chat_total": len(mine),
            "chat_has_msg": active_chats,
            "new_member_cnt": sum(1 for c in mine for m in c.members.values() if day_of(m.join_time) in days),
            "member_total": sum(len(c.members) for c in mine),
            "member_has_msg": len(speakers),
            "msg_total": messages,
            "migrate_trainee_chat_cnt": 0,
        }
        items.append({"owner": owner, "data": data})
    page = items[offset : offset + limit]
    more = offset + limit < len(items)
    return {"total": len(items), "next_offset": offset + limit if more else 0, "items": page}
