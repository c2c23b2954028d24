"""Scan statistics added up in the container, written as one ``ADD`` of many counters per code
and day: a busy code's statistics cost a write every few seconds per container, not one per scan.

A flush happens when the oldest buffered scan is `flush_seconds` old or `flush_scans` scans are
buffered: on the scan that finds it due (the start of the next invocation on Lambda), or from a
background thread that looks every second (it runs where the process is never frozen, the local
stack; on Lambda a frozen container flushes on its next invocation).

Loss bound: what is buffered and not yet written is lost when the process dies before its next
flush: at most the scans of the last `flush_seconds` (5 s) before a container's last invocation,
and never more than `flush_scans` (1,000). A write DynamoDB refuses (throttling) is kept and tried
again on the next flush; a write whose outcome is unknown (a timeout) is logged with its counts
and not retried, so a count is never added twice.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:  # interfaces only
    from siyu.live_codes.ports import StatsStore

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 5.0
FLUSH_SCANS = 1000
MAX_COUNTERS_PER_WRITE = 100  # keeps an UpdateExpression far under DynamoDB's 4 KB


class StatsBuffer:
    def __init__(
        self,
        store: StatsStore,
        flush_seconds: float = FLUSH_SECONDS,
        flush_scans: int = FLUSH_SCANS,
        monotonic: Callable[[], float] = time.monotonic,
        background: bool = False,
    ):
        self.store = store
        self.flush_seconds = flush_seconds
        self.flush_scans = flush_scans
        self._monotonic = monotonic
        self._background = background
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], Counter[str]] = {}
        self._scans = 0  # scans (add calls) in the buffer
        self._oldest: float | None = None  # when the oldest buffered scan was added
        self._thread: threading.Thread | None = None
        self.writes = 0  # flush writes made (for the benchmarks)
        self.lost_scans = 0  # scans whose write had an unknown outcome

    def add(self, code_id: str, day: str, increments: Mapping[str, int], shard: int | None = None) -> None:
        """Buffer one scan's increments; flush if that made the buffer due."""
        with self._lock:
            self._pending.setdefault((code_id, day), Counter()).update(increments)
            self._scans += 1
            if self._oldest is None:
                self._oldest = self._monotonic()
        if self._background and self._thread is None:
            self._start()
        self.flush_if_due()

    @property
    def pending_scans(self) -> int:
        return self._scans

    def due(self) -> bool:
        oldest = self._oldest
        if oldest is None:
            return False
        return self._scans >= self.flush_scans or self._monotonic() - oldest >= self.flush_seconds

    def flush_if_due(self) -> int:
        return self.flush() if self.due() else 0

    def flush(self) -> int:
        """Write everything buffered: one UpdateItem per code and day (more only past 100
        counters). Returns the writes made."""
        with self._lock:
            batch, scans = self._pending, self._scans
            self._pending, self._scans, self._oldest = {}, 0, None
        writes = 0
        for (code_id, day), counters in batch.items():
            names = sorted(n for n, v in counters.items() if v)
            for i in range(0, len(names), MAX_COUNTERS_PER_WRITE):
                chunk = {name: counters[name] for name in names[i : i + MAX_COUNTERS_PER_WRITE]}
                try:
                    self.store.add(code_id, day, chunk)
                    writes += 1
                except ClientError as error:  # refused: nothing was added, so keep it for the next flush
                    logger.warning("statistics flush of %s refused (%s); kept for the next one", code_id, error)
                    self._keep(code_id, day, chunk, scans)
                except BotoCoreError as error:  # unknown outcome: never add twice
                    logger.warning("statistics flush of %s %s lost (%s): %s", code_id, day, error, chunk)
                    self.lost_scans += scans
        self.writes += writes
        return writes

    def _keep(self, code_id: str, day: str, counters: Mapping[str, int], scans: int) -> None:
        with self._lock:
            self._pending.setdefault((code_id, day), Counter()).update(counters)
            self._scans += scans
            if self._oldest is None:
                self._oldest = self._monotonic()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="siyu-stats-flusher", daemon=True)
        self._thread.start()
        atexit.register(self.flush)

    def _run(self) -> None:
        tick = min(1.0, self.flush_seconds / 5)
        while True:
            time.sleep(tick)
            try:
                self.flush_if_due()
            except Exception:  # the flusher never dies
                logger.exception("statistics flush failed")
