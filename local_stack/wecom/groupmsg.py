"""企业群发 (customer and customer-group mass messages) in the emulated WeCom: tasks made by
add_msg_template (developer.work.weixin.qq.com/document/path/92135), read back by
get_groupmsg_list_v2 / get_groupmsg_task / get_groupmsg_send_result (93338), reminded (97610) and
cancelled (97611), and confirmed by their senders in their WeCom client (a control route here).

WeCom sends nothing until a sender confirms. Its frequency rule, from 92135: 「每位客户/每个客户群每天
可接收1条群发消息，可以是企业统一创建发送的，也可以是成员自己创建发送的；超过接收上限的客户/客户群将
无法再收到群发消息」. The day is the natural day in China (UTC+8); it is enforced when a sender
confirms: a customer or group that already received one that day gets status 3 instead of 1.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from local_stack.wecom.errors import (
    API_FREQ_OUT_OF_LIMIT,
    ATTACHMENT_TYPE_INVALID,
    GROUPMSG_ID_INVALID,
    GROUPMSG_ID_MISSING,
    NO_CUSTOMER_TO_SEND,
    PARAMETERS_EMPTY,
    USERID_NOT_FOUND,
    ApiError,
)
from local_stack.wecom.model import World, parameter_error

SINGLE, GROUP = "single", "group"
ATTACHMENTS_MAX = 9
CUSTOMERS_MAX = 10_000
CHATS_MAX = 2000
TEXT_BYTES_MAX = 4000
REMINDS_PER_DAY = 3  # 97610: 24小时内每个群发最多触发三次提醒
REMIND_WINDOW = 24 * 3600
CHINA_OFFSET = 8 * 3600

UNSENT, SENT, NOT_FRIEND, ALREADY_RECEIVED = 0, 1, 2, 3  # send_list.status
TASK_UNSENT, TASK_SENT = 0, 2  # task_list.status

# each attachment's fields WeCom requires (92135); an image needs media_id or pic_url
REQUIRED = {
    "link": ("title", "url"),
    "miniprogram": ("title", "pic_media_id", "appid", "page"),
    "video": ("media_id",),
    "file": ("media_id",),
}


class Refused(Exception):
    """A control route's request that cannot be done (the route answers 409)."""


@dataclass
class Recipient:
    userid: str  # the sender whose task it is
    external_userid: str = ""  # single
    chat_id: str = ""  # group
    status: int = UNSENT
    send_time: int = 0

    def json(self) -> dict[str, Any]:
        target = {"chat_id": self.chat_id} if self.chat_id else {"external_userid": self.external_userid}
        shown: dict[str, Any] = {**target, "userid": self.userid, "status": self.status}
        if self.status == SENT:
            shown["send_time"] = self.send_time
        return shown


@dataclass
class GroupMsg:
    corp_id: str
    msgid: str
    chat_type: str
    create_time: int
    text: dict[str, Any] | None
    attachments: list[dict[str, Any]]
    allow_select: bool
    senders: dict[str, int]  # userid -> send_time (0 while not sent)
    recipients: list[Recipient]
    fail_list: list[str]
    cancelled: bool = False
    reminders: list[float] = field(default_factory=list)

    def task_status(self, userid: str) -> int:
        return TASK_SENT if self.senders[userid] else TASK_UNSENT

    def json(self) -> dict[str, Any]:
        """The whole task, as the control route shows it."""
        tasks = [{"userid": u, "status": self.task_status(u), "send_time": t} for u, t in self.senders.items()]
        return {"msgid": self.msgid, "corp_id": self.corp_id, "chat_type": self.chat_type,
                "create_time": self.create_time, "text": self.text, "attachments": self.attachments,
                "allow_select": self.allow_select, "cancelled": self.cancelled, "reminders": len(self.reminders),
                "fail_list": self.fail_list, "task_list": tasks,
                "recipients": [r.json() for r in self.recipients]}  # fmt: skip


def china_day(moment: float) -> int:
    return int((moment + CHINA_OFFSET) // 86400)


def _check_content(body: dict[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    text = body.get("text")
    if text is not None and (not isinstance(text, dict) or not isinstance(text.get("content", ""), str)):
        raise parameter_error("text is {content}")
    content = (text or {}).get("content") or ""
    if len(content.encode()) > TEXT_BYTES_MAX:
        raise parameter_error("text.content has at most 4000 bytes")
    attachments = body.get("attachments") or []
    if not isinstance(attachments, list) or len(attachments) > ATTACHMENTS_MAX:
        raise parameter_error("at most 9 attachments")
    for attachment in attachments:
        kind = attachment.get("msgtype") if isinstance(attachment, dict) else None
        if kind not in ("image", *REQUIRED):
            raise ApiError(ATTACHMENT_TYPE_INVALID)
        detail = attachment.get(kind)
        if not isinstance(detail, dict):
            raise parameter_error(f"a {kind} attachment needs its {kind} object")
        needed = REQUIRED.get(kind, ())
        if kind == "image" and not (detail.get("media_id") or detail.get("pic_url")):
            raise parameter_error("an image needs media_id or pic_url")
        if any(not detail.get(name) for name in needed):
            raise parameter_error(f"a {kind} attachment needs {', '.join(needed)}")
    if not content and not attachments:
        raise ApiError(PARAMETERS_EMPTY, "text and attachments cannot both be empty")
    return ({"content": content} if content else None), list(attachments)


def _ids(body: dict[str, Any], name: str, most: int) -> list[str]:
    ids = body.get(name) or []
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        raise parameter_error(f"{name} is a list of ids")
    if len(ids) > most:
        raise parameter_error(f"{name} lists at most {most} ids")
    return list(dict.fromkeys(ids))


def add_msg_template(world: World, corp_id: str, body: dict[str, Any], now: float) -> GroupMsg:
    chat_type = body.get("chat_type") or SINGLE
    if chat_type not in (SINGLE, GROUP):
        raise parameter_error("chat_type is single or group")
    sender = body.get("sender") or ""
    if not isinstance(sender, str):
        raise parameter_error("sender is a userid")
    text, attachments = _check_content(body)
    if sender and sender not in world.members(corp_id):
        raise ApiError(USERID_NOT_FOUND, sender)
    if chat_type == GROUP:
        recipients, failed = _group_recipients(world, corp_id, sender, _ids(body, "chat_id_list", CHATS_MAX), now)
    else:
        recipients, failed = _single_recipients(world, corp_id, sender, _ids(body, "external_userid", CUSTOMERS_MAX))
    if not recipients:
        raise ApiError(NO_CUSTOMER_TO_SEND)
    senders = {r.userid: 0 for r in recipients}
    msgid = f"msg{secrets.token_urlsafe(24)}"
    task = GroupMsg(corp_id, msgid, chat_type, int(now), text, attachments, bool(body.get("allow_select")),
                    senders, recipients, failed)  # fmt: skip
    world.group_msgs[msgid] = task
    return task


def _group_recipients(
    world: World, corp_id: str, sender: str, chat_ids: list[str], now: float
) -> tuple[list[Recipient], list[str]]:
    """The sender's groups among chat_ids (every group the sender owns if none is named)."""
    if not sender:
        raise parameter_error("sender is required when chat_type is group")
    if not chat_ids:
        owned = [c.chat_id for (corp, _), c in world.chats.items() if corp == corp_id and c.owner == sender]
        return [Recipient(sender, chat_id=c) for c in owned], []
    chats = [world.chat(corp_id, chat_id, now, owner=sender) for chat_id in chat_ids]
    mine = [Recipient(sender, chat_id=c.chat_id) for c in chats if c.owner == sender]
    return mine, [c.chat_id for c in chats if c.owner != sender]


def _single_recipients(
    world: World, corp_id: str, sender: str, external_userids: list[str]
) -> tuple[list[Recipient], list[str]]:
    """With a sender: those customers (a stranger to the sender fails when sent, status 2), or all of
    the sender's customers if none is named; a customer the corp does not know is in fail_list.
    Without one: each customer goes to the member who added them last (WeCom: the last to chat)."""
    if not sender and not external_userids:
        raise parameter_error("external_userid and sender cannot both be empty")
    contacts = {eid: c for (corp, eid), c in world.contacts.items() if corp == corp_id and c.follows}
    if sender and not external_userids:
        return [Recipient(sender, external_userid=e) for e, c in contacts.items() if sender in c.follows], []
    recipients, failed = [], []
    for external_userid in external_userids:
        contact = contacts.get(external_userid)
        if contact is None:
            failed.append(external_userid)
        elif sender:
            recipients.append(Recipient(sender, external_userid=external_userid))
        else:
            last = max(contact.follows.values(), key=lambda f: f.createtime)
            recipients.append(Recipient(last.userid, external_userid=external_userid))
    return recipients, failed


def task_of(world: World, corp_id: str, msgid: Any) -> GroupMsg:
    if not msgid:
        raise ApiError(GROUPMSG_ID_MISSING)
    task = world.group_msgs.get(msgid) if isinstance(msgid, str) else None
    if task is None or task.corp_id != corp_id:
        raise ApiError(GROUPMSG_ID_INVALID)
    return task


def remind(world: World, corp_id: str, msgid: Any, now: float) -> None:
    task = task_of(world, corp_id, msgid)
    if task.cancelled:
        raise ApiError(GROUPMSG_ID_INVALID, "the task was cancelled")
    task.reminders = [t for t in task.reminders if now - t < REMIND_WINDOW]
    if len(task.reminders) >= REMINDS_PER_DAY:
        raise ApiError(API_FREQ_OUT_OF_LIMIT, "a task may be reminded 3 times in 24 hours")
    task.reminders.append(now)


def cancel(world: World, corp_id: str, msgid: Any) -> None:
    task_of(world, corp_id, msgid).cancelled = True


def confirm(world: World, msgid: str, sender: str, now: float) -> list[Recipient]:
    """The sender sends the task in their WeCom client: their recipients' statuses become final."""
    task = world.group_msgs.get(msgid)
    if task is None or sender not in task.senders:
        raise LookupError(f"no task {msgid!r} for sender {sender!r}")
    if task.cancelled:
        raise Refused(f"task {msgid} was cancelled")
    if task.senders[sender]:
        raise Refused(f"{sender} already sent task {msgid}")
    today = china_day(now)
    mine = [r for r in task.recipients if r.userid == sender]
    for recipient in mine:
        if recipient.external_userid and not _follows(world, task.corp_id, recipient.external_userid, sender):
            recipient.status = NOT_FRIEND
        elif _received_on(world, task.corp_id, recipient, today):
            recipient.status = ALREADY_RECEIVED
        else:
            recipient.status, recipient.send_time = SENT, int(now)
    task.senders[sender] = int(now)
    return mine


def _follows(world: World, corp_id: str, external_userid: str, userid: str) -> bool:
    contact = world.contacts.get((corp_id, external_userid))
    return contact is not None and userid in contact.follows


def _received_on(world: World, corp_id: str, recipient: Recipient, day: int) -> bool:
    """Whether that customer or group already received a 企业群发 of the corp that day."""
    for task in world.group_msgs.values():
        if task.corp_id != corp_id:
            continue
        for other in task.recipients:
            same = (other.chat_id, other.external_userid) == (recipient.chat_id, recipient.external_userid)
            if same and other.status == SENT and china_day(other.send_time) == day:
                return True
    return False


def page(items: list[Any], body: dict[str, Any], default: int, most: int) -> tuple[list[Any], str]:
    """One page and the next cursor ("" at the end); a limit past the maximum takes the default."""
    limit = body.get("limit")
    if not isinstance(limit, int) or not 1 <= limit <= most:
        limit = default
    cursor = body.get("cursor") or "0"
    start = int(cursor) if isinstance(cursor, str) and cursor.isdigit() else 0
    more = start + limit < len(items)
    return items[start : start + limit], str(start + limit) if more else ""


def list_v2(world: World, corp_id: str, body: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    chat_type = body.get("chat_type") or SINGLE
    start, end = body.get("start_time"), body.get("end_time")
    if chat_type not in (SINGLE, GROUP):
        raise parameter_error("chat_type is single or group")
    if not isinstance(start, int) or not isinstance(end, int) or end < start:
        raise parameter_error("start_time and end_time are needed, start before end")
    if end - start > 31 * 86400:
        raise parameter_error("start_time and end_time are at most a month apart")
    filter_type = body.get("filter_type", 2)
    creator = body.get("creator")
    found = []
    for task in world.group_msgs.values():
        if task.corp_id != corp_id or task.chat_type != chat_type or not start <= task.create_time <= end:
            continue
        if filter_type == 1 or creator:  # API-made tasks are the corp's (create_type 0) and have no creator
            continue
        shown: dict[str, Any] = {"msgid": task.msgid, "create_time": str(task.create_time), "create_type": 0}
        if task.text:
            shown["text"] = task.text
        shown["attachments"] = task.attachments
        found.append(shown)
    return page(found, body, 50, 100)
