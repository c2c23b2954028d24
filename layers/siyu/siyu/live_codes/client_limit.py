"""How far one client may move one code's counters: at most `limit` counted visits an hour per
client address (its keyed hash; the address itself is never kept), whatever its headers and
cookies. Beyond that the client still gets the page and the QR, uncounted (as a bot would).

No extra round trip for ordinary scanners: a container counts each (code, address, hour) in
memory and lets the first `grace` visits through on that count alone. Only a client that comes
back more often than that in one container pays a conditional ``ADD`` on a shared hourly counter
(``RATE#SCAN#<code>#<address>#<hour>``), which then holds every visit this container let through
for it. So the limit is exact for a client served by one container, and a client spread over C
containers can get at most `limit` + `grace` x (C - 1) counted visits an hour. A container that
learns a client is over the limit remembers it until the hour ends (no more writes for it).

If the shared counter cannot be written (storage down), the visit is let through: the scan path
never refuses a scanner because of its own fault.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # interfaces only
    from siyu.live_codes.ports import ClientCountStore

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 10
GRACE = 4  # visits a container lets through on its own count: a grouped code's choices and pick, twice
MAX_CLIENTS = 20_000  # (code, address, hour) entries a container remembers: a few MB at most


def hour_of(now: datetime) -> str:
    return now.strftime("%Y%m%d%H")


class _Seen:
    __slots__ = ("local", "reported", "over")

    def __init__(self) -> None:
        self.local = 0  # visits let through by this container
        self.reported = 0  # of which already added to the shared counter
        self.over = False  # the shared counter says the client reached the limit


class ClientLimit:
    def __init__(self, store: ClientCountStore, limit: int = DEFAULT_LIMIT, grace: int = GRACE):
        self.store = store
        self.limit = limit
        self.grace = max(0, min(grace, limit - 1))
        self._seen: OrderedDict[tuple[str, str, str], _Seen] = OrderedDict()
        self._lock = threading.Lock()
        self.shared_writes = 0  # for the benchmarks

    def allows(self, code_id: str, address_hash: str, now: datetime) -> bool:
        """Whether this visit may move the code's counters (and, if so, it is counted against the client)."""
        if self.limit <= 0 or not address_hash:
            return True  # no limit configured, or no address to hold it to
        hour = hour_of(now)
        key = (code_id, address_hash, hour)
        with self._lock:
            seen = self._seen.pop(key, None) or _Seen()
            self._seen[key] = seen  # most recently used last
            while len(self._seen) > MAX_CLIENTS:
                self._seen.popitem(last=False)
            if seen.over:
                return False
            if seen.local < self.grace:
                seen.local += 1
                return True
            unreported = seen.local - seen.reported + 1  # this visit and those let through unreported
        try:
            added = self.store.add_client_visits(code_id, address_hash, hour, unreported, self.limit, now)
        except Exception as error:  # the scanner is never refused for our fault
            logger.warning("could not count client visits to %s (%s); letting the visit through", code_id, error)
            return True
        with self._lock:
            self.shared_writes += 1
            if added:
                seen.local += 1
                seen.reported = seen.local
            else:
                seen.over = True
        return added
