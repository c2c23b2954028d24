"""The pure rules of which target a scan shows."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siyu.live_codes.model import ACTIVE, LiveCode, Target, pick_target, reorder, target_status

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def target(tid: str, enabled: bool = True, expires_in: timedelta = timedelta(days=7)) -> Target:
    return Target(
        tid, f"https://weixin.qq.com/g/{tid}", "wechat_group", f"k/{tid}", NOW + expires_in, NOW, b"", enabled
    )


def code(*targets: Target, threshold: int = 180) -> LiveCode:
    return LiveCode("c1", "n", "t", "g", threshold, "f", ACTIVE, NOW, NOW, 1, tuple(targets))


def test_first_target_under_threshold_is_shown():
    live = code(target("a"), target("b"), threshold=3)
    assert pick_target(live, {}, NOW).id == "a"
    assert pick_target(live, {"a": 2}, NOW).id == "a"
    assert pick_target(live, {"a": 3}, NOW).id == "b"


def test_expired_and_disabled_targets_are_never_shown():
    live = code(target("old", expires_in=timedelta(seconds=0)), target("off", enabled=False), target("ok"))
    assert pick_target(live, {}, NOW).id == "ok"


def test_nothing_usable_means_fallback():
    live = code(target("a"), target("b", enabled=False), threshold=1)
    assert pick_target(live, {"a": 1}, NOW) is None
    assert pick_target(code(), {}, NOW) is None


def test_status_tells_the_operator_why():
    live = code(
        target("full"),
        target("cur"),
        target("next"),
        target("old", expires_in=-timedelta(1)),
        target("off", enabled=False),
        threshold=2,
    )
    scans = {"full": 2, "cur": 1}
    assert [target_status(live, t, scans, NOW) for t in live.targets] == [
        "full",
        "current",
        "waiting",
        "expired",
        "disabled",
    ]


def test_reorder_needs_every_target_exactly_once():
    targets = (target("a"), target("b"), target("c"))
    assert [t.id for t in reorder(targets, ["c", "a", "b"])] == ["c", "a", "b"]
    for wrong in (["a", "b"], ["a", "b", "c", "c"], ["a", "b", "x"]):
        with pytest.raises(ValueError):
            reorder(targets, wrong)


targets_strategy = st.lists(st.tuples(st.booleans(), st.integers(-3, 3), st.integers(0, 6)), min_size=0, max_size=8)


@given(targets_strategy, st.integers(1, 5))
def test_pick_is_the_first_usable_target_under_threshold(specs, threshold):
    targets = [target(f"t{i}", enabled, timedelta(hours=hours)) for i, (enabled, hours, _) in enumerate(specs)]
    scans = {f"t{i}": count for i, (_, _, count) in enumerate(specs)}
    live = code(*targets, threshold=threshold)
    picked = pick_target(live, scans, NOW)
    eligible = [t for t in targets if t.enabled and t.expires_at > NOW and scans[t.id] < threshold]
    assert picked == (eligible[0] if eligible else None)
    if picked is not None:
        assert target_status(live, picked, scans, NOW) == "current"


@given(st.integers(1, 4), st.integers(1, 6), st.integers(0, 40))
def test_scans_fill_targets_in_order_and_never_overshoot(targets_count, threshold, scans_count):
    live = code(*[target(f"t{i}") for i in range(targets_count)], threshold=threshold)
    counts: dict[str, int] = {}
    shown = []
    for _ in range(scans_count):
        picked = pick_target(live, counts, NOW)
        if picked is None:
            shown.append(None)
            continue
        counts[picked.id] = counts.get(picked.id, 0) + 1
        shown.append(picked.id)
    assert all(c <= threshold for c in counts.values())
    served = [s for s in shown if s]
    assert served == sorted(served, key=lambda tid: int(tid[1:]))  # never goes back to an earlier target
    assert len(served) == min(scans_count, targets_count * threshold)
