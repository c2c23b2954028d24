"""Staff assignment: round robin, weights, daily caps, working hours, backups, stickiness, shards."""

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from siyu.live_codes.assignment import (
    Counters,
    is_sticky,
    limits_of,
    local_day,
    on_duty,
    open_shards,
    ranked,
    shard_count,
    shard_quota,
    stale_days,
)
from siyu.live_codes.model import (
    ACTIVE,
    GROUP,
    GROUPED,
    IN_ORDER,
    ROUND_ROBIN,
    STAFF,
    WEIGHTED,
    LiveCode,
    Option,
    Target,
    WorkingWindow,
    pool_of,
)

# 2026-11-25 is a Wednesday; 12:00 UTC is 20:00 in Shanghai.
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
FAR = NOW + timedelta(days=3650)
EVERY_DAY = (1, 2, 3, 4, 5, 6, 7)


def staff(tid: str, **fields) -> Target:
    base = Target(tid, f"https://u.wechat.com/{tid}", "wechat_personal", f"k/{tid}", FAR, NOW, b"", staff_name=tid)
    return replace(base, **fields)


def staff_code(*targets: Target, strategy: str = ROUND_ROBIN, time_zone: str = "Asia/Shanghai") -> LiveCode:
    return LiveCode(
        "c1", "n", "t", "g", 180, "f", ACTIVE, NOW, NOW, 1, tuple(targets),
        kind=STAFF, strategy=strategy, time_zone=time_zone,
    )  # fmt: skip


def assign(code: LiveCode, counters: Counters, now: datetime, option: Option | None = None) -> Target | None:
    """What the scan path does: the best available target, counted."""
    pool = pool_of(code, option)
    best = next(iter(ranked(code, pool, counters, now)), None)
    if best is not None:
        shard = counters.shard(best.id, 0)
        shard.total += 1
        day = local_day(code, now)
        shard.days[day] = shard.days.get(day, 0) + 1
    return best


def share_out(code: LiveCode, scans: int, now: datetime = NOW) -> Counter:
    counters = Counters()
    return Counter(assign(code, counters, now).id for _ in range(scans))


def test_round_robin_gives_each_staff_member_an_equal_share_of_1000_scans():
    code = staff_code(staff("a"), staff("b"), staff("c"), staff("d"))
    assert share_out(code, 1000) == {"a": 250, "b": 250, "c": 250, "d": 250}


def test_round_robin_takes_turns_in_order():
    code = staff_code(staff("a"), staff("b"), staff("c"))
    counters = Counters()
    assert [assign(code, counters, NOW).id for _ in range(6)] == ["a", "b", "c", "a", "b", "c"]


def test_weights_share_1000_scans_in_proportion():
    code = staff_code(staff("a", weight=5), staff("b", weight=3), staff("c", weight=2), strategy=WEIGHTED)
    shares = share_out(code, 1000)
    for tid, expected in {"a": 500, "b": 300, "c": 200}.items():
        assert abs(shares[tid] - expected) <= 0.02 * 1000, shares


@given(st.lists(st.integers(1, 20), min_size=1, max_size=6), st.integers(50, 400))
def test_weighted_shares_stay_within_one_scan_of_exact(weights, scans):
    code = staff_code(*(staff(f"s{i}", weight=w) for i, w in enumerate(weights)), strategy=WEIGHTED)
    shares = share_out(code, scans)
    for i, w in enumerate(weights):
        assert abs(shares[f"s{i}"] - scans * w / sum(weights)) <= len(weights)


def test_a_capped_staff_member_is_skipped_and_the_cap_resets_at_local_midnight():
    code = staff_code(staff("a", daily_cap=2), staff("b"))
    counters = Counters()
    evening = datetime(2026, 11, 25, 15, 50, tzinfo=UTC)  # 23:50 in Shanghai
    picks = [assign(code, counters, evening).id for _ in range(6)]
    assert picks.count("a") == 2 and picks.count("b") == 4
    # 16:05 UTC is 00:05 the next day in Shanghai: a's cap is fresh again
    after_midnight = datetime(2026, 11, 25, 16, 5, tzinfo=UTC)
    assert assign(code, counters, after_midnight).id == "a"


def test_local_midnight_follows_the_codes_time_zone():
    code = staff_code(staff("a", daily_cap=1), staff("b", daily_cap=1), time_zone="America/New_York")
    counters = Counters()
    at = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)  # 23:30 on the 24th in New York
    assert {assign(code, counters, at).id, assign(code, counters, at).id} == {"a", "b"}
    assert assign(code, counters, at) is None  # everybody capped, nobody is a backup
    # 05:00 UTC is midnight in New York (EST); in Shanghai it would still be the 25th
    assert assign(code, counters, datetime(2026, 11, 25, 5, 0, tzinfo=UTC)).id == "a"


def test_off_hours_staff_are_skipped():
    nine_to_six = (WorkingWindow(EVERY_DAY, 9 * 60, 18 * 60),)
    code = staff_code(staff("day", working_hours=nine_to_six), staff("any"))
    counters = Counters()
    at_20h = NOW  # 20:00 Shanghai
    assert {assign(code, counters, at_20h).id for _ in range(5)} == {"any"}
    at_10h = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    assert "day" in {assign(code, counters, at_10h).id for _ in range(5)}


def test_working_hours_by_weekday_and_past_midnight():
    weekdays = WorkingWindow((1, 2, 3, 4, 5), 9 * 60, 18 * 60)
    night_shift = WorkingWindow((5,), 22 * 60, 2 * 60)  # Friday 22:00 to Saturday 02:00
    sh = datetime(2026, 11, 27, 10, 0)  # a Friday, local time
    assert on_duty([weekdays], sh)
    assert not on_duty([weekdays], sh + timedelta(days=1))  # Saturday
    assert not on_duty([weekdays], sh.replace(hour=18))  # end is exclusive
    assert on_duty([night_shift], sh.replace(hour=23))
    assert on_duty([night_shift], sh.replace(hour=1) + timedelta(days=1))  # Saturday 01:00
    assert not on_duty([night_shift], sh.replace(hour=1))  # Friday 01:00: Thursday had no shift
    assert on_duty([], sh)  # no hours given: always on duty


def test_working_hours_follow_daylight_saving_time():
    code = staff_code(
        staff("ny", working_hours=(WorkingWindow(EVERY_DAY, 9 * 60, 17 * 60),)), time_zone="America/New_York"
    )
    july_9am = datetime(2026, 7, 1, 13, 0, tzinfo=UTC)  # EDT: UTC-4
    december_9am = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # EST: UTC-5
    assert assign(code, Counters(), july_9am).id == "ny"
    assert assign(code, Counters(), december_9am).id == "ny"
    assert assign(code, Counters(), december_9am - timedelta(minutes=1)) is None


def test_backup_staff_appear_only_when_everyone_is_capped_or_off():
    nine_to_six = (WorkingWindow(EVERY_DAY, 9 * 60, 18 * 60),)
    code = staff_code(staff("a", daily_cap=1), staff("b", working_hours=nine_to_six), staff("backup", backup=True))
    counters = Counters()
    assert assign(code, counters, NOW).id == "a"  # b is off at 20:00
    assert [assign(code, counters, NOW).id for _ in range(3)] == ["backup"] * 3
    morning = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    assert assign(code, counters, morning).id in {"a", "b"}


def test_group_pool_fills_in_order_at_the_threshold():
    group = Target("g1", "https://weixin.qq.com/g/1", "wechat_group", "k", NOW + timedelta(days=6), NOW, b"")
    code = replace(staff_code(group, replace(group, id="g2")), kind=GROUP, strategy=IN_ORDER, switch_threshold=3)
    counters = Counters()
    assert [assign(code, counters, NOW).id for _ in range(6)] == ["g1"] * 3 + ["g2"] * 3
    assert assign(code, counters, NOW) is None  # both full: the fallback


def test_each_option_of_a_grouped_code_has_its_own_pool():
    north, south = Option("n", "北方", "", "city:north", ROUND_ROBIN), Option("s", "南方", "", "city:south", IN_ORDER)
    code = replace(
        staff_code(staff("n1", option_id="n"), staff("n2", option_id="n"), staff("s1", option_id="s")),
        kind=GROUPED,
        options=(north, south),
    )
    counters = Counters()
    assert [assign(code, counters, NOW, north).id for _ in range(4)] == ["n1", "n2", "n1", "n2"]
    assert assign(code, counters, NOW, south).id == "s1"
    assert pool_of(code, None).targets == ()  # no option picked yet: nothing to show but the choices


def test_a_returning_scanner_keeps_their_staff_member_for_the_sticky_days():
    code = replace(staff_code(staff("a"), staff("b", enabled=False)), sticky_days=7)
    pool = pool_of(code)
    assert is_sticky(code, pool, "a", NOW - timedelta(days=6), NOW).id == "a"
    assert is_sticky(code, pool, "a", NOW - timedelta(days=7), NOW) is None
    assert is_sticky(code, pool, "b", NOW, NOW) is None  # disabled since: assign someone new
    assert is_sticky(code, pool, "gone", NOW, NOW) is None
    assert is_sticky(replace(code, sticky_days=0), pool, "a", NOW, NOW) is None


@given(st.integers(1, 10_000), st.integers(1, 16))
def test_shard_quotas_add_up_to_the_limit(limit, shards):
    n = shard_count(limit, None) if shards > limit else shards
    quotas = [shard_quota(limit, n, k) for k in range(n)]
    assert sum(quotas) == limit and min(quotas) >= 1 and max(quotas) - min(quotas) <= 1


def test_small_limits_use_fewer_shards_and_full_shards_are_not_offered():
    code = staff_code(staff("a", daily_cap=3))
    pool = pool_of(code)
    limits = limits_of(code, pool, code.targets[0])
    assert limits.shards == 3 and limits.total is None
    counters = Counters()
    counters.shard("a", 1).days[local_day(code, NOW)] = 1
    assert open_shards(counters, "a", limits, local_day(code, NOW)) == [0, 2]
    assert shard_count(None, None) == 16


def test_old_day_counts_are_pruned_but_yesterday_is_kept():
    assert stale_days(["2026-11-20", "2026-11-24", "2026-11-25"], "2026-11-25") == ["2026-11-20"]
