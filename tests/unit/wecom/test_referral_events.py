"""Adds and deletes through a campaign participant's contact way: the campaign worker is told, with
whether the customer is new to the brand (WeCom's follow list and siyu's own records, before this
add is recorded; a retry of the same add is not an earlier follow)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from siyu.wecom.events import ContactChange
from siyu.wecom.events_worker import EventsWorker
from siyu.wecom.records import Follow, ReferralState
from siyu.wecom.referral_events import ReferralEvents
from tests.fakes.wecom import FakeContacts, FakeStats, FakeWecomTable

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
STATE = "sc0123456789abcdef"


class Follows(FakeContacts):
    def follows_of(self, external_user_id: str) -> list[Follow]:
        return [f for (ext, _), f in self.follows.items() if ext == external_user_id]


@dataclass
class Book:
    """The ContactsTable's follow methods over FakeContacts (whose `follows` is its dict)."""

    fake: Follows

    def add_follow(self, external_user_id: str, follow: Follow) -> bool:
        return self.fake.add_follow(external_user_id, follow)

    def follows(self, external_user_id: str) -> list[Follow]:
        return self.fake.follows_of(external_user_id)


@dataclass
class Sink:
    adds: list[tuple] = field(default_factory=list)
    deletes: list[tuple] = field(default_factory=list)

    def hand_over_add(self, *args) -> None:
        self.adds.append(args)

    def hand_over_delete(self, *args) -> None:
        self.deletes.append(args)


@dataclass
class Api:
    follow_user: list[dict] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)

    def get(self, path: str, query: dict) -> dict:
        self.asked.append(path)
        return {"external_contact": {"external_userid": query["external_userid"]}, "follow_user": self.follow_user}


def setup():
    table, contacts, sink, api = FakeWecomTable(), Follows(), Sink(), Api()
    table.remember_referral_state(ReferralState(STATE, "camp01", "part0001"))
    referrals = ReferralEvents(table, Book(contacts), sink, lambda: api)  # type: ignore[arg-type,return-value]
    return referrals, contacts, sink, api, table


def change(kind: str = "add_external_contact", ext: str = "wmNew", user: str = "zhangsan", at: datetime = NOW):
    return ContactChange(kind, user, ext, STATE if kind.startswith("add") else None, None, None, int(at.timestamp()))


def test_a_new_customer_is_handed_over_as_new_and_their_follow_recorded():
    referrals, contacts, sink, api, _ = setup()
    api.follow_user = [{"userid": "zhangsan", "createtime": int(NOW.timestamp())}]  # this very add
    referrals.added(change())
    assert sink.adds == [("camp01", "part0001", "wmNew", "zhangsan", NOW, True)]
    assert contacts.follows[("wmNew", "zhangsan")].state == STATE


def test_an_earlier_follow_of_another_guide_in_wecom_means_not_new():
    referrals, _, sink, api, _ = setup()
    api.follow_user = [
        {"userid": "lisi", "createtime": int((NOW - timedelta(days=30)).timestamp())},
        {"userid": "zhangsan", "createtime": int(NOW.timestamp())},
    ]
    referrals.added(change())
    assert sink.adds[0][-1] is False


def test_a_follow_siyu_recorded_before_means_not_new_but_a_retry_of_this_add_does_not():
    referrals, contacts, sink, _, _ = setup()
    contacts.add_follow("wmRetry", Follow("zhangsan", NOW, STATE))  # recorded by a try that failed later
    referrals.added(change(ext="wmRetry"))
    contacts.add_follow("wmOld", replace(Follow("wangwu", NOW - timedelta(days=2)), deleted_at=NOW - timedelta(days=1)))
    referrals.added(change(ext="wmOld"))
    assert [a[-1] for a in sink.adds] == [True, False]


def test_a_delete_of_a_referral_follow_tells_the_campaign_through_the_worker():
    referrals, contacts, sink, _, table = setup()
    worker = EventsWorker(table, contacts, None, FakeStats(), lambda: None, referrals=referrals)  # type: ignore[arg-type]
    xml = (
        "<xml><ToUserName>ww1</ToUserName><FromUserName>sys</FromUserName><CreateTime>{at}</CreateTime>"
        "<MsgType>event</MsgType><Event>change_external_contact</Event><ChangeType>{kind}</ChangeType>"
        "<UserID>zhangsan</UserID><ExternalUserID>wmNew</ExternalUserID>{state}</xml>"
    )
    at = int(NOW.timestamp())
    added = xml.format(at=at, kind="add_external_contact", state=f"<State>{STATE}</State>")
    referrals.client = lambda: Api()  # type: ignore[assignment,return-value]
    assert "poster of camp01" in worker.handle(added.encode())
    deleted = xml.format(at=at + 60, kind="del_follow_user", state="")
    assert "told campaign camp01" in worker.handle(deleted.encode())
    assert sink.deletes == [("camp01", "part0001", "wmNew", "zhangsan", NOW + timedelta(seconds=60))]
