"""In-memory fakes of the live codes' storage interfaces (``siyu.live_codes.ports``).

They keep the real repositories' conditions: a save of a stale version raises StaleVersion, a
create of an existing id is refused, a counter shard refuses a scan over its quotas (lifetime
and per day), and a store can be told to fail like DynamoDB does (a ClientError).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from botocore.exceptions import ClientError

from siyu.core.errors import StaleVersion
from siyu.live_codes.assignment import Counters, ShardCount
from siyu.live_codes.counters_repository import FALLBACK, ScanCount
from siyu.live_codes.model import LiveCode
from siyu.live_codes.ports import MadeWay, WayOwner
from siyu.live_codes.qr_image import qr_png
from siyu.statistics.visitors_repository import NewInVisit, VisitEntry, VisitorRecord


def storage_error(code: str = "InternalServerError") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "fake storage says no"}}, "Fake")


@dataclass
class FakeCodeStore:
    """CodeStore in memory. `concurrent_edits`: changes another operator saves just before
    each of our next saves (one per save), so the save finds its version stale."""

    codes: dict[str, LiveCode] = field(default_factory=dict)
    counters: dict[str, Counters] = field(default_factory=dict)
    concurrent_edits: list[Callable[[LiveCode], LiveCode]] = field(default_factory=list)
    failing: Exception | None = None  # raised by every call while set
    saves: int = 0  # save attempts (stale ones included)
    due: list[str] = field(default_factory=list)

    def _check(self) -> None:
        if self.failing is not None:
            raise self.failing

    def load(self, code_id: str, consistent: bool = False) -> tuple[LiveCode | None, Counters]:
        self._check()
        counters = self.counters.get(code_id, Counters())
        copy = Counters(
            {t: {k: ShardCount(c.total, dict(c.days)) for k, c in s.items()} for t, s in counters.shards.items()}
        )
        return self.codes.get(code_id), copy

    def list_codes(self, status: str | None, limit: int, cursor: str | None) -> tuple[list[LiveCode], str | None]:
        self._check()
        codes = sorted(self.codes.values(), key=lambda c: c.created_at, reverse=True)
        return [c for c in codes if status is None or c.status == status][:limit], None

    def create(self, code: LiveCode) -> None:
        self._check()
        if code.id in self.codes:
            raise ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "PutItem")
        self.codes[code.id] = code

    def save(self, code: LiveCode, now: datetime) -> LiveCode:
        self._check()
        self.saves += 1
        if self.concurrent_edits:
            other = self.concurrent_edits.pop(0)(self.codes[code.id])
            self.codes[code.id] = replace(other, version=other.version + 1)
        if self.codes[code.id].version != code.version:
            raise StaleVersion(code.id)
        saved = replace(code, version=code.version + 1, updated_at=now)
        self.codes[code.id] = saved
        self.due.append(code.id)
        return saved

    def save_without_target(self, code: LiveCode, target_id: str, now: datetime) -> LiveCode:
        saved = self.save(code, now)
        self.counters.get(code.id, Counters()).shards.pop(target_id, None)
        return saved

    def mark_due(self, code_id: str, now: datetime) -> None:
        self._check()
        self.due.append(code_id)

    def count_scan(self, scan: ScanCount) -> ShardCount | None:
        self._check()
        count = self.counters.setdefault(scan.code_id, Counters()).shard(scan.target_id, scan.shard)
        if scan.total_quota is not None and count.total >= scan.total_quota:
            return None
        if scan.daily_quota is not None and count.days.get(scan.day, 0) >= scan.daily_quota:
            return None
        count.total += 1
        count.days[scan.day] = count.days.get(scan.day, 0) + 1
        for old in scan.stale_days:
            if old != scan.day:
                count.days.pop(old, None)
        return ShardCount(count.total, dict(count.days))

    def count_fallback(self, code_id: str, shard: int) -> None:
        self._check()
        self.counters.setdefault(code_id, Counters()).shard(FALLBACK, shard).total += 1

    def scans(self, code_id: str) -> dict[str, int]:
        """Test helper: scans per target, summed over the shards."""
        return self.counters.get(code_id, Counters()).totals()


@dataclass
class FakeImageStore:
    """ImageStore in memory, versioned like the bucket: each put has its own version id."""

    objects: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    deleted: list[tuple[str, str | None]] = field(default_factory=list)
    _versions: int = 0

    def put(self, key: str, body: bytes, content_type: str) -> str | None:
        self._versions += 1
        self.objects[key] = (body, content_type)
        return f"v{self._versions}"

    def delete(self, key: str, version_id: str | None = None) -> None:
        self.objects.pop(key, None)
        self.deleted.append((key, version_id))

    def download_url(self, key: str, seconds: int = 300) -> str:
        return f"https://bucket.example/{key}?expires={seconds}"


@dataclass
class FakeVisitorStore:
    """VisitorStore in memory: the record before the visit says which dimensions were new."""

    records: dict[tuple[str, str], VisitorRecord] = field(default_factory=dict)
    dims: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    days: dict[tuple[str, str, str], set[str]] = field(default_factory=dict)
    failing: Exception | None = None
    reads: int = 0
    writes: int = 0

    def get(self, visitor_id: str, code_id: str) -> VisitorRecord | None:
        if self.failing is not None:
            raise self.failing
        self.reads += 1
        return self.records.get((visitor_id, code_id))

    def record_visit(self, visit: VisitEntry) -> NewInVisit:
        if self.failing is not None:
            raise self.failing
        key = (visit.visitor_id, visit.code_id)
        old = self.records.get(key)
        assignments = dict(old.assignments) if old else {}
        if visit.assignment is not None:
            assignments[visit.assignment[0]] = (visit.assignment[1], visit.now)
        kept = {d for d in (old.seen_days if old else ()) if d not in visit.stale_days or d == visit.day}
        seen_days = kept | {visit.day}
        self.records[key] = VisitorRecord(
            visit.visitor_id,
            visit.code_id,
            old.first_seen if old else visit.now,
            visit.now,
            assignments,
            (old.tags if old else frozenset()) | frozenset(visit.tags),
            tuple(sorted(seen_days)),
        )
        counted = frozenset(visit.dims)
        ever = self.dims.setdefault(key, set())
        today = self.days.setdefault((visit.visitor_id, visit.code_id, visit.day), set())
        new = NewInVisit(counted - today, counted - ever)
        ever |= counted
        today |= counted
        self.records[key] = replace(
            self.records[key],
            dims=frozenset(ever),
            seen={d: frozenset(self.days.get((visit.visitor_id, visit.code_id, d), ())) for d in seen_days},
        )
        self.writes += 1
        return new


@dataclass
class FakeStatsStore:
    """StatsStore in memory: code -> day -> counters."""

    days: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)

    def add(self, code_id: str, day: str, increments: Mapping[str, int], shard: int | None = None) -> None:
        self.days.setdefault((code_id, day), Counter()).update(increments)

    def read(self, code_id: str, first_day: str, last_day: str) -> dict[str, Counter[str]]:
        return {d: Counter(c) for (c_id, d), c in self.days.items() if c_id == code_id and first_day <= d <= last_day}


_MAKER_LOCK = threading.Lock()


class WeComRefused(Exception):
    """What the fake WayMaker raises when told to fail (the real one raises its own error)."""


@dataclass
class FakeWayMaker:
    """WayMaker in memory: real QR PNGs of https://work.weixin.qq.com/ca/... (contact ways) or
    /gm/... (join ways) URLs, so the upload check really runs on them.

    `fail_on`: the numbers (1-based, counting contact_way and join_way calls) of the calls that
    raise; `serve`: replaces the image of every way made (a wrong or broken QR); `failing_deletes`:
    deletes raise (after noting the attempt)."""

    fail_on: set[int] = field(default_factory=set)
    serve: Callable[[str], bytes] | None = None
    failing_deletes: bool = False
    calls: int = 0
    ways: dict[str, tuple[str, WayOwner, str]] = field(default_factory=dict)  # config id -> (kind, owner, url)
    deleted: list[tuple[str, str]] = field(default_factory=list)  # (kind, config id)
    made: list[tuple[str, WayOwner]] = field(default_factory=list)  # (kind, owner), in order

    def contact_way(self, owner: WayOwner, user_id: str, skip_verify: bool) -> MadeWay:
        return self._make("contact", owner, "ca")

    def join_way(self, owner: WayOwner, chat_ids: Sequence[str], room_base_name: str, auto_create: bool) -> MadeWay:
        assert 1 <= len(chat_ids) <= 5
        return self._make("join", owner, "gm")

    def _make(self, kind: str, owner: WayOwner, path: str) -> MadeWay:
        with _MAKER_LOCK:  # ways may be made from several threads at once, as WeCom would take them
            self.calls += 1
            number = self.calls
            if number in self.fail_on:
                raise WeComRefused(f"fake WeCom refuses call {number}")
            config_id = f"cfg{number:04d}{owner.target_id}"
            url = f"https://work.weixin.qq.com/{path}/{config_id}"
            self.ways[config_id] = (kind, owner, url)
            self.made.append((kind, owner))
        image = self.serve(url) if self.serve else qr_png(url)
        return MadeWay(config_id, f"s{number}", url, image)

    def delete_contact_way(self, config_id: str) -> None:
        self._delete("contact", config_id)

    def delete_join_way(self, config_id: str) -> None:
        self._delete("join", config_id)

    def _delete(self, kind: str, config_id: str) -> None:
        self.deleted.append((kind, config_id))
        if self.failing_deletes:
            raise WeComRefused("fake WeCom refuses to delete")
        way = self.ways.pop(config_id, None)
        assert way is None or way[0] == kind, f"{config_id} is a {way[0]} way, deleted as a {kind} way"

    def live(self, code_id: str | None = None) -> dict[str, tuple[str, WayOwner, str]]:
        """Test helper: the ways WeCom still has (of one code)."""
        return {k: v for k, v in self.ways.items() if code_id is None or v[1].code_id == code_id}


class FakeClientCounts:
    """The per-client limit's shared hourly counters, with the repository's condition: nothing is
    added when it would take the total past the limit."""

    def __init__(self, fail: bool = False):
        self.counts: dict[tuple[str, str, str], int] = {}
        self.writes = 0
        self.fail = fail

    def add_client_visits(self, code_id: str, address: str, hour: str, count: int, limit: int, now) -> bool:
        if self.fail:
            raise storage_error()
        self.writes += 1
        key = (code_id, address, hour)
        if self.counts.get(key, 0) + count > limit:
            return False
        self.counts[key] = self.counts.get(key, 0) + count
        return True
