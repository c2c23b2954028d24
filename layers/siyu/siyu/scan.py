"""Resolving a scan of a live code to the page the scanner sees.

Steady path: one conditional UpdateItem (count the scan against the current target). The
code's config and counters are cached per container for a few seconds and refreshed with one
Query; every count answer keeps the cached counters honest. When storage fails, the scanner
still gets a page: the last target this container served, or the fallback, never an error.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError

from siyu import landing_page
from siyu.live_codes import ARCHIVED, CODE_ID_PATTERN, LiveCode, Target, candidate_targets, is_usable, pick_target
from siyu.storage.codes_table import CodesTable
from siyu.times import utcnow

logger = logging.getLogger(__name__)

MAX_CACHED_CODES = 2_000
# When everything looks full, re-read at most this often: new targets show up at once, but a
# burst of scans on an exhausted code does not turn into one Query per scan.
FALLBACK_RECHECK_SECONDS = 1.0
# After storage failed, serve last known good pages without asking it for this long: one slow
# scan per container, not every scan waiting through the timeouts again.
STORAGE_BACKOFF_SECONDS = 5.0
StorageError = (ClientError, BotoCoreError)


@dataclass
class _CachedCode:
    code: LiveCode | None
    scans: dict[str, int]
    loaded_at: float
    last_served: Target | None = None


@dataclass(frozen=True)
class ScanResult:
    """What a scan resolved to: `page` is the API Gateway response to send."""

    outcome: str  # target | fallback | ended | not_found | busy
    page: dict
    target_id: str | None = None
    counted: bool = False


@dataclass
class ScanService:
    table: CodesTable
    cache_seconds: float
    clock: Callable[[], datetime] = utcnow
    monotonic: Callable[[], float] = time.monotonic
    _cache: dict[str, _CachedCode] = field(default_factory=dict)
    _storage_down_until: float = 0.0

    @classmethod
    def from_environment(cls) -> ScanService:
        return cls(CodesTable.from_environment(fast=True), float(os.environ.get("SCAN_CACHE_SECONDS", "3")))

    def scan(self, code_id: str, count: bool = True, in_wechat: bool = True) -> ScanResult:
        """The page for one scan. `count=False` (bots, link previews) shows the same page and
        writes nothing; `in_wechat=False` adds the "open this in WeChat" notice."""
        if not CODE_ID_PATTERN.match(code_id or ""):
            return ScanResult("not_found", landing_page.not_found_page())
        now = self.clock()
        cached = self._cache.get(code_id)
        if cached is not None and self.monotonic() < self._storage_down_until:
            return self._uncounted(cached, now, in_wechat)  # a code never seen here still tries storage
        try:
            fresh = cached is None or self.monotonic() - cached.loaded_at >= self.cache_seconds
            if fresh:
                cached = self._load(code_id)
            if not count:
                return self._uncounted(cached, now, in_wechat)
            result = self._serve(cached, now, in_wechat)
            if result is None and not fresh and self.monotonic() - cached.loaded_at >= FALLBACK_RECHECK_SECONDS:
                # Before telling a scanner everything is full, make sure the operator has not
                # just added a target this container has not seen yet.
                cached = self._load(code_id)
                result = self._serve(cached, now, in_wechat)
            return result or self._fallback(cached.code, in_wechat)
        except StorageError as error:
            if not _throttled(error):  # throttling is about one hot item, not storage being down
                self._storage_down_until = self.monotonic() + STORAGE_BACKOFF_SECONDS
            logger.warning("storage failed while scanning %s (%s); serving the last known good page", code_id, error)
            return self._uncounted(cached, now, in_wechat)

    def _load(self, code_id: str) -> _CachedCode:
        code, scans = self.table.load(code_id)
        previous = self._cache.pop(code_id, None)
        entry = _CachedCode(code, scans, self.monotonic(), previous.last_served if previous else None)
        if len(self._cache) >= MAX_CACHED_CODES:
            self._cache.pop(next(iter(self._cache)))
        self._cache[code_id] = entry
        return entry

    def _serve(self, cached: _CachedCode, now: datetime, in_wechat: bool) -> ScanResult | None:
        """The page for this scan, counted; None when the code has to fall back."""
        code = cached.code
        if code is None:
            return ScanResult("not_found", landing_page.not_found_page())
        if code.status == ARCHIVED:
            return ScanResult("ended", landing_page.ended_page(code.title))
        for target in candidate_targets(code, cached.scans, now):
            count = self.table.count_scan(code.id, target.id, code.switch_threshold)
            if count is None:  # filled up by other scanners since we last looked
                cached.scans[target.id] = code.switch_threshold
                continue
            cached.scans[target.id] = count
            cached.last_served = target
            if count == code.switch_threshold:
                self._wake_rotation(code.id, now)
            return ScanResult("target", _target_page(code, target, in_wechat), target.id, counted=True)
        return None

    def _wake_rotation(self, code_id: str, now: datetime) -> None:
        """This scan filled a group: let the rotation job look at the code's runway now
        (one extra write per threshold's worth of scans)."""
        try:
            self.table.mark_due(code_id, now)
        except StorageError as error:
            logger.warning("could not mark %s due for the rotation job (%s)", code_id, error)

    def _fallback(self, code: LiveCode, in_wechat: bool) -> ScanResult:
        try:
            self.table.count_fallback(code.id)
        except StorageError as error:
            logger.warning("could not count a fallback scan of %s (%s)", code.id, error)
        return ScanResult("fallback", _fallback_page(code, in_wechat))

    def _uncounted(self, cached: _CachedCode | None, now: datetime, in_wechat: bool) -> ScanResult:
        """A page that writes nothing: for bots, and the last known good one when storage fails."""
        if cached is None:
            return ScanResult("busy", landing_page.busy_page())
        code = cached.code
        if code is None:
            return ScanResult("not_found", landing_page.not_found_page())
        if code.status == ARCHIVED:
            return ScanResult("ended", landing_page.ended_page(code.title))
        target = cached.last_served
        if target is None or not is_usable(target, now) or cached.scans.get(target.id, 0) >= code.switch_threshold:
            target = pick_target(code, cached.scans, now)
        if target is None:
            return ScanResult("fallback", _fallback_page(code, in_wechat))
        return ScanResult("target", _target_page(code, target, in_wechat), target.id, counted=False)


def _throttled(error: Exception) -> bool:
    code = (getattr(error, "response", None) or {}).get("Error", {}).get("Code", "")
    return code in ("ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded")


def _target_page(code: LiveCode, target: Target, in_wechat: bool) -> dict:
    return landing_page.target_page(code.title, code.guidance, target.qr_png, in_wechat)


def _fallback_page(code: LiveCode, in_wechat: bool) -> dict:
    backup = code.backup_qr.qr_png if code.backup_qr else None
    return landing_page.fallback_page(code.title, code.fallback_text, backup, in_wechat)
