"""Join-way targets (WeCom 加入群聊) in the rotation job's pure rules: groups filling up, groups
WeCom made by itself, and runway that is not fooled by a join way's "never" expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from siyu.alerts.watch_rules import WatchSettings, conditions, lapsed, next_check, runway
from siyu.alerts.wording import resolved_text
from siyu.live_codes.model import ACTIVE, ROUND_ROBIN, STAFF, WECOM_JOIN_KIND, LiveCode, Target
from siyu.wecom.records import GroupFact

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
NEVER = NOW + timedelta(days=3650)
SETTINGS = WatchSettings((48, 24), 24)


def upload(tid: str, hours: float = 100.0) -> Target:
    return Target(tid, f"https://weixin.qq.com/g/{tid}", "wechat_group", "k", NOW + timedelta(hours=hours), NOW, b"")


def join_way(tid: str, *chats: str, auto: bool = True, enabled: bool = True) -> Target:
    return Target(
        tid,
        f"https://work.weixin.qq.com/gm/{tid}",
        WECOM_JOIN_KIND,
        "",
        NEVER,
        NOW,
        b"",
        enabled,
        wecom_chat_ids=chats or ("wrA",),
        auto_create_room=auto,
    )


def contact_way(tid: str) -> Target:
    return Target(tid, f"https://work.weixin.qq.com/ca/{tid}", "wecom", "", NEVER, NOW, b"", wecom_user="zhangsan")


def code(*targets: Target, threshold: int = 100, kind: str = "group", strategy: str = "in_order") -> LiveCode:
    return LiveCode(
        "c1", "会员群", "t", "g", threshold, "f", ACTIVE, NOW, NOW, 1, tuple(targets), kind=kind, strategy=strategy
    )


def fact(chat: str, size: int, target: str = "w1", auto: bool = False, name: str = "", seen=NOW) -> GroupFact:
    return GroupFact(chat, name, size, target, auto, seen)


def keys(live: LiveCode, groups=(), scans=None, rate=None) -> set[str]:
    return set(conditions(live, scans or {}, NOW, SETTINGS, rate, groups=groups))


def test_a_group_from_180_members_is_filling_and_says_what_wecom_will_do():
    live = code(join_way("w1", "wrA"))
    assert keys(live, [fact("wrA", 179)]) == set()
    found = conditions(live, {}, NOW, SETTINGS, None, groups=[fact("wrA", 186, name="会员1群")])
    (filling,) = found.values()
    assert (filling.key, filling.kind, filling.severity, filling.target_id) == (
        "group_filling:wrA",
        "group_filling",
        "warning",
        "w1",
    )
    assert filling.message == "客户群 会员1群 已有 186/200 人；满员后企业微信会自动新建群。"


def test_without_auto_create_the_operator_must_add_a_group_and_a_full_one_is_critical():
    live = code(join_way("w1", "wrA", auto=False))
    (filling,) = conditions(live, {}, NOW, SETTINGS, None, groups=[fact("wrA", 190)]).values()
    assert filling.message == "客户群 wrA 已有 190/200 人；请为活码添加新的客户群。"  # no name: the chat id
    found = conditions(live, {}, NOW, SETTINGS, None, groups=[fact("wrA", 200)])
    assert set(found) == {"group_filling:wrA", "group_full:wrA"}
    assert found["group_full:wrA"].severity == "critical"
    assert "请为活码添加新的客户群" in found["group_full:wrA"].message
    # with auto-create a full group is WeCom's business: it opens the next one
    assert keys(code(join_way("w1", "wrA")), [fact("wrA", 200)]) == {"group_filling:wrA"}


def test_only_groups_of_usable_join_way_targets_count():
    groups = [fact("wrA", 195), fact("wrB", 195, target="gone"), fact("wrC", 195, target="u1")]
    assert keys(code(join_way("w1", "wrA", enabled=False), upload("u1")), groups) == set()
    assert keys(code(join_way("w1", "wrA"), upload("u1")), groups) == {"group_filling:wrA"}
    dismissed = GroupFact("wrA", "", 195, "w1", False, NOW, dismissed=True)
    assert keys(code(join_way("w1", "wrA")), [dismissed]) == set()


def test_a_group_wecom_made_is_reported_for_a_day_then_closes_silently():
    live = code(join_way("w1", "wrA"))
    made = fact("wrNew", 1, auto=True, name="会员群2", seen=NOW - timedelta(hours=3))
    found = conditions(live, {}, NOW, SETTINGS, None, groups=[made])
    assert set(found) == {"group_created:wrNew"}
    assert found["group_created:wrNew"].severity == "warning"
    assert found["group_created:wrNew"].message == "企业微信已为活码自动新建客户群 会员群2，请确认群主与群公告。"
    older = fact("wrNew", 1, auto=True, seen=NOW - timedelta(days=1))
    assert keys(live, [older]) == set()
    assert lapsed("group_created:wrNew", live, NOW)  # it ran its course: nothing to resolve
    assert not lapsed("group_filling:wrA", live, NOW)  # people left: a real resolution


def test_resolved_group_conditions_say_so():
    assert resolved_text("group_filling:wrA") == "已恢复：客户群 wrA 人数已低于 180 人。"
    assert resolved_text("group_full:wrA") == "已恢复：客户群 wrA 已有空位。"


def test_a_join_way_never_expires_so_the_runway_has_no_expiry_limit():
    mixed = code(upload("u1", hours=30), join_way("w1"))
    span = runway(mixed, {}, NOW, scans_per_hour=10)
    assert (span.usable_targets, span.hours_until_last_expiry, span.hours) == (2, None, None)
    assert "runway_low" not in keys(mixed, rate=1000)
    staff = code(contact_way("s1"), kind=STAFF, strategy=ROUND_ROBIN)
    assert runway(staff, {}, NOW, 5).hours is None
    # uploads alone: as before
    assert runway(code(upload("u1", hours=30)), {}, NOW, None).hours_until_last_expiry == 30


def test_a_join_way_code_is_looked_at_within_the_ceiling_not_ten_years():
    live = code(join_way("w1"))
    due = next_check(live, NOW, SETTINGS, runway(live, {}, NOW, 50), alerting=False)
    assert due == NOW + timedelta(hours=6)


def test_codes_without_join_ways_ignore_group_facts():
    assert keys(code(upload("u1")), [fact("wrA", 199, target="u1")]) == set()
