"""A plan's audience as the destinations its pushes go to.

Robot and webhook audiences (``destinations``, ``code_groups``) are one destination per receiver.
The 企业群发 audiences are WeCom's: ``wecom_groups`` (the customer groups of a code's join ways:
the targets' ``wecom_chat_ids`` and the groups WeCom made for them when they filled),
``wecom_chats`` (chosen customer groups) — a destination per group, ``c:<chat id>``, which the job
gathers into one delivery per group owner — and ``wecom_tags`` (1:1 to the customers with any of
the corp tags), one destination, ``t:tags``.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from siyu.live_codes.model import LiveCode, Target
from siyu.sop.ports import ChatDirectory, CodeGroups
from siyu.sop.rules import REMINDER, WECOM_GROUPMSG, WECOM_ROBOT, Destination, Plan, zone

DESTINATIONS, CODE_GROUPS = "destinations", "code_groups"  # the kinds of audience
WECOM_GROUPS, WECOM_CHATS, WECOM_TAGS = "wecom_groups", "wecom_chats", "wecom_tags"
WECOM_KINDS = (WECOM_GROUPS, WECOM_CHATS, WECOM_TAGS)
TAGS_KEY = "t:tags"
MAX_CHATS = 2000  # chat ids in one plan, and in one add_msg_template task


def is_code_groups(plan: Plan) -> bool:
    return plan.audience.get("kind") == CODE_GROUPS


def is_wecom(audience: dict[str, Any]) -> bool:
    return audience.get("kind") in WECOM_KINDS


def sends_groupmsg(plan: Plan) -> bool:
    """A 企业群发 plan (a WeCom audience not in reminder mode)."""
    return is_wecom(plan.audience) and plan.reminder is None


def rechecked(plan: Plan) -> bool:
    """Audiences that grow on their own (a group added, a group WeCom made): looked at hourly."""
    return plan.audience.get("kind") in (CODE_GROUPS, WECOM_GROUPS)


def chat_key(chat_id: str) -> str:
    return f"c:{chat_id}"


def tags_identity(tags: list[str] | tuple[str, ...]) -> str:
    """Who WeCom's one-a-day limit protects for a tags audience, as the daily cap counts it."""
    return "tags:" + hashlib.sha256("\n".join(sorted(tags)).encode()).hexdigest()[:24]


def audience_destinations(plan: Plan, codes: CodeGroups, chats: ChatDirectory | None = None) -> list[Destination]:
    """The plan's named destinations, the groups behind a group code that have a WeCom group robot
    (day 0 = the day the group was added), or its WeCom customer groups or tags (``wecom_groupmsg``)."""
    if plan.reminder is not None:
        return _reminded_groups(plan, codes, chats)
    kind = plan.audience.get("kind")
    if kind == WECOM_TAGS:
        return [Destination(TAGS_KEY, "tags: " + ", ".join(plan.audience["tags"]), WECOM_GROUPMSG, "")]
    if kind == WECOM_CHATS:
        return [Destination(chat_key(c), c, WECOM_GROUPMSG, "") for c in plan.audience["chat_ids"]]
    if kind == WECOM_GROUPS:
        return _code_chats(plan, codes, chats)
    if not is_code_groups(plan):
        return list(plan.destinations)
    code, _ = codes.load(plan.audience["code_id"])
    if code is None:
        return []
    tz = zone(plan.time_zone)
    return [
        Destination(
            f"g:{group.id}",
            group_name(code, group),
            WECOM_ROBOT,
            group.robot_url,
            None,
            group.created_at.astimezone(tz).date(),
        )
        for group in code.targets
        if group.robot_url and group.enabled
    ]


def _reminded_groups(plan: Plan, codes: CodeGroups, chats: ChatDirectory | None) -> list[Destination]:
    """Reminder mode: every group the target names (a code's enabled groups, robots or not, uploaded
    screenshots included; a code's WeCom groups; chosen chats), each reached through a person."""
    kind = plan.audience.get("kind")
    if kind == WECOM_CHATS:
        return [Destination(chat_key(c), c, REMINDER, "") for c in plan.audience["chat_ids"]]
    if kind == WECOM_GROUPS:
        return [replace(d, channel=REMINDER) for d in _code_chats(plan, codes, chats)]
    code, _ = codes.load(plan.audience["code_id"])
    if code is None:
        return []
    tz = zone(plan.time_zone)
    return [
        Destination(f"g:{t.id}", group_name(code, t), REMINDER, "", None, t.created_at.astimezone(tz).date())
        for t in code.targets
        if t.enabled and t.wecom_user is None
    ]


def group_name(code: LiveCode, target: Target) -> str:
    """What a guide recognises a group by: its name if it has one, else the code and its place in it."""
    if target.staff_name:
        return target.staff_name
    number = next((i for i, t in enumerate(code.targets, 1) if t.id == target.id), 0)
    return f"{code.name} · 第 {number} 个群（{target.id}）"


def _code_chats(plan: Plan, codes: CodeGroups, chats: ChatDirectory | None) -> list[Destination]:
    """A code's join-way groups (day 0: the target's creation; a group WeCom made: when first seen)."""
    code, _ = codes.load(plan.audience["code_id"])
    if code is None:
        return []
    tz = zone(plan.time_zone)
    found: dict[str, Destination] = {}
    for target in code.targets:
        for chat_id in target.wecom_chat_ids if target.enabled else ():
            name = target.staff_name or chat_id
            found[chat_id] = Destination(
                chat_key(chat_id), name, WECOM_GROUPMSG, "", None, target.created_at.astimezone(tz).date()
            )
    for group in chats.groups_of_code(code.id) if chats is not None else ():
        if group.dismissed or group.chat_id in found:
            continue
        start = group.seen_at.astimezone(tz).date() if group.seen_at else None
        found[group.chat_id] = Destination(chat_key(group.chat_id), group.name, WECOM_GROUPMSG, "", None, start)
    return list(found.values())[:MAX_CHATS]
