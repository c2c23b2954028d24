"""Statistics added up in the container: one write per code and day per flush, due after
`flush_seconds` or `flush_scans`, nothing lost or doubled across flushes, refused writes kept."""

from __future__ import annotations

from collections import Counter

from siyu.statistics.buffer import MAX_COUNTERS_PER_WRITE, StatsBuffer
from tests.fakes.live_codes import FakeStatsStore, storage_error


class Clock:
    def __init__(self) -> None:
        self.seconds = 100.0

    def __call__(self) -> float:
        return self.seconds


class CountingStore(FakeStatsStore):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.fail_next: Exception | None = None

    def add(self, code_id, day, increments, shard=None):
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        self.calls += 1
        super().add(code_id, day, increments, shard)


def test_scans_are_written_as_one_add_per_code_and_day_when_the_interval_passes():
    store, clock = CountingStore(), Clock()
    buffer = StatsBuffer(store, flush_seconds=5, flush_scans=1000, monotonic=clock)
    for i in range(50):
        clock.seconds += 0.09  # 50 scans in 4.5 s
        buffer.add("c1", "2026-11-25", {"v|code": 1, "u|code": i % 2})
        buffer.add("c2", "2026-11-25", {"v|code": 1})
    assert store.calls == 0 and buffer.pending_scans == 100
    clock.seconds += 0.6  # the first scan is 5 s old
    assert buffer.flush_if_due() == 2 and store.calls == 2 and buffer.pending_scans == 0
    assert store.days[("c1", "2026-11-25")] == Counter({"v|code": 50, "u|code": 25})
    assert store.days[("c2", "2026-11-25")] == Counter({"v|code": 50})
    assert buffer.flush_if_due() == 0  # nothing buffered: never a write


def test_the_buffer_never_holds_more_than_flush_scans():
    store, clock = CountingStore(), Clock()
    buffer = StatsBuffer(store, flush_seconds=5, flush_scans=10, monotonic=clock)
    for _ in range(35):
        buffer.add("c1", "2026-11-25", {"v|code": 1})
        assert buffer.pending_scans < 10
    assert store.calls == 3 and buffer.pending_scans == 5
    buffer.flush()
    assert store.days[("c1", "2026-11-25")]["v|code"] == 35


def test_loss_bound_only_the_last_flush_seconds_are_ever_unwritten():
    # A scan every second for a minute: at any moment, what is unwritten is at most 5 s old.
    store, clock = CountingStore(), Clock()
    buffer = StatsBuffer(store, flush_seconds=5, monotonic=clock)
    for _ in range(60):
        clock.seconds += 1
        buffer.add("c1", "2026-11-25", {"v|code": 1})
        assert buffer.pending_scans <= 5
    assert store.days[("c1", "2026-11-25")]["v|code"] + buffer.pending_scans == 60
    assert store.calls <= 60 / 5  # 0.2 writes a scan at one scan a second


def test_a_refused_flush_is_kept_for_the_next_one_and_nothing_is_doubled():
    store, clock = CountingStore(), Clock()
    buffer = StatsBuffer(store, flush_seconds=5, monotonic=clock)
    buffer.add("c1", "2026-11-25", {"v|code": 1})
    store.fail_next = storage_error("ProvisionedThroughputExceededException")
    assert buffer.flush() == 0 and buffer.pending_scans == 1
    buffer.add("c1", "2026-11-25", {"v|code": 1})
    buffer.flush()
    assert store.days[("c1", "2026-11-25")]["v|code"] == 2 and buffer.lost_scans == 0


def test_an_unknown_outcome_is_counted_as_lost_never_retried():
    from botocore.exceptions import ReadTimeoutError

    store, clock = CountingStore(), Clock()
    buffer = StatsBuffer(store, flush_seconds=5, monotonic=clock)
    buffer.add("c1", "2026-11-25", {"v|code": 1})
    store.fail_next = ReadTimeoutError(endpoint_url="http://dynamodb")
    buffer.flush()
    assert buffer.lost_scans == 1 and buffer.pending_scans == 0 and store.calls == 0


def test_many_counters_are_split_into_writes_dynamodb_accepts():
    store, clock = CountingStore(), Clock()
    buffer = StatsBuffer(store, monotonic=clock)
    buffer.add("c1", "2026-11-25", {f"v|ch:{i}": 1 for i in range(MAX_COUNTERS_PER_WRITE + 1)})
    assert buffer.flush() == 2 and sum(store.days[("c1", "2026-11-25")].values()) == MAX_COUNTERS_PER_WRITE + 1


def test_the_background_flusher_writes_with_no_further_scans():
    import time

    store = CountingStore()
    buffer = StatsBuffer(store, flush_seconds=0.2, background=True)
    buffer.add("c1", "2026-11-25", {"v|code": 1})
    deadline = time.monotonic() + 3
    while store.calls == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.days[("c1", "2026-11-25")]["v|code"] == 1
