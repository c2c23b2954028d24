"""Each WeCom callback event processed once: contacts, members, welcome messages, tags, the funnel.

An event is claimed by its key (the plaintext's hash) before anything happens, and marked done
after: WeCom's retries and SQS redeliveries of the same event change nothing. Within an event,
each fact is recorded by a conditional write (a follow, a member), and the funnel counts only
what that write newly recorded, so a reconcile that finds the same member again counts nothing.

- ``add_external_contact`` with a siyu ``State``: the follow (which code, channel and target),
  ``added`` on that day, the welcome message (within WeCom's 20 s, skipped quietly without a
  ``WelcomeCode``), and the code's, channel's and option's tags (corp tags made as needed).
- ``del_follow_user`` / ``del_external_contact``: ``deleted`` on that day.
- through a campaign participant's contact way (state ``sc...``): see ``referral_events.py``.
- ``change_external_chat``: members read with ``groupchat/get`` (join time, scene, state):
  ``joined`` for new ones through a siyu join way; ``left`` for those gone, and
  ``left_within_7d`` on their join day when they stayed less than a week. A group a siyu join
  way sent customers into is linked to the code (with its size, and whether WeCom made it: not
  one of the target's chat ids); when a linked group crosses 180 or 200 members either way, or
  WeCom made a new one, the code is made due for the rotation job, which raises the alerts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from siyu.core.clock import utcnow
from siyu.live_codes.assignment import local_day
from siyu.live_codes.model import LiveCode, Welcome, welcome_for
from siyu.statistics.rules import funnel_dims, funnel_increments, leave_increments
from siyu.wecom.client import WecomApiError, WecomClient
from siyu.wecom.events import ChatChange, ContactChange, MalformedEvent, TagChange, event_key, parse_event
from siyu.wecom.records import (
    GROUP_FILLING_AT,
    JOIN_GROUP_CAP,
    STATE_PREFIX,
    Chat,
    Follow,
    GroupFact,
    Member,
    WayState,
)
from siyu.wecom.referral_events import ReferralEvents, is_referral
from siyu.wecom.welcome import contact_tags, welcome_body

logger = logging.getLogger("siyu.wecom")

EVENT_LEASE = timedelta(minutes=2)
TRANSFERRED = "DELETE_BY_TRANSFER"
EXTERNAL = 2  # groupchat/get member type of an external contact
TAG_GROUP = "siyu"


class EventLedger(Protocol):
    def claim_event(self, key: str, now: datetime, lease: timedelta) -> bool: ...

    def finish_event(self, key: str, summary: str) -> None: ...

    def release_event(self, key: str) -> None: ...

    def state(self, state: str) -> WayState | None: ...


class ContactBook(Protocol):
    def add_follow(self, external_user_id: str, follow: Follow) -> bool: ...

    def remove_follow(self, external_user_id: str, user_id: str, at: datetime, by: str) -> Follow | None: ...

    def add_member(self, member: Member) -> bool: ...

    def remove_member(
        self, chat_id: str, external_user_id: str, at: datetime, quit_scene: int | None
    ) -> Member | None: ...

    def members(self, chat_id: str, include_gone: bool = False) -> list[Member]: ...

    def save_chat(self, chat: Chat) -> None: ...

    def watched_chats(self) -> list[str]: ...

    def link_group(self, code_id: str, group: GroupFact) -> bool: ...

    def resize_group(
        self, chat_id: str, name: str, member_count: int, dismissed: bool = False
    ) -> list[tuple[str, int]]: ...


class RotationWake(Protocol):
    """Make a code due for the rotation job now (``CodesTable.mark_due``)."""

    def mark_due(self, code_id: str, now: datetime) -> None: ...


class CodeReader(Protocol):
    def load(self, code_id: str, consistent: bool = False) -> tuple[LiveCode | None, Any]: ...


class FunnelCounters(Protocol):
    def add(self, code_id: str, day: str, increments: Any, shard: int | None = None) -> None: ...


@dataclass
class EventsWorker:
    ledger: EventLedger
    contacts: ContactBook
    codes: CodeReader
    stats: FunnelCounters
    client: Callable[[], WecomClient]
    clock: Callable[[], datetime] = utcnow
    rotation: RotationWake | None = None  # None: group sizes are kept, the job finds them on its schedule
    referrals: ReferralEvents | None = None  # adds through campaign posters (None: not wired)
    # The welcome link for this contact (url, external_userid, userid -> url): a questionnaire's link
    # gets a signed contact token, so the answers tag the contact (None: links go as written)
    link_for: Callable[[str, str, str], str] | None = None
    _tag_ids: dict[str, str] = field(default_factory=dict)  # corp tag name -> id, read once per container
    _tag_group_id: str | None = None  # the siyu tag group, once it exists
    _media_ids: dict[str, str] = field(default_factory=dict)  # picture URL -> WeCom media id

    def handle(self, plaintext: bytes) -> str:
        """Process one event's plaintext; what was done, in a few words (for the log)."""
        try:
            event = parse_event(plaintext)
        except MalformedEvent as error:
            logger.warning("dropped a malformed WeCom event: %s", error)
            return "malformed"
        key = event_key(plaintext)
        if not self.ledger.claim_event(key, self.clock(), EVENT_LEASE):
            return "duplicate"
        try:
            summary = self._dispatch(event)
        except BaseException:
            self.ledger.release_event(key)
            raise
        self.ledger.finish_event(key, summary)
        return summary

    def _dispatch(self, event: object) -> str:
        if isinstance(event, ContactChange):
            if event.change_type in ("add_external_contact", "add_half_external_contact"):
                return self._added(event)
            if event.change_type in ("del_external_contact", "del_follow_user"):
                return self._deleted(event)
        elif isinstance(event, ChatChange):
            return self._chat_changed(event)
        elif isinstance(event, TagChange):
            self._tag_ids.clear()  # corp tags changed in WeCom: read them again when needed
            self._tag_group_id = None
            return "tags changed"
        return "ignored"

    # -- contacts -------------------------------------------------------------------------

    def _added(self, event: ContactChange) -> str:
        if self.referrals is not None and is_referral(event.state):
            return self.referrals.added(event)
        way = self._way(event.state)
        at = _instant(event.at)
        follow = Follow(
            user_id=event.user_id,
            added_at=at,
            state=event.state,
            code_id=way.code_id if way else None,
            channel_id=way.channel_id if way else None,
            target_id=way.target_id if way else None,
        )
        new = self.contacts.add_follow(event.external_user_id, follow)
        if way is None:
            return "contact added (not through siyu)"
        code = self._code(way.code_id)
        if code is None:
            return "contact added (its code is gone)"
        if new:
            self._count(code, way, "added", at)
        self._welcome(code, way, event)
        self._tag(code, way, event)
        return f"contact added through {way.code_id}" + ("" if new else " (already recorded)")

    def _deleted(self, event: ContactChange) -> str:
        if event.source == TRANSFERRED:  # the customer moved to another guide, not lost: their follow
            return "contact transferred to another guide (not a deletion)"  # of the new guide comes as an add
        by = "customer" if event.change_type == "del_follow_user" else "staff"
        at = _instant(event.at)
        follow = self.contacts.remove_follow(event.external_user_id, event.user_id, at, by)
        if follow is not None and self.referrals is not None and is_referral(follow.state):
            return self.referrals.deleted(event, follow)
        if follow is None or follow.code_id is None:
            return "contact deleted (not counted)"
        code = self._code(follow.code_id)
        if code is not None:
            self._count(code, follow, "deleted", at)
        return f"contact deleted by {by}"

    def _welcome(self, code: LiveCode, way: WayState, event: ContactChange) -> None:
        welcome = welcome_for(code, way.channel_id)
        if welcome is None or not event.welcome_code:
            return  # no welcome set, or WeCom gave no code (someone else's welcome went out)
        try:
            if welcome.link is not None and self.link_for is not None:
                url = self.link_for(welcome.link.url, event.external_user_id, event.user_id)
                welcome = replace(welcome, link=replace(welcome.link, url=url))
            body = welcome_body(welcome, event.welcome_code, self._miniprogram_picture(welcome))
            self.client().post("/cgi-bin/externalcontact/send_welcome_msg", body)
        except Exception as error:  # never fails the add: its count is made, and the code lives 20 s
            logger.warning("the welcome message was not sent (%s)", _why(error))

    def _miniprogram_picture(self, welcome: Welcome) -> str | None:
        """The media id of a mini-program card's picture (uploaded once per container: WeCom keeps
        temporary media 3 days); None when there is no card or the picture cannot be had."""
        if welcome.miniprogram is None:
            return None
        url = welcome.miniprogram.pic_url
        if url not in self._media_ids:
            client = self.client()
            try:
                self._media_ids[url] = client.upload_media("image", "card.jpg", client.fetch_image(url))
            except Exception as error:  # the card is left out; the text and the other attachments go
                logger.warning("the mini-program picture was not uploaded (%s)", _why(error))
                return None
        return self._media_ids[url]

    def _tag(self, code: LiveCode, way: WayState, event: ContactChange) -> None:
        names = contact_tags(code, way.channel_id, way.target_id)
        if not names:
            return
        try:
            ids = self._tag_ids_for(names)
            body = {"userid": event.user_id, "external_userid": event.external_user_id, "add_tag": ids}
            self.client().post("/cgi-bin/externalcontact/mark_tag", body)
        except Exception as error:  # never fails the add (its count is made): logged for the operator
            logger.warning("the contact was not tagged (%s)", _why(error))

    def _tag_ids_for(self, names: list[str]) -> list[str]:
        """The corp tag ids of `names`, making the missing ones in the siyu tag group."""
        if any(name not in self._tag_ids for name in names):
            self._read_tags()
        missing = [name for name in names if name not in self._tag_ids]
        if missing:
            body: dict[str, Any] = {"tag": [{"name": name} for name in missing]}
            body.update({"group_id": self._tag_group_id} if self._tag_group_id else {"group_name": TAG_GROUP})
            answer = self.client().post("/cgi-bin/externalcontact/add_corp_tag", body)
            self._tag_group_id = str(answer.get("tag_group", {}).get("group_id", "")) or None
            for tag in answer.get("tag_group", {}).get("tag", []):
                self._tag_ids[str(tag["name"])] = str(tag["id"])
        return [self._tag_ids[name] for name in names if name in self._tag_ids]

    def _read_tags(self) -> None:
        answer = self.client().post("/cgi-bin/externalcontact/get_corp_tag_list", {})
        for group in answer.get("tag_group", []):
            if group.get("group_name") == TAG_GROUP:
                self._tag_group_id = str(group["group_id"])
            for tag in group.get("tag", []):
                if not tag.get("deleted"):
                    self._tag_ids.setdefault(str(tag["name"]), str(tag["id"]))

    # -- customer groups -------------------------------------------------------------------

    def reconcile(self) -> dict[str, int]:
        """The scheduled pass: every known group read again with ``groupchat/get``, so a callback
        WeCom never delivered is made up for (members recorded once, whoever sees them first)."""
        totals = {"groups": 0, "joined": 0, "left": 0, "unreadable": 0}
        now = self.clock()
        for chat_id in self.contacts.watched_chats():
            group = self._group(chat_id)
            if group is None:
                totals["unreadable"] += 1
                continue
            totals["groups"] += 1
            totals["joined"] += self._record_members(chat_id, group)
            totals["left"] += self._record_leavers(chat_id, group, now, None)
            self._save_group(chat_id, group, now)
        return totals

    def _chat_changed(self, event: ChatChange) -> str:
        at = _instant(event.at)
        if event.change_type == "dismiss":
            left = self.contacts.members(event.chat_id)
            for member in left:
                self._left(member, at, None)
            self.contacts.save_chat(Chat(event.chat_id, "", "", 0, at, dismissed=True))
            self._resized(event.chat_id, "", 0, dismissed=True)
            return f"group dismissed, {len(left)} members gone"
        group = self._group(event.chat_id)
        if group is None:
            return "group not readable"
        joined = self._record_members(event.chat_id, group)
        gone = self._record_leavers(event.chat_id, group, at, event.quit_scene)
        self._save_group(event.chat_id, group, at)
        return f"group {event.change_type}: {joined} joined, {gone} left"

    def _save_group(self, chat_id: str, group: dict[str, Any], at: datetime) -> None:
        members = group.get("member_list", [])
        self.contacts.save_chat(
            Chat(
                chat_id=chat_id,
                name=str(group.get("name", "")),
                owner=str(group.get("owner", "")),
                member_count=len(members) if isinstance(members, list) else 0,
                updated_at=at,
            )
        )
        self._resized(chat_id, str(group.get("name", "")), len(members) if isinstance(members, list) else 0)

    def _resized(self, chat_id: str, name: str, size: int, dismissed: bool = False) -> None:
        """Keep the group's size on the codes it is linked to; wake the job for those it crossed a line for."""
        for code_id, before in self.contacts.resize_group(chat_id, name, size, dismissed):
            if any((before >= line) != (size >= line) for line in (GROUP_FILLING_AT, JOIN_GROUP_CAP)):
                self._wake(code_id)

    def _link(self, code: LiveCode, way: WayState, chat_id: str, group: dict[str, Any]) -> None:
        """Link the group to the code's join way (once); a new group WeCom made, or one already
        filling, wakes the rotation job."""
        target = code.target(way.target_id)
        if target is None or not target.wecom_chat_ids:
            return
        members = group.get("member_list", [])
        fact = GroupFact(
            chat_id=chat_id,
            name=str(group.get("name", "")),
            member_count=len(members) if isinstance(members, list) else 0,
            target_id=target.id,
            auto_created=chat_id not in target.wecom_chat_ids,
            seen_at=self.clock(),
        )
        if self.contacts.link_group(code.id, fact) and (fact.auto_created or fact.member_count >= GROUP_FILLING_AT):
            self._wake(code.id)

    def _wake(self, code_id: str) -> None:
        if self.rotation is None:
            return
        try:
            self.rotation.mark_due(code_id, self.clock())
        except Exception as error:  # best effort: the job looks at every code within hours anyway
            logger.warning("could not mark %s due for the rotation job (%s)", code_id, error)

    def _group(self, chat_id: str) -> dict[str, Any] | None:
        try:
            answer = self.client().post("/cgi-bin/externalcontact/groupchat/get", {"chat_id": chat_id, "need_name": 0})
        except WecomApiError as error:
            logger.warning("could not read group %s (errcode %s)", chat_id, error.errcode)
            return None
        group = answer.get("group_chat")
        return group if isinstance(group, dict) else None

    def _record_members(self, chat_id: str, group: dict[str, Any]) -> int:
        known = {m.external_user_id for m in self.contacts.members(chat_id)}
        linked: set[str] = set()
        joined = 0
        for entry in _externals(group):
            user = str(entry["userid"])
            if user in known:
                continue
            state = str(entry.get("state") or "") or None
            way = self._way(state)
            member = Member(
                chat_id=chat_id,
                external_user_id=user,
                joined_at=_instant(int(entry.get("join_time", 0) or 0)),
                join_scene=int(entry["join_scene"]) if "join_scene" in entry else None,
                state=state,
                code_id=way.code_id if way else None,
                channel_id=way.channel_id if way else None,
                target_id=way.target_id if way else None,
            )
            code = self._code(way.code_id) if way is not None else None
            if code is not None and way is not None and code.id not in linked:
                self._link(code, way, chat_id, group)  # before the member: a retry still links it
                linked.add(code.id)
            if self.contacts.add_member(member) and code is not None and way is not None:
                self._count(code, way, "joined", member.joined_at)
                joined += 1
        return joined

    def _record_leavers(self, chat_id: str, group: dict[str, Any], at: datetime, quit_scene: int | None) -> int:
        present = {str(entry["userid"]) for entry in _externals(group)}
        gone = [m for m in self.contacts.members(chat_id) if m.external_user_id not in present]
        for member in gone:
            self._left(member, at, quit_scene)
        return len(gone)

    def _left(self, member: Member, at: datetime, quit_scene: int | None) -> None:
        removed = self.contacts.remove_member(member.chat_id, member.external_user_id, at, quit_scene)
        if removed is None or removed.code_id is None:
            return
        code = self._code(removed.code_id)
        if code is None:
            return
        for day, increments in leave_increments(code, self._dims(code, removed), at, removed.joined_at).items():
            self.stats.add(code.id, day, increments)

    # -- shared ------------------------------------------------------------------------------

    def _way(self, state: str | None) -> WayState | None:
        if not state or not state.startswith(STATE_PREFIX):
            return None
        return self.ledger.state(state)

    def _code(self, code_id: str) -> LiveCode | None:
        code, _ = self.codes.load(code_id)
        return code

    def _count(self, code: LiveCode, way: WayState | Follow, metric: str, at: datetime) -> None:
        self.stats.add(code.id, local_day(code, at), funnel_increments(metric, self._dims(code, way)))

    @staticmethod
    def _dims(code: LiveCode, origin: WayState | Follow | Member) -> list[str]:
        target = code.target(origin.target_id) if origin.target_id else None
        return list(funnel_dims(origin.channel_id, origin.target_id, target.option_id if target else None))


def _why(error: Exception) -> str:
    """What went wrong, for the log: WeCom's errcode, or the kind of failure (never a URL or token)."""
    return f"errcode {error.errcode}" if isinstance(error, WecomApiError) else type(error).__name__


def _externals(group: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for entry in group.get("member_list", []):
        if isinstance(entry, dict) and int(entry.get("type", 0) or 0) == EXTERNAL and entry.get("userid"):
            yield entry


def _instant(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC) if epoch > 0 else utcnow()
