"""In-memory fakes of the WeCom repositories, with the real ones' conditions: one refresh lease at
a time, a callback fingerprint remembered once, an event claimed once (again only after its lease
ran out or it was released), a follow or member recorded once while active."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta

from siyu.wecom.records import Chat, Connection, Credentials, Follow, GroupFact, Member, ReferralState, WayState


class FakeWecomTable:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.connection_record: Connection | None = None
        self.token: tuple[str, datetime] | None = None
        self.lease: tuple[str, datetime] | None = None
        self.seen: set[str] = set()
        self.events: dict[str, tuple[str, datetime | None]] = {}
        self.states: dict[str, WayState] = {}
        self.referral_states: dict[str, ReferralState] = {}

    def connection(self) -> Connection | None:
        return self.connection_record

    def save_connection(self, connection: Connection) -> None:
        self.connection_record = connection
        self.token = None

    def drop_connection(self) -> None:
        self.connection_record = None
        self.token = None

    def cached_token(self) -> tuple[str, datetime] | None:
        return self.token

    def claim_refresh(self, owner: str, now: datetime, lease: timedelta, needed_until: datetime) -> bool:
        with self._lock:
            if self.lease is not None and self.lease[1] >= now:
                return False
            if self.token is not None and self.token[1] >= needed_until:
                return False
            self.lease = (owner, now + lease)
            return True

    def release_refresh(self, owner: str) -> None:
        with self._lock:
            if self.lease is not None and self.lease[0] == owner:
                self.lease = None

    def store_token(self, token: str, expires_at: datetime, owner: str) -> None:
        with self._lock:
            self.token = (token, expires_at)
            self.lease = None

    def drop_token(self, token: str) -> None:
        with self._lock:
            if self.token and self.token[0] == token and self.lease is None:
                self.token = None

    def remember_callback(self, fingerprint: str, now: datetime) -> bool:
        with self._lock:
            if fingerprint in self.seen:
                return False
            self.seen.add(fingerprint)
            return True

    def forget_callback(self, fingerprint: str) -> None:
        self.seen.discard(fingerprint)

    def claim_event(self, key: str, now: datetime, lease: timedelta) -> bool:
        with self._lock:
            status = self.events.get(key)
            if status is not None and (status[0] == "done" or (status[1] is not None and status[1] >= now)):
                return False
            self.events[key] = ("processing", now + lease)
            return True

    def finish_event(self, key: str, summary: str) -> None:
        self.events[key] = ("done", None)

    def release_event(self, key: str) -> None:
        self.events.pop(key, None)

    def remember_state(self, way: WayState) -> None:
        self.states[way.state] = way

    def state(self, state: str) -> WayState | None:
        return self.states.get(state)

    def remember_referral_state(self, referral: ReferralState) -> None:
        self.referral_states[referral.state] = referral

    def referral_state(self, state: str) -> ReferralState | None:
        return self.referral_states.get(state)


class FakeSecrets:
    def __init__(self) -> None:
        self.value: Credentials | None = None

    def get(self, fresh: bool = False) -> Credentials | None:
        return self.value

    def put(self, credentials: Credentials) -> None:
        self.value = credentials

    def clear(self) -> None:
        self.value = None


class FakeContacts:
    def __init__(self) -> None:
        self.follows: dict[tuple[str, str], Follow] = {}
        self.member_records: dict[tuple[str, str], Member] = {}
        self.chats: dict[str, Chat] = {}
        self.group_links: dict[tuple[str, str], GroupFact] = {}  # (chat id, code id) -> the group
        self.group_reads: list[str] = []  # code ids whose groups were read

    def add_follow(self, external_user_id: str, follow: Follow) -> bool:
        old = self.follows.get((external_user_id, follow.user_id))
        if old is not None and old.deleted_at is None and old.added_at != follow.added_at:
            return False
        self.follows[(external_user_id, follow.user_id)] = follow
        return True

    def remove_follow(self, external_user_id: str, user_id: str, at: datetime, by: str) -> Follow | None:
        old = self.follows.get((external_user_id, user_id))
        if old is None or (old.deleted_at is not None and old.deleted_at != at):
            return None
        self.follows[(external_user_id, user_id)] = replace(old, deleted_at=at, deleted_by=by)
        return old

    def add_member(self, member: Member) -> bool:
        old = self.member_records.get((member.chat_id, member.external_user_id))
        if old is not None and old.left_at is None:
            return False
        self.member_records[(member.chat_id, member.external_user_id)] = member
        return True

    def remove_member(self, chat_id: str, external_user_id: str, at: datetime, quit_scene: int | None) -> Member | None:
        old = self.member_records.get((chat_id, external_user_id))
        if old is None or old.left_at is not None:
            return None
        self.member_records[(chat_id, external_user_id)] = replace(old, left_at=at, quit_scene=quit_scene)
        return old

    def members(self, chat_id: str, include_gone: bool = False) -> list[Member]:
        found = [m for (c, _), m in self.member_records.items() if c == chat_id]
        return found if include_gone else [m for m in found if m.left_at is None]

    def save_chat(self, chat: Chat) -> None:
        self.chats[chat.chat_id] = chat

    def watch_chat(self, chat_id: str) -> None:
        self.chats.setdefault(chat_id, Chat(chat_id, "", "", 0, datetime(1970, 1, 1)))

    def watched_chats(self) -> list[str]:
        return sorted(c.chat_id for c in self.chats.values() if not c.dismissed)

    def link_group(self, code_id: str, group: GroupFact) -> bool:
        if (group.chat_id, code_id) in self.group_links:
            return False
        self.group_links[(group.chat_id, code_id)] = group
        return True

    def resize_group(
        self, chat_id: str, name: str, member_count: int, dismissed: bool = False
    ) -> list[tuple[str, int]]:
        before = []
        for (chat, code_id), group in self.group_links.items():
            if chat == chat_id:
                before.append((code_id, group.member_count))
                named = name or group.name
                self.group_links[(chat, code_id)] = replace(
                    group, name=named, member_count=member_count, dismissed=dismissed
                )
        return before

    def groups_of_code(self, code_id: str) -> list[GroupFact]:
        self.group_reads.append(code_id)
        return sorted((g for (_, c), g in self.group_links.items() if c == code_id), key=lambda g: g.chat_id)


class FakeEventQueue:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[bytes] = []
        self.fail = fail

    def send(self, plaintext: bytes) -> None:
        if self.fail:
            raise ConnectionError("SQS is down")
        self.sent.append(plaintext)


class FakeStats:
    def __init__(self) -> None:
        self.added: list[tuple[str, str, dict[str, int]]] = []

    def add(self, code_id: str, day: str, increments: dict[str, int], shard: int | None = None) -> None:
        self.added.append((code_id, day, dict(increments)))

    def total(self, name: str) -> int:
        return sum(inc.get(name, 0) for _, _, inc in self.added)
