"""Tracked links (``/l/{id}``): the click counted once per visitor (or, without a cookie, per
address hash) and China day, bots left out like on the scan path, then the redirect at once. A
learning link posted in a customer group also counts the visitor's first open for that group's
学习率."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from siyu.core.clock import utcnow
from siyu.core.errors import InvalidInput, NotFound
from siyu.core.ids import new_id
from siyu.layering.model import Click, TrackedLink
from siyu.web.visitors import address_hash

CHINA = ZoneInfo("Asia/Shanghai")


class LinkStore(Protocol):
    def get(self, link_id: str) -> TrackedLink | None: ...

    def record_click(self, click: Click, now: datetime) -> bool: ...

    def record_learning(self, group: str, visitor_id: str, day: str, now: datetime) -> bool: ...


def china_day(instant: datetime) -> str:
    return instant.astimezone(CHINA).date().isoformat()


@dataclass
class LinkClicks:
    links: LinkStore
    hash_key: Callable[[], str]  # the key of address hashes (web.visitors.address_key of the signing key)
    clock: Callable[[], datetime] = utcnow

    def click(self, link_id: str, visitor_id: str | None, address: str, bot: bool) -> str | None:
        """Where to send the visitor (None: no such link); the click counted unless a bot made it."""
        link = self.links.get(link_id) if link_id.isalnum() and len(link_id) <= 32 else None
        if link is None:
            return None
        if bot:
            return link.url
        now = self.clock()
        day = china_day(now)
        who = f"v:{visitor_id}" if visitor_id else f"a:{address_hash(self.hash_key(), address)}"
        self.links.record_click(Click(link.id, day, who, visitor_id), now)
        if link.learning and link.group and visitor_id:
            self.links.record_learning(link.group, visitor_id, day, now)
        return link.url


class LinkRecords(Protocol):
    def create(self, link: TrackedLink) -> None: ...

    def get(self, link_id: str) -> TrackedLink | None: ...

    def page(self, limit: int, cursor: str | None) -> tuple[list[TrackedLink], str | None]: ...

    def days(self, link_id: str, first: str, last: str) -> dict[str, tuple[int, int]]: ...


@dataclass
class LinkAdmin:
    links: LinkRecords
    clock: Callable[[], datetime] = utcnow

    def create(self, url: str, plan_id: str | None, step: str | None, group: str | None, learning: bool) -> TrackedLink:
        if learning and not group:
            raise InvalidInput("group: a learning link names the customer group (chat id) it is posted in")
        link = TrackedLink(new_id(), url, self.clock(), plan_id, step, group, learning)
        self.links.create(link)
        return link

    def get(self, link_id: str) -> TrackedLink:
        link = self.links.get(link_id)
        if link is None:
            raise NotFound(f"no tracked link {link_id[:40]!r}")
        return link

    def daily(self, link_id: str, days: int = 30) -> tuple[TrackedLink, list[tuple[str, int, int]]]:
        """The link and its last `days` China days: (day, clicks, unique clicks), oldest first."""
        link = self.get(link_id)
        today = self.clock().astimezone(CHINA).date()
        first = (today - timedelta(days=days - 1)).isoformat()
        stored = self.links.days(link_id, first, today.isoformat())
        return link, [(d, *stored[d]) for d in sorted(stored)]
