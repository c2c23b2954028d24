"""Resolving a scan of a live code to the page the scanner sees.

Steady path for a scanner's first visit: one conditional UpdateItem on a counter shard (assign
them to a target: the one write that decides thresholds and caps). What the scanner must be
remembered by (who they were given, which statistic dimensions they counted in, today and ever)
goes back to their browser in a signed cookie of its own (``siyu.web.scan_memory``), so a
returning scanner costs no read and no write. The day's statistics are added up in the container
and written as one ADD every few seconds (``siyu.statistics.buffer``). The visitor record is
written only where something must be remembered server-side: a grouped code's pick (its tag) and
a referral scan; and when the signing key cannot be read, the visitor record does it all, as
before. The code's config and counters are cached per container for a few seconds and refreshed
with one Query; every count answer keeps the cached counters honest. When storage fails, the
scanner still gets a page: the last target this container served, or the fallback, never an error.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

from botocore.exceptions import BotoCoreError, ClientError

from siyu.campaigns.referrals import ReferralQueue, campaign_href, scan_facts
from siyu.core.clock import utcnow
from siyu.layering.membership_repository import SegmentMembership
from siyu.live_codes import landing_page
from siyu.live_codes.assignment import (
    MAX_SHARDS,
    Counters,
    is_sticky,
    limits_of,
    local_day,
    open_shards,
    ranked,
    stale_days,
)
from siyu.live_codes.client_limit import DEFAULT_LIMIT, ClientLimit
from siyu.live_codes.counters_repository import ClientCounts, ScanCount
from siyu.live_codes.model import (
    ARCHIVED,
    CODE_ID_PATTERN,
    GROUPED,
    LiveCode,
    Option,
    Pool,
    Target,
    takes_threshold,
)
from siyu.live_codes.repository import CodesTable
from siyu.live_codes.scan_pages import fallback_page as _fallback_page
from siyu.live_codes.scan_pages import last_good_page
from siyu.live_codes.scan_pages import target_page as _target_page
from siyu.live_codes.segment_routes import SegmentLookup, scanner_pool
from siyu.statistics import rules as scan_stats
from siyu.statistics.buffer import StatsBuffer
from siyu.statistics.repository import StatsTable
from siyu.statistics.visitors_repository import VisitEntry, VisitorRecord, VisitorsTable
from siyu.storage import aws
from siyu.storage.codec import throttled
from siyu.storage.signing_key import SigningKey
from siyu.web import scan_memory
from siyu.web.scan_memory import CodeMemory
from siyu.web.visitors import address_hash, address_key, is_visitor_id, new_visitor_id

if TYPE_CHECKING:  # interfaces only: the scan path imports nothing it does not run
    from siyu.live_codes.ports import CodeStore, StatsStore, VisitorStore

logger = logging.getLogger(__name__)

MAX_CACHED_CODES = 2_000
# When everything looks full, re-read at most this often (new targets show up, a burst is not a Query each).
FALLBACK_RECHECK_SECONDS = 1.0
# After storage failed, serve last known good pages for this long: one slow scan per container, not every one.
STORAGE_BACKOFF_SECONDS = 5.0
# When the signing key cannot be read, the visitor record remembers scanners; try again after this.
KEY_BACKOFF_SECONDS = 60.0
StorageError = (ClientError, BotoCoreError)


@dataclass
class _CachedCode:
    code: LiveCode | None
    counters: Counters
    loaded_at: float
    last_served: dict[str, Target] = field(default_factory=dict)  # pool key -> target


@dataclass(frozen=True)
class ScanResult:
    """What a scan resolved to: `page` is the API Gateway response to send."""

    outcome: str  # target | choices | fallback | ended | not_found | busy
    page: dict[str, Any]  # the API Gateway response
    target_id: str | None = None
    counted: bool = False  # assigned a new scanner to the target (what caps and thresholds count)
    visitor_id: str | None = None  # a new visitor id to set as the cookie
    memory_cookie: tuple[str, str] | None = None  # (name, value) of the code's memory cookie to set

    @property
    def routine(self) -> bool:
        """A page served as planned (a target's QR, a grouped code's choices): logged at DEBUG, others at INFO."""
        return self.outcome in ("target", "choices")


@dataclass(frozen=True)
class Visit:
    """One request to a scan URL, as the scan function sees it."""

    code_id: str
    channel_id: str | None = None
    option_id: str | None = None
    visitor_id: str | None = None  # from the cookie; None on a first visit
    count: bool = True  # False for bots, link previews and HEAD requests: same page, nothing written
    in_wechat: bool = True
    referral: str | None = None  # ?r=<campaign>.<participant>: came through a participant's poster
    address: str = ""  # the client's network address: hashed with a secret key here, never kept
    address_hash: str = ""  # its keyed hash (per-client limit, rate limits on referrals)
    fetch: tuple[str | None, str | None] = (None, None)  # Sec-Fetch-Dest and -Mode as sent (referral scans)
    first_pick: bool = False  # a grouped code's pick whose choices page minted the visitor id (n=1)
    memory: str | None = None  # the code's memory cookie, as the browser sent it
    issued_id: str | None = None  # a visitor id given to a first visit over the client's limit (its cookie)


class KeySource(Protocol):
    def get(self) -> bytes: ...


@dataclass
class ScanService:
    table: CodeStore
    cache_seconds: float
    visitors: VisitorStore | None = None
    stats: StatsStore | None = None
    referrals: ReferralQueue | None = None
    clock: Callable[[], datetime] = utcnow
    monotonic: Callable[[], float] = time.monotonic
    signing_key: KeySource | None = None  # None: the visitor record remembers scanners (no memory cookie)
    client_limit: ClientLimit | None = None  # how far one client may move a code's counters an hour
    segments: SegmentLookup | None = None  # precise-group routes: the scanner's segment membership
    _cache: dict[str, _CachedCode] = field(default_factory=dict)
    _storage_down_until: float = 0.0
    _key_down_until: float = 0.0
    _container_key: str = field(default_factory=new_visitor_id)  # hashes addresses while the signing key is down

    @classmethod
    def from_environment(cls) -> ScanService:
        parameter = os.environ.get("SIGNING_KEY_PARAMETER")
        return cls(
            CodesTable.from_environment(fast=True),
            float(os.environ.get("SCAN_CACHE_SECONDS", "3")),
            VisitorsTable.from_environment(fast=True),
            StatsBuffer(StatsTable.from_environment(fast=True), background=True),
            ReferralQueue.from_environment(),
            signing_key=SigningKey(parameter, aws.ssm_for_scans) if parameter else None,
            client_limit=ClientLimit(
                ClientCounts(aws.dynamodb_for_scans(), os.environ["TABLE_NAME"]),
                int(os.environ.get("SCAN_CLIENT_LIMIT_PER_HOUR") or DEFAULT_LIMIT),
            ),
            segments=SegmentMembership.from_environment(fast=True),
        )

    def scan(self, code_id: str, count: bool = True, in_wechat: bool = True, **visit: Any) -> ScanResult:
        return self.visit(Visit(code_id, count=count, in_wechat=in_wechat, **visit))

    def visit(self, visit: Visit) -> ScanResult:
        """The page for one visit. Bots (`count=False`) see the same page and write nothing;
        another browser (`in_wechat=False`) also gets the "open this in WeChat" notice."""
        if isinstance(self.stats, StatsBuffer):
            self.stats.flush_if_due()  # a frozen container's statistics go out on its next invocation
        if not CODE_ID_PATTERN.match(visit.code_id or ""):
            return ScanResult("not_found", landing_page.not_found_page())
        now = self.clock()
        visit = self._screened(visit, now)
        cached = self._cache.get(visit.code_id)
        if cached is not None and self.monotonic() < self._storage_down_until:
            return self._uncounted(cached, visit, now)  # a code never seen here still tries storage
        try:
            age = self.monotonic() - cached.loaded_at if cached else 0.0
            fresh = cached is None or age >= self.cache_seconds or _new_channel(cached.code, visit, age)
            if cached is None or fresh:
                cached = self._load(visit.code_id)
            code = cached.code
            if code is None or code.status == ARCHIVED or not visit.count:
                return self._uncounted(cached, visit, now)
            option = code.option(visit.option_id) if code.kind == GROUPED else None  # a route is no pick
            if code.kind == GROUPED and option is None:
                return self._choices(code, visit, now)
            return self._counted(cached, code, option, visit, now, fresh)
        except StorageError as error:
            if not throttled(error):  # throttling is about one hot item, not storage being down
                self._storage_down_until = self.monotonic() + STORAGE_BACKOFF_SECONDS
            logger.warning(
                "storage failed while scanning %s (%s); serving the last known good page", visit.code_id, error
            )
            return self._uncounted(cached, visit, now)

    # -- the counted path --------------------------------------------------------------

    def _counted(
        self, cached: _CachedCode, code: LiveCode, option: Option | None, visit: Visit, now: datetime, fresh: bool
    ) -> ScanResult:
        visitor_id = visit.visitor_id if is_visitor_id(visit.visitor_id) else None
        pool, route = scanner_pool(code, option, visitor_id, self.segments)  # a precise group's route, or none
        key = self._key()
        known, record = self._known(code.id, visitor_id, visit, key, now)
        target = self._returning(code, pool, known, now)
        assigned = target is None
        if assigned:
            target = self._assign(cached, code, pool, now)
            if target is None and not fresh and self.monotonic() - cached.loaded_at >= FALLBACK_RECHECK_SECONDS:
                # Before telling a scanner everyone is taken, make sure the operator has not
                # just added a target this container has not seen yet.
                cached = self._load(code.id)
                if cached.code is None:  # codes are never deleted; this keeps the types honest
                    return self._uncounted(cached, visit, now)
                code = cached.code
                option = code.option(option.id) if option else None  # this copy's, for its tag
                pool, route = scanner_pool(code, option, visitor_id, self.segments)
                target = self._assign(cached, code, pool, now) if code.status != ARCHIVED else None
        new_visitor = visitor_id is None
        visitor_id = visitor_id or new_visitor_id()
        self._hand_over_referral(visit, visitor_id, new_visitor or visit.first_pick, now, target is not None)
        dims = [f"o:{option.id}"] if option else [scan_stats.CODE, scan_stats.channel_dim(self._channel(code, visit))]
        dims += [f"o:{route.id}"] if route else []
        if target is None:
            self._count_fallback(code)
            cookie = self._record(code, visitor_id, visit, now, dims, known, record, key, fallback=True)
            return ScanResult(
                "fallback",
                _fallback_page(code, visit.in_wechat),
                visitor_id=visitor_id if new_visitor else None,
                memory_cookie=cookie,
            )
        cached.last_served[pool.key] = target
        cookie = self._record(
            code,
            visitor_id,
            visit,
            now,
            [*dims, f"t:{target.id}"],
            known,
            record,
            key,
            assignment=(pool.key, target.id) if assigned else None,
            tags=[option.tag] if option else (),
        )
        return ScanResult(
            "target",
            _target_page(code, pool, target, visit.in_wechat, visit.referral, self._channel(code, visit)),
            target.id,
            counted=assigned,
            visitor_id=visitor_id if new_visitor else None,
            memory_cookie=cookie,
        )

    def _screened(self, visit: Visit, now: datetime) -> Visit:
        """The visit with its address hashed (and dropped); over the client's hourly limit, uncounted."""
        key = self._key() if visit.address else None
        hashed = address_hash(address_key(key) if key else self._container_key, visit.address) if visit.address else ""
        limit = self.client_limit
        held = visit.count and limit is not None and not limit.allows(visit.code_id, hashed, now)
        visit = replace(visit, address="", address_hash=hashed or visit.address_hash, count=visit.count and not held)
        if held:  # the same page, nothing counted; a first visit still gets its id, its referral is still judged
            issued = None if is_visitor_id(visit.visitor_id) else new_visitor_id()
            visit = replace(visit, visitor_id=issued or visit.visitor_id, issued_id=issued)
            self._hand_over_referral(visit, issued or visit.visitor_id or "", issued is not None, now, None)
        return visit

    def _key(self) -> bytes | None:
        """The signing key of memory cookies; None while it cannot be read (the visitor record remembers)."""
        if self.signing_key is None or self.monotonic() < self._key_down_until:
            return None
        try:
            return self.signing_key.get()
        except Exception as error:  # SSM down or denied: scans go on without memory cookies
            self._key_down_until = self.monotonic() + KEY_BACKOFF_SECONDS
            logger.warning("could not read the signing key (%s); the visitor record remembers scanners", error)
            return None

    def _known(
        self, code_id: str, visitor_id: str | None, visit: Visit, key: bytes | None, now: datetime
    ) -> tuple[CodeMemory | None, VisitorRecord | None]:
        """What is known of this scanner and code: their memory cookie; without one (an older
        visitor, another code's visitor, no key) their visitor record, if they have one."""
        memory = scan_memory.decode(visit.memory, visitor_id, code_id, key, now) if key else None
        if memory is not None or visitor_id is None or self.visitors is None:
            return memory, None
        record = self.visitors.get(visitor_id, code_id)
        return (CodeMemory.of_record(record.seen, record.dims, record.assignments), record) if record else (None, None)

    def _returning(self, code: LiveCode, pool: Pool, known: CodeMemory | None, now: datetime) -> Target | None:
        """The target a returning scanner was given before, if they should see it again."""
        if known is None or pool.key not in known.assignments:
            return None
        target_id, assigned_at = known.assignments[pool.key]
        return is_sticky(code, pool, target_id, assigned_at, now)

    def _assign(self, cached: _CachedCode, code: LiveCode, pool: Pool, now: datetime) -> Target | None:
        """Give this scanner the pool's best available target and count it on a random shard
        with room; a shard found full is skipped, then the next target is tried."""
        day = local_day(code, now)
        for target in ranked(code, pool, cached.counters, now):
            limits = limits_of(code, pool, target)
            free = open_shards(cached.counters, target.id, limits, day)
            while free:
                shard = random.choice(free)
                known = cached.counters.shard(target.id, shard)
                total_quota, daily_quota = limits.total_quota(shard), limits.daily_quota(shard)
                scan = ScanCount(code.id, target.id, shard, day, total_quota, daily_quota, stale_days(known.days, day))
                counted = self.table.count_scan(scan)
                if counted is None:  # filled up by other scanners since we last looked
                    known.total = max(known.total, total_quota or 0)
                    known.days[day] = max(known.days.get(day, 0), daily_quota or 0)
                    free.remove(shard)
                    continue
                cached.counters.shards[target.id][shard] = counted
                if takes_threshold(pool.strategy, target) and cached.counters.total(target.id) >= code.switch_threshold:
                    self._wake_rotation(code.id, now)
                return target
        return None

    def _choices(self, code: LiveCode, visit: Visit, now: datetime) -> ScanResult:
        """A grouped code's first page: the options, each a link that keeps the channel."""
        visitor_id = visit.visitor_id if is_visitor_id(visit.visitor_id) else None
        new_visitor = visitor_id is None
        key = self._key()
        known, record = self._known(code.id, visitor_id, visit, key, now)
        visitor_id = visitor_id or new_visitor_id()
        dims = [scan_stats.CODE, scan_stats.channel_dim(self._channel(code, visit))]
        cookie = self._record(code, visitor_id, visit, now, dims, known, record, key)
        channel = {"ch": visit.channel_id} if self._channel(code, visit) else {}
        if campaign_href(visit.referral):  # the pick keeps the referral (and n=1: first visit), judged there
            channel.update({"r": visit.referral, **({"n": "1"} if new_visitor else {})})
        choices = [(f"?{urlencode({**channel, 'o': o.id})}", o.label, o.description) for o in code.options]
        page = landing_page.choices_page(code.title, code.guidance, choices, visit.in_wechat)
        return ScanResult("choices", page, visitor_id=visitor_id if new_visitor else None, memory_cookie=cookie)

    def _record(
        self,
        code: LiveCode,
        visitor_id: str,
        visit: Visit,
        now: datetime,
        dims: list[str],
        known: CodeMemory | None,
        record: VisitorRecord | None,
        key: bytes | None,
        assignment: tuple[str, str] | None = None,
        tags: Collection[str] = (),
        fallback: bool = False,
    ) -> tuple[str, str] | None:
        """The day's statistics, the scanner's memory cookie (returned: name and value, None when
        it does not change) and, where something must be remembered server-side (a pick's tag, a
        referral, no signing key), the visitor record. A visit is new in a dimension when neither
        memory has seen it there. The scanner's page never waits on a failure here: it is logged,
        and the statistics miss one visit."""
        day = local_day(code, now)
        from_cookie = known is not None and record is None
        known = known or CodeMemory()
        new_today: Collection[str] = ()
        new_ever: Collection[str] = ()
        if key is not None:
            new_today, new_ever = known.new_in(dims, day)
        try:
            # A pick's tag is kept server-side once; a browser whose cookie shows the pick is not re-recorded.
            tags_known = from_cookie and {d for d in dims if d.startswith("o:")} <= known.ever
            if self.visitors and (key is None or (tags and not tags_known) or campaign_href(visit.referral)):
                stale = stale_days(record.seen_days if record else [known.day] if known.day else [], day)
                entry = VisitEntry(visitor_id, code.id, now, day, dims, assignment, tags, stale)
                new = self.visitors.record_visit(entry)
                if key is None:
                    new_today, new_ever = new.today, new.ever
                else:
                    new_today, new_ever = new.today & frozenset(new_today), new.ever & frozenset(new_ever)
            if self.stats:
                added = scan_stats.increments(
                    dims, visit.in_wechat, new_today, new_ever, assigned=assignment is not None, fallback=fallback
                )
                self.stats.add(code.id, day, added)
        except StorageError as error:
            logger.warning("could not record a visit to %s (%s)", code.id, error)
        if key is None:
            return None
        after = known.after(dims, day, (assignment[0], assignment[1], now) if assignment else None)
        if from_cookie and after == known:  # the browser already holds exactly this
            return None
        value = scan_memory.encode(after, visitor_id, code.id, key, now)
        return (scan_memory.cookie_name(code.id), value) if value else None

    def _hand_over_referral(self, visit: Visit, visitor_id: str, new: bool, now: datetime, target: bool | None) -> None:
        """To the campaign worker, with what the scan showed (None: uncounted); one SQS message, never with the page."""
        if not visit.referral or self.referrals is None:
            return
        try:
            facts = scan_facts(visit.code_id, target, visit.in_wechat, visit.fetch)
            self.referrals.hand_over(visit.referral, visitor_id, new, visit.address_hash, now, facts)
        except Exception as error:  # the scanner still gets their page
            logger.warning("could not hand over referral %s (%s)", visit.referral, error)

    @staticmethod
    def _channel(code: LiveCode, visit: Visit) -> str | None:
        """The visit's channel if the code has it; an unknown one counts as no channel."""
        return visit.channel_id if code.channel(visit.channel_id) else None

    def _load(self, code_id: str) -> _CachedCode:
        code, counters = self.table.load(code_id)
        previous = self._cache.pop(code_id, None)
        entry = _CachedCode(code, counters, self.monotonic(), previous.last_served if previous else {})
        if len(self._cache) >= MAX_CACHED_CODES:
            self._cache.pop(next(iter(self._cache)))
        self._cache[code_id] = entry
        return entry

    def _wake_rotation(self, code_id: str, now: datetime) -> None:
        """This scan filled a group: let the rotation job look at the code's runway now
        (one extra write per threshold's worth of scans)."""
        try:
            self.table.mark_due(code_id, now)
        except StorageError as error:
            logger.warning("could not mark %s due for the rotation job (%s)", code_id, error)

    def _count_fallback(self, code: LiveCode) -> None:
        try:
            self.table.count_fallback(code.id, random.randrange(MAX_SHARDS))
        except StorageError as error:
            logger.warning("could not count a fallback scan of %s (%s)", code.id, error)

    # -- pages that write nothing ------------------------------------------------------

    def _uncounted(self, cached: _CachedCode | None, visit: Visit, now: datetime) -> ScanResult:
        """A page that writes nothing: for bots, and the last known good one when storage fails."""
        if cached is None:
            return ScanResult("busy", landing_page.busy_page())
        if (code := cached.code) is None:
            return ScanResult("not_found", landing_page.not_found_page())
        channel_id = self._channel(code, visit)
        outcome, page, target_id = last_good_page(code, cached.counters, cached.last_served, visit, channel_id, now)
        return ScanResult(outcome, page, target_id, counted=False, visitor_id=visit.issued_id)


def _new_channel(code: LiveCode | None, visit: Visit, age: float) -> bool:
    """A channel this copy of the code does not know (made since it was read): re-read it, at most once a second."""
    return bool(visit.channel_id and code and not code.channel(visit.channel_id) and age >= FALLBACK_RECHECK_SECONDS)
