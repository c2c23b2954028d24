"""The daily layering job reads WeCom's group activity once per owner and day for the flash groups
that are running (yesterday and today), keeps going when one owner fails, and re-checks segments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from siyu.layering.job import LayeringJob
from siyu.layering.model import FlashGroup, OwnerActivity
from siyu.layering.segments import Segments
from siyu.wecom.records import Chat
from tests.fakes.layering import FakeProfiles

NOW = datetime(2026, 12, 5, 2, tzinfo=UTC)  # 10:00 on the 5th in China


def flash(flash_id: str, chats: tuple[str, ...], first: str, last: str) -> FlashGroup:
    return FlashGroup(flash_id, flash_id, chats, first, last, NOW)


@dataclass
class Store:
    flashes: list[FlashGroup]
    saved: list[OwnerActivity] = field(default_factory=list)

    def page(self, limit: int, cursor: str | None) -> tuple[list[FlashGroup], str | None]:
        return self.flashes, None

    def save_activity(self, activity: OwnerActivity) -> None:
        self.saved.append(activity)


@dataclass
class Groups:
    owners: dict[str, str]

    def chat(self, chat_id: str) -> Chat | None:
        owner = self.owners.get(chat_id)
        return Chat(chat_id, chat_id, owner, 10, NOW) if owner else None

    def members(self, chat_id: str, include_gone: bool = False) -> list:
        return []


@dataclass
class WeCom:
    failing: set[str] = field(default_factory=set)
    asked: list[tuple[str, str]] = field(default_factory=list)

    def of_owner(self, owner: str, day: str) -> OwnerActivity:
        self.asked.append((owner, day))
        if owner in self.failing:
            raise RuntimeError("WeCom said no")
        return OwnerActivity(owner, day, 1, 10, 3, 9, NOW)


def test_running_flash_groups_owners_are_read_for_yesterday_and_today():
    store = Store(
        [
            flash("f1", ("wrA", "wrB"), "2026-12-01", "2026-12-20"),
            flash("f2", ("wrC",), "2026-12-05", "2026-12-06"),  # starts today: today only
            flash("old", ("wrD",), "2026-11-01", "2026-11-30"),  # over
            flash("f3", ("wrE",), "2026-12-01", "2026-12-20"),  # a group siyu has not read yet
        ]
    )
    wecom = WeCom(failing={"carol"})
    groups = Groups({"wrA": "amy", "wrB": "amy", "wrC": "carol", "wrD": "dan"})
    job = LayeringJob(store, groups, lambda: wecom, Segments(FakeProfiles()), clock=lambda: NOW)
    report = job.run()
    assert sorted(wecom.asked) == [("amy", "2026-12-04"), ("amy", "2026-12-05"), ("carol", "2026-12-05")]
    assert report == {"owners": 2, "read": 2, "failed": 1, "segments": 0}
    assert {(a.owner, a.day) for a in store.saved} == {("amy", "2026-12-04"), ("amy", "2026-12-05")}


def test_without_wecom_nothing_is_read():
    store = Store([flash("f1", ("wrA",), "2026-12-01", "2026-12-20")])
    job = LayeringJob(store, Groups({"wrA": "amy"}), lambda: None, Segments(FakeProfiles()), clock=lambda: NOW)
    assert job.run()["read"] == 0 and store.saved == []
