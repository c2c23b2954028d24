"""What customers do in the emulated WeCom: scan a 「联系我」 or 加入群聊 QR, leave a group, delete a
follow. Each action changes the World and returns the callbacks WeCom would send, per its 事件格式
page (developer.work.weixin.qq.com/document/path/92130): change_external_contact
(add_external_contact, del_external_contact, del_follow_user) and change_external_chat
(create, update with add_member / del_member).
"""

from __future__ import annotations

from dataclasses import dataclass

from local_stack.wecom.model import (
    CHAT_CAPACITY,
    Chat,
    Contact,
    ContactWay,
    Event,
    Follow,
    JoinWay,
    Member,
    World,
    new_id,
)

JOIN_BY_QR = 3  # join_scene / JoinScene: scanned the group's QR
QUIT_BY_SELF = 0  # QuitScene: the member left by themself


class NotFound(Exception):
    """The customer's action names nothing the emulator knows (a control route answers 404)."""


class Conflict(Exception):
    """The action cannot happen (e.g. every group of a join way is full and none may be created)."""


@dataclass
class Outcome:
    kind: str  # "contact" or "join"
    target: str  # the user id added, or the chat id joined
    events: list[Event]


def _base(corp_id: str, now: float, event: str, change: str) -> list[tuple[str, object]]:
    return [
        ("ToUserName", corp_id),
        ("FromUserName", "sys"),
        ("CreateTime", int(now)),
        ("MsgType", "event"),
        ("Event", event),
        ("ChangeType", change),
    ]


def scan(world: World, url: str, external_userid: str, name: str, now: float) -> Outcome:
    for way in world.contact_ways.values():
        if way.qr_content == url:
            return _add_contact(world, way, external_userid, name, now)
    for join in world.join_ways.values():
        if join.qr_content == url:
            return _join_chat(world, join, external_userid, name, now)
    raise NotFound(f"no contact way or join way has the QR {url!r}")


def _add_contact(world: World, way: ContactWay, external_userid: str, name: str, now: float) -> Outcome:
    userid = way.user[way.next_user % len(way.user)]
    way.next_user += 1
    key = (way.corp_id, external_userid)
    contact = world.contacts.setdefault(key, Contact(way.corp_id, external_userid, name))
    if userid in contact.follows:
        return Outcome("contact", userid, [])
    contact.follows[userid] = Follow(userid, int(now), way.state, add_way=1)
    fields = _base(way.corp_id, now, "change_external_contact", "add_external_contact")
    fields += [("UserID", userid), ("ExternalUserID", external_userid)]
    if way.state:
        fields.append(("State", way.state))
    fields.append(("WelcomeCode", world.new_welcome_code(way.corp_id, now)))
    return Outcome("contact", userid, [Event(way.corp_id, fields)])


def _join_chat(world: World, way: JoinWay, external_userid: str, name: str, now: float) -> Outcome:
    events: list[Event] = []
    chat = _open_chat(world, way, now)
    if chat is None:
        if not way.auto_create_room:
            raise Conflict("every group of this join way is full and auto_create_room is 0")
        chat = _create_chat(world, way, now)
        fields = _base(way.corp_id, now, "change_external_chat", "create")
        fields.insert(5, ("ChatId", chat.chat_id))
        events.append(Event(way.corp_id, fields))
    if external_userid in chat.members:
        return Outcome("join", chat.chat_id, events)
    member = Member(external_userid, 2, int(now), JOIN_BY_QR, invitor=chat.owner, name=name, state=way.state)
    events.append(_member_change(chat, "add_member", [member], now, add=True))
    return Outcome("join", chat.chat_id, events)


def _open_chat(world: World, way: JoinWay, now: float) -> Chat | None:
    for chat_id in way.chat_id_list:
        chat = world.chat(way.corp_id, chat_id, now)
        if len(chat.members) < CHAT_CAPACITY:
            return chat
    return None


def _create_chat(world: World, way: JoinWay, now: float) -> Chat:
    first = world.chat(way.corp_id, way.chat_id_list[0], now)
    chat_id = new_id("wr", 30)
    chat = world.chat(way.corp_id, chat_id, now)
    chat.name, chat.owner = f"{way.room_base_name}{way.room_base_id}", first.owner
    chat.members = {first.owner: Member(first.owner, 1, int(now), 1, name=first.owner)}
    way.room_base_id += 1
    way.chat_id_list.append(chat_id)
    return chat


def _member_change(chat: Chat, detail: str, members: list[Member], now: float, add: bool) -> Event:
    last = chat.member_version
    for member in members:
        if add:
            chat.members[member.userid] = member
        else:
            chat.members.pop(member.userid, None)
    chat.version += 1
    fields = _base(chat.corp_id, now, "change_external_chat", "update")
    fields.insert(5, ("ChatId", chat.chat_id))
    fields += [("UpdateDetail", detail)]
    fields += [("JoinScene", JOIN_BY_QR)] if add else [("QuitScene", QUIT_BY_SELF)]
    fields += [
        ("MemChangeCnt", len(members)),
        ("MemChangeList", [m.userid for m in members]),
        ("LastMemVer", last),
        ("CurMemVer", chat.member_version),
    ]
    return Event(chat.corp_id, fields)


def leave(world: World, chat_id: str, external_userid: str, now: float) -> Event:
    for chat in world.chats_with(chat_id):
        member = chat.members.get(external_userid)
        if member is not None:
            return _member_change(chat, "del_member", [member], now, add=False)
    raise NotFound(f"{external_userid} is not a member of {chat_id}")


def delete(world: World, external_userid: str, userid: str, by: str, now: float) -> Event:
    """The customer deletes the guide (del_follow_user) or the guide the customer (del_external_contact)."""
    if by not in ("customer", "staff"):
        raise NotFound(f"by is 'customer' or 'staff', not {by!r}")
    for (corp_id, known), contact in world.contacts.items():
        if known == external_userid and userid in contact.follows:
            del contact.follows[userid]
            change = "del_follow_user" if by == "customer" else "del_external_contact"
            fields = _base(corp_id, now, "change_external_contact", change)
            return Event(corp_id, [*fields, ("UserID", userid), ("ExternalUserID", external_userid)])
    raise NotFound(f"{userid} does not follow {external_userid}")
