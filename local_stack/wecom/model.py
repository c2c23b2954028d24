"""The emulated WeCom's state: tokens, 「联系我」 contact ways, 加入群聊 join ways, customer groups,
external contacts and their follow users, corp tags and welcome codes.

Shapes follow WeCom's externalcontact pages: 配置客户联系「联系我」方式 (92228), 客户群「加入群聊」管理
(92229), 获取客户群详情 (92122), 获取客户详情 (92114), 管理企业标签 (92117), 发送新客户欢迎语 (92137).
Nothing here locks or does I/O: the server holds its lock around every call, and the events a
change produces (Event) are sent by the caller once the lock is released.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from local_stack.wecom.errors import (
    ACCESS_TOKEN_EXPIRED,
    CONFIG_ID_INVALID,
    CONFIG_ID_MISSING,
    CONTACT_WAY_SCENE_INVALID,
    CONTACT_WAY_TYPE_INVALID,
    INVALID_ACCESS_TOKEN,
    INVALID_PARAMETER,
    INVALID_TAG_ID,
    NOT_EXTERNAL_CONTACT,
    TAG_NAME_EXISTS,
    WELCOME_ALREADY_SENT,
    WELCOME_CODE_INVALID,
    WELCOME_CODE_MISSING,
    ApiError,
)

TOKEN_SECONDS = 7200
WELCOME_CODE_SECONDS = 20
CHAT_CAPACITY = 200
STATE_MAX = 30
TAG_NAME_MAX = 30
CONTACT_WAY_QR = "https://work.weixin.qq.com/ca/cawcde"
JOIN_WAY_QR = "https://work.weixin.qq.com/gm/"


@dataclass
class Event:
    """One callback to send: its corp and its XML fields in order (str -> CDATA, int, list -> <Item>s)."""

    corp_id: str
    fields: list[tuple[str, Any]]

    @property
    def name(self) -> str:
        values = dict(self.fields)
        return f"{values.get('Event')}/{values.get('ChangeType')}"


@dataclass
class Token:
    corp_id: str
    expires_at: float


@dataclass
class ContactWay:
    corp_id: str
    config_id: str
    type: int
    scene: int
    user: list[str]
    party: list[int] = field(default_factory=list)
    style: int = 1
    remark: str = ""
    skip_verify: bool = True
    state: str = ""
    qr_content: str = ""
    next_user: int = 0


@dataclass
class JoinWay:
    corp_id: str
    config_id: str
    scene: int
    chat_id_list: list[str]
    remark: str = ""
    auto_create_room: int = 1
    room_base_name: str = ""
    room_base_id: int = 1
    state: str = ""
    qr_content: str = ""


@dataclass
class Member:
    userid: str
    type: int  # 1 member of the corp, 2 external contact
    join_time: int
    join_scene: int  # 1 invited directly, 2 by link, 3 by the group's QR
    invitor: str = ""
    name: str = ""
    state: str = ""


@dataclass
class Chat:
    corp_id: str
    chat_id: str
    name: str
    owner: str
    create_time: int
    members: dict[str, Member]
    notice: str = ""
    version: int = 1

    @property
    def member_version(self) -> str:
        return hashlib.md5(f"{self.chat_id}:{self.version}".encode()).hexdigest()


@dataclass
class Follow:
    userid: str
    createtime: int
    state: str
    add_way: int
    remark: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)


@dataclass
class Contact:
    corp_id: str
    external_userid: str
    name: str
    follows: dict[str, Follow] = field(default_factory=dict)


@dataclass
class Tag:
    id: str
    name: str
    create_time: int
    order: int = 0


@dataclass
class TagGroup:
    group_id: str
    group_name: str
    create_time: int
    order: int = 0
    tags: dict[str, Tag] = field(default_factory=dict)


@dataclass
class WelcomeCode:
    corp_id: str
    created_at: float
    used: bool = False


def new_id(prefix: str, hex_chars: int = 24) -> str:
    return prefix + secrets.token_hex(hex_chars // 2)


def parameter_error(detail: str) -> ApiError:
    return ApiError(INVALID_PARAMETER, detail)


class World:
    """Every corp's state. Methods raise ApiError for WeCom's errors; `now` is given by the caller."""

    def __init__(self) -> None:
        self.tokens: dict[str, Token] = {}
        self.contact_ways: dict[str, ContactWay] = {}
        self.join_ways: dict[str, JoinWay] = {}
        self.chats: dict[tuple[str, str], Chat] = {}
        self.contacts: dict[tuple[str, str], Contact] = {}
        self.tag_groups: dict[str, dict[str, TagGroup]] = {}  # corp id -> group id -> group
        self.welcome_codes: dict[str, WelcomeCode] = {}
        self.group_msgs: dict[str, Any] = {}  # msgid -> groupmsg.GroupMsg (企业群发 tasks)
        self.app_messages: list[dict[str, Any]] = []  # message/send bodies, as sent
        self.spoken: dict[tuple[str, str, str], dict[str, int]] = {}  # (corp, chat, day) -> member -> messages

    def __setstate__(self, state: dict[str, Any]) -> None:
        """A state file written before a field existed loads with that field empty."""
        self.__init__()  # type: ignore[misc]
        self.__dict__.update(state)

    # tokens

    def issue_token(self, corp_id: str, now: float) -> str:
        token = secrets.token_urlsafe(48)
        self.tokens[token] = Token(corp_id, now + TOKEN_SECONDS)
        return token

    def corp_of(self, token: str, now: float) -> str:
        issued = self.tokens.get(token)
        if issued is None:
            raise ApiError(INVALID_ACCESS_TOKEN)
        if now >= issued.expires_at:
            raise ApiError(ACCESS_TOKEN_EXPIRED)
        return issued.corp_id

    def expire_tokens(self, now: float) -> None:
        for token in self.tokens.values():
            token.expires_at = min(token.expires_at, now)

    # contact ways (联系我)

    def add_contact_way(self, corp_id: str, body: dict[str, Any]) -> ContactWay:
        kind, scene = body.get("type"), body.get("scene")
        if kind not in (1, 2):
            raise ApiError(CONTACT_WAY_TYPE_INVALID, "type must be 1 or 2")
        if scene not in (1, 2):
            raise ApiError(CONTACT_WAY_SCENE_INVALID, "scene must be 1 or 2")
        config_id = new_id("", 32)
        qr = f"{CONTACT_WAY_QR}{secrets.token_hex(8)}" if scene == 2 else ""
        way = ContactWay(corp_id, config_id, kind, scene, [], qr_content=qr)
        self._update_contact_way(way, body)
        if not way.user:
            raise parameter_error("user must list at least one userid")
        self.contact_ways[config_id] = way
        return way

    def _update_contact_way(self, way: ContactWay, body: dict[str, Any]) -> None:
        _check_state(body.get("state"))
        if "user" in body:
            users = body["user"]
            if not isinstance(users, list) or not users or not all(isinstance(u, str) and u for u in users):
                raise parameter_error("user must list at least one userid")
            if way.type == 1 and len(users) > 1:
                raise parameter_error("a single-user contact way (type 1) takes one user")
            way.user = list(users)
        for name in ("party", "style", "remark", "skip_verify", "state"):
            if name in body:
                setattr(way, name, body[name])

    def contact_way(self, corp_id: str, config_id: Any) -> ContactWay:
        if not config_id:
            raise ApiError(CONFIG_ID_MISSING)
        way = self.contact_ways.get(config_id)
        if way is None or way.corp_id != corp_id:
            raise ApiError(CONFIG_ID_INVALID)
        return way

    def update_contact_way(self, corp_id: str, body: dict[str, Any]) -> None:
        way = self.contact_way(corp_id, body.get("config_id"))
        updated = ContactWay(**{**way.__dict__})
        self._update_contact_way(updated, body)
        self.contact_ways[way.config_id] = updated

    def del_contact_way(self, corp_id: str, config_id: Any) -> None:
        del self.contact_ways[self.contact_way(corp_id, config_id).config_id]

    # join ways (加入群聊)

    def add_join_way(self, corp_id: str, body: dict[str, Any]) -> JoinWay:
        if body.get("scene") not in (1, 2):
            raise parameter_error("scene must be 1 or 2")
        config_id = new_id("", 32)
        way = JoinWay(corp_id, config_id, body["scene"], [], qr_content=f"{JOIN_WAY_QR}{secrets.token_hex(16)}")
        self._update_join_way(way, body, creating=True)
        self.join_ways[config_id] = way
        return way

    def _update_join_way(self, way: JoinWay, body: dict[str, Any], creating: bool = False) -> None:
        _check_state(body.get("state"))
        if creating or "chat_id_list" in body:
            chats = body.get("chat_id_list")
            if not isinstance(chats, list) or not 1 <= len(chats) <= 5 or not all(isinstance(c, str) for c in chats):
                raise parameter_error("chat_id_list must list 1 to 5 chat ids")
            way.chat_id_list = list(chats)
        if body.get("auto_create_room", way.auto_create_room) not in (0, 1):
            raise parameter_error("auto_create_room must be 0 or 1")
        for name in ("scene", "remark", "auto_create_room", "room_base_name", "room_base_id", "state"):
            if name in body:
                setattr(way, name, body[name])

    def join_way(self, corp_id: str, config_id: Any) -> JoinWay:
        if not config_id:
            raise parameter_error("config_id missing")
        way = self.join_ways.get(config_id)
        if way is None or way.corp_id != corp_id:
            raise parameter_error("invalid config_id")
        return way

    def update_join_way(self, corp_id: str, body: dict[str, Any]) -> None:
        way = self.join_way(corp_id, body.get("config_id"))
        updated = JoinWay(**{**way.__dict__, "chat_id_list": list(way.chat_id_list)})
        self._update_join_way(updated, body)
        self.join_ways[way.config_id] = updated

    def del_join_way(self, corp_id: str, config_id: Any) -> None:
        del self.join_ways[self.join_way(corp_id, config_id).config_id]

    # customer groups

    def chat(self, corp_id: str, chat_id: str, now: float, owner: str = "owner") -> Chat:
        """The group of that id: an unknown one springs into being, `owner` its owner and one member."""
        key = (corp_id, chat_id)
        if key not in self.chats:
            member = Member(owner, 1, int(now), 1, name=owner)
            self.chats[key] = Chat(corp_id, chat_id, chat_id, owner, int(now), {owner: member})
        return self.chats[key]

    def chats_with(self, chat_id: str) -> list[Chat]:
        return [chat for (_, known), chat in self.chats.items() if known == chat_id]

    # members

    def follow_users(self, corp_id: str) -> list[str]:
        """Members with 客户联系 enabled: the guides of the corp's contact ways, or one demo member."""
        users = {u for way in self.contact_ways.values() if way.corp_id == corp_id for u in way.user}
        return sorted(users) or ["zhangsan"]

    def members(self, corp_id: str) -> set[str]:
        """Every member the emulated corp knows: guides, followers of its customers, owners of its groups."""
        known = set(self.follow_users(corp_id))
        known |= {c.owner for (corp, _), c in self.chats.items() if corp == corp_id}
        known |= {u for (corp, _), c in self.contacts.items() if corp == corp_id for u in c.follows}
        return known

    # external contacts

    def contact(self, corp_id: str, external_userid: str) -> Contact:
        contact = self.contacts.get((corp_id, external_userid))
        if contact is None or not contact.follows:
            raise ApiError(NOT_EXTERNAL_CONTACT)
        return contact

    def follow(self, corp_id: str, external_userid: str, userid: str) -> Follow:
        follow = self.contact(corp_id, external_userid).follows.get(userid)
        if follow is None:
            raise ApiError(NOT_EXTERNAL_CONTACT, f"{userid} does not follow {external_userid}")
        return follow

    # welcome codes

    def new_welcome_code(self, corp_id: str, now: float) -> str:
        code = secrets.token_urlsafe(24)
        self.welcome_codes[code] = WelcomeCode(corp_id, now)
        return code

    def use_welcome_code(self, corp_id: str, code: Any, now: float) -> None:
        if not code:
            raise ApiError(WELCOME_CODE_MISSING)
        known = self.welcome_codes.get(code)
        if known is None or known.corp_id != corp_id:
            raise ApiError(WELCOME_CODE_INVALID)
        if known.used:
            raise ApiError(WELCOME_ALREADY_SENT)
        if now - known.created_at > WELCOME_CODE_SECONDS:
            raise ApiError(WELCOME_CODE_INVALID, "a welcome_code is valid for 20 seconds")
        known.used = True

    # corp tags

    def groups(self, corp_id: str) -> dict[str, TagGroup]:
        return self.tag_groups.setdefault(corp_id, {})

    def tag(self, corp_id: str, tag_id: str) -> tuple[TagGroup, Tag]:
        for group in self.groups(corp_id).values():
            if tag_id in group.tags:
                return group, group.tags[tag_id]
        raise ApiError(INVALID_TAG_ID, tag_id)

    def add_corp_tag(self, corp_id: str, body: dict[str, Any], now: float) -> tuple[TagGroup, list[Tag]]:
        tags = body.get("tag")
        if not isinstance(tags, list) or not tags or not all(isinstance(t, dict) for t in tags):
            raise parameter_error("tag must list at least one {name}")
        group = self._tag_group_for(corp_id, body, now)
        added = [self._new_tag(group, t, now) for t in tags]
        self.groups(corp_id)[group.group_id] = group
        for tag in added:
            group.tags[tag.id] = tag
        return group, added

    def _tag_group_for(self, corp_id: str, body: dict[str, Any], now: float) -> TagGroup:
        groups = self.groups(corp_id)
        if body.get("group_id"):
            if body["group_id"] not in groups:
                raise ApiError(INVALID_TAG_ID, f"no tag group {body['group_id']}")
            return groups[body["group_id"]]
        name = body.get("group_name")
        if not isinstance(name, str) or not name or len(name) > TAG_NAME_MAX:
            raise parameter_error("group_name or group_id is needed (a name of 1 to 30 characters)")
        for group in groups.values():
            if group.group_name == name:
                return group
        return TagGroup(new_id("et", 30), name, int(now), int(body.get("order", 0)))

    def _new_tag(self, group: TagGroup, spec: dict[str, Any], now: float) -> Tag:
        name = spec.get("name")
        if not isinstance(name, str) or not name or len(name) > TAG_NAME_MAX:
            raise parameter_error("a tag name has 1 to 30 characters")
        if any(tag.name == name for tag in group.tags.values()):
            raise ApiError(TAG_NAME_EXISTS, name)
        return Tag(new_id("et", 30), name, int(now), int(spec.get("order", 0)))

    def del_corp_tag(self, corp_id: str, tag_ids: list[str], group_ids: list[str]) -> None:
        groups = self.groups(corp_id)
        for group_id in group_ids:
            if group_id not in groups:
                raise ApiError(INVALID_TAG_ID, group_id)
        owners = [self.tag(corp_id, tag_id)[0] for tag_id in tag_ids]
        for group, tag_id in zip(owners, tag_ids, strict=True):
            group.tags.pop(tag_id, None)
            if not group.tags:  # WeCom: a group whose every tag is deleted is deleted too
                groups.pop(group.group_id, None)
        for group_id in group_ids:
            groups.pop(group_id, None)

    def mark_tag(self, corp_id: str, body: dict[str, Any]) -> None:
        follow = self.follow(corp_id, str(body.get("external_userid", "")), str(body.get("userid", "")))
        add, remove = body.get("add_tag") or [], body.get("remove_tag") or []
        if not add and not remove:
            raise parameter_error("add_tag or remove_tag is needed")
        for tag_id in [*add, *remove]:
            self.tag(corp_id, tag_id)
        follow.tags = [t for t in follow.tags if t not in remove] + [t for t in add if t not in follow.tags]

    def live_tags(self, corp_id: str, tag_ids: list[str]) -> list[tuple[TagGroup, Tag]]:
        found = []
        for tag_id in tag_ids:
            try:
                found.append(self.tag(corp_id, tag_id))
            except ApiError:
                continue  # deleted since it was marked
        return found


def _check_state(state: Any) -> None:
    if state is not None and (not isinstance(state, str) or len(state) > STATE_MAX):
        raise parameter_error("state has at most 30 characters")
