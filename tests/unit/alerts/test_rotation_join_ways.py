"""The rotation job on join-way codes (fakes): a filling group raised once and resolved when people
leave, a group WeCom made reported once and closed silently a day later, and group facts read
only for codes that have a join way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from siyu.alerts.destinations import AlertDestination
from siyu.alerts.rotation import RotationJob
from siyu.alerts.watch_rules import WatchSettings
from siyu.delivery.retry import RetryPolicy
from siyu.live_codes.model import ACTIVE, WECOM_JOIN_KIND, LiveCode, Target
from siyu.wecom.records import GroupFact
from tests.fakes.alerts import FakeAlerts, FakeTopic, FakeWatch
from tests.fakes.wecom import FakeContacts

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def join_way(tid: str = "w1", auto: bool = True) -> Target:
    return Target(
        tid,
        f"https://work.weixin.qq.com/gm/{tid}",
        WECOM_JOIN_KIND,
        "",
        NOW + timedelta(days=3650),
        NOW,
        b"",
        wecom_chat_ids=("wrA",),
        auto_create_room=auto,
    )


def upload(tid: str) -> Target:
    return Target(tid, f"https://weixin.qq.com/g/{tid}", "wechat_group", "k", NOW + timedelta(hours=100), NOW, b"")


def code(*targets: Target, code_id: str = "c1") -> LiveCode:
    return LiveCode(code_id, "会员群", "t", "g", 100, "f", ACTIVE, NOW, NOW, 1, tuple(targets))


class World:
    def __init__(self, with_wecom: bool = True) -> None:
        self.alerts = FakeAlerts()
        self.watch = FakeWatch(self.alerts)
        self.topic = FakeTopic()
        self.contacts = FakeContacts()
        self.with_wecom = with_wecom
        self.alerts.put_destination(AlertDestination("d1", "ops", "email", NOW, email="ops@example.com"))

    def run(self, at: datetime):
        groups = self.contacts if self.with_wecom else None
        settings, retry = WatchSettings((48, 24), 24), RetryPolicy(5, 60)
        return RotationJob(self.watch, self.alerts, self.topic, settings, retry, lambda: at, groups).run()

    def sent(self) -> list[tuple[str, str, str]]:
        return [(m.event, m.condition, m.text) for _, m in self.topic.published]


def test_a_filling_group_is_raised_once_and_resolved_when_people_leave():
    world = World()
    world.watch.add(code(join_way(auto=False)), NOW)
    world.contacts.link_group("c1", GroupFact("wrA", "会员1群", 186, "w1", False, NOW))
    assert world.run(NOW).raised == 1
    world.watch.mark_due("c1", NOW + timedelta(minutes=1))
    assert world.run(NOW + timedelta(minutes=1)).raised == 0  # still filling: said once
    world.contacts.resize_group("wrA", "会员1群", 170)
    world.watch.mark_due("c1", NOW + timedelta(minutes=2))  # what the worker does on the way down
    assert world.run(NOW + timedelta(minutes=2)).resolved == 1
    assert world.sent() == [
        ("raised", "group_filling:wrA", "客户群 会员1群 已有 186/200 人；请为活码添加新的客户群。"),
        ("resolved", "group_filling:wrA", "已恢复：客户群 wrA 人数已低于 180 人。"),
    ]


def test_a_group_wecom_made_is_reported_once_and_closed_silently_after_a_day():
    world = World()
    world.watch.add(code(join_way()), NOW)
    world.contacts.link_group("c1", GroupFact("wrNew", "会员群2", 1, "w1", True, NOW))
    world.run(NOW)
    text = "企业微信已为活码自动新建客户群 会员群2，请确认群主与群公告。"
    assert world.sent() == [("raised", "group_created:wrNew", text)]
    assert "group_created:wrNew" in world.watch.items["c1"].watch.open
    report = world.run(NOW + timedelta(days=1, minutes=1))  # the job looks again while an alert is open
    assert (report.claimed, report.resolved) == (1, 0) and len(world.sent()) == 1
    assert world.watch.items["c1"].watch.open == {}


def test_group_facts_are_read_only_for_codes_with_a_join_way():
    world = World()
    world.watch.add(code(upload("u1"), code_id="c1"), NOW)
    world.watch.add(code(join_way(), code_id="c2"), NOW)
    world.run(NOW)
    assert world.contacts.group_reads == ["c2"]


def test_without_wecom_the_job_watches_join_way_codes_as_before():
    world = World(with_wecom=False)
    world.watch.add(code(join_way()), NOW)
    world.contacts.link_group("c1", GroupFact("wrA", "", 199, "w1", False, NOW))
    report = world.run(NOW)
    assert (report.claimed, report.raised, report.errors) == (1, 0, 0)
    assert world.watch.items["c1"].due_at is not None  # looked at again within the ceiling
