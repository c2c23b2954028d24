"""WeCom 客户联系 callback events: the decrypted plaintext XML read into records (pure, no I/O).

WeCom pushes contact, group chat and tag changes to the callback URL; `crypto.CallbackCrypto` opens
the envelope, and `parse_event` reads what is inside. Shapes follow WeCom's 客户联系 "事件格式" page
(developer.work.weixin.qq.com/document/path/92130, the self-built app's envelope). A change type this
module does not know comes back as `OtherEvent`, so the worker can log it and drop it.

`read_xml` is the one reader of untrusted callback XML (the envelope too): it refuses oversized
input, any DOCTYPE or ENTITY (no entity expansion, no external fetches), and anything not UTF-8.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

MAX_XML_BYTES = 64 * 1024
_DECLARATIONS = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_UNSIGNED = re.compile(r"[0-9]{1,18}")

CONTACT_CHANGES = frozenset(
    {
        "add_external_contact",
        "edit_external_contact",
        "add_half_external_contact",
        "del_external_contact",
        "del_follow_user",
        "transfer_fail",
    }
)
CHAT_CHANGES = frozenset({"create", "update", "dismiss"})
TAG_CHANGES = frozenset({"create", "update", "delete", "shuffle"})


class MalformedEvent(ValueError):
    """The plaintext is not a callback event this module can read (bad XML, a DOCTYPE, a field missing)."""


@dataclass(frozen=True)
class ContactChange:
    """Event=change_external_contact: a member added, edited or lost a customer, or a transfer failed."""

    change_type: str
    user_id: str
    external_user_id: str
    state: str | None
    welcome_code: str | None
    fail_reason: str | None
    at: int
    source: str | None = None  # del_external_contact: DELETE_BY_TRANSFER when moved to another guide (在职继承)


@dataclass(frozen=True)
class ChatChange:
    """Event=change_external_chat: a customer group was created, changed or dismissed."""

    change_type: str
    chat_id: str
    update_detail: str | None
    join_scene: int | None
    quit_scene: int | None
    member_change_count: int | None
    member_change_list: tuple[str, ...]
    at: int


@dataclass(frozen=True)
class TagChange:
    """Event=change_external_tag: a corp customer tag or tag group was created, changed, deleted or reordered."""

    change_type: str
    tag_id: str
    tag_type: str | None
    strategy_id: str | None
    at: int


@dataclass(frozen=True)
class OtherEvent:
    """Any other message or event; kept so the worker can log it and drop it."""

    msg_type: str
    event: str | None
    change_type: str | None
    at: int


WecomEvent = ContactChange | ChatChange | TagChange | OtherEvent


def read_xml(data: bytes | str, limit: int = MAX_XML_BYTES) -> ET.Element:
    """The root element of untrusted XML; MalformedEvent for anything too large, declared or unreadable."""
    text = _utf8_text(data, limit)
    if _DECLARATIONS.search(text):
        raise MalformedEvent("a DOCTYPE or ENTITY declaration")
    try:
        # Parsing a str makes expat read UTF-8 whatever the XML declaration claims.
        return ET.fromstring(text)
    except (ET.ParseError, ValueError) as error:
        raise MalformedEvent("not well-formed XML") from error


def _utf8_text(data: bytes | str, limit: int) -> str:
    if len(data) > limit:
        raise MalformedEvent("too large")
    try:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        text = raw.decode("utf-8")
    except UnicodeError as error:
        raise MalformedEvent("not UTF-8") from error
    if len(raw) > limit:
        raise MalformedEvent("too large")
    return text


def parse_event(plaintext: bytes) -> WecomEvent:
    """The record of one decrypted callback; MalformedEvent when it cannot be read."""
    root = read_xml(plaintext)
    if root.tag != "xml":
        raise MalformedEvent("the root element is not <xml>")
    msg_type, event = _required(root, "MsgType"), _optional(root, "Event")
    change_type, at = _optional(root, "ChangeType"), _unsigned(_required(root, "CreateTime"))
    if msg_type == "event" and change_type is not None:
        if event == "change_external_contact" and change_type in CONTACT_CHANGES:
            return _contact(root, change_type, at)
        if event == "change_external_chat" and change_type in CHAT_CHANGES:
            return _chat(root, change_type, at)
        if event == "change_external_tag" and change_type in TAG_CHANGES:
            return _tag(root, change_type, at)
    return OtherEvent(msg_type, event, change_type, at)


def event_key(plaintext: bytes) -> str:
    """The idempotency key of a callback: WeCom's retries resend the same plaintext."""
    return hashlib.sha256(plaintext.strip()).hexdigest()


def _contact(root: ET.Element, change_type: str, at: int) -> ContactChange:
    return ContactChange(
        change_type=change_type,
        user_id=_required(root, "UserID"),
        external_user_id=_required(root, "ExternalUserID"),
        state=_optional(root, "State"),
        welcome_code=_optional(root, "WelcomeCode"),
        fail_reason=_optional(root, "FailReason"),
        at=at,
        source=_optional(root, "Source"),
    )


def _chat(root: ET.Element, change_type: str, at: int) -> ChatChange:
    return ChatChange(
        change_type=change_type,
        chat_id=_required(root, "ChatId"),
        update_detail=_optional(root, "UpdateDetail"),
        join_scene=_optional_unsigned(root, "JoinScene"),
        quit_scene=_optional_unsigned(root, "QuitScene"),
        member_change_count=_optional_unsigned(root, "MemChangeCnt"),
        member_change_list=_items(root, "MemChangeList"),
        at=at,
    )


def _tag(root: ET.Element, change_type: str, at: int) -> TagChange:
    # A shuffle's Id is the reordered tag group, and empty when every group was reordered.
    tag_id = (_optional(root, "Id") or "") if change_type == "shuffle" else _required(root, "Id")
    return TagChange(change_type, tag_id, _optional(root, "TagType"), _optional(root, "StrategyId"), at)


def _optional(root: ET.Element, name: str) -> str | None:
    element = root.find(name)
    if element is None or len(element):
        return None
    text = (element.text or "").strip()
    return text or None


def _required(root: ET.Element, name: str) -> str:
    value = _optional(root, name)
    if value is None:
        raise MalformedEvent(f"{name} is missing")
    return value


def _unsigned(text: str) -> int:
    if not _UNSIGNED.fullmatch(text):
        raise MalformedEvent(f"not a whole number: {text[:20]!r}")
    return int(text)


def _optional_unsigned(root: ET.Element, name: str) -> int | None:
    value = _optional(root, name)
    return None if value is None else _unsigned(value)


def _items(root: ET.Element, name: str) -> tuple[str, ...]:
    element = root.find(name)
    if element is None:
        return ()
    return tuple(text for item in element.findall("Item") if (text := (item.text or "").strip()))
