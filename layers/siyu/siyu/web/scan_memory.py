"""What a scanner's browser remembers of one live code, in a signed first-party cookie of its own,
so a returning scanner costs no read and no write: who they were given per pool (stickiness),
and the statistic dimensions they counted in, ever and on their last day (so unique-visitor and
new-visitor counts stay exact without a visitor record).

One cookie per code, ``siyu_m_<code_id>``, next to ``siyu_vid`` (which keeps carrying the visitor
id). Its value is a signed link token (``siyu.web.signed_links``: HMAC-SHA256 with the stack's
key) over the visitor id, the code id and the memory, with an expiry. A cookie that is forged,
expired, malformed, another visitor's or another code's reads as no memory: the scanner is a
first-time scanner again (exactly what clearing cookies does). Pure: the key comes from the caller.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from siyu.web.signed_links import LinkRefused, sign, verify

MEMORY_COOKIE_PREFIX = "siyu_m_"
MEMORY_DAYS = 400  # as long as siyu_vid
MAX_COOKIE_VALUE = 3800  # browsers keep cookies up to 4,096 bytes (name and attributes included)


@dataclass(frozen=True)
class CodeMemory:
    """One browser and one code: `day` (the code's local day) whose dimensions `today` holds,
    every dimension counted in `ever`, and per pool key (target id, when assigned)."""

    day: str = ""
    today: frozenset[str] = frozenset()
    ever: frozenset[str] = frozenset()
    assignments: Mapping[str, tuple[str, datetime]] = field(default_factory=dict)

    @classmethod
    def of_record(
        cls, seen: Mapping[str, frozenset[str]], dims: frozenset[str], assignments: Mapping[str, tuple[str, datetime]]
    ) -> CodeMemory:
        """What a server-side visitor record (scanners from before memory cookies) remembers, as a memory."""
        day = max(seen, default="")
        return cls(day, seen.get(day, frozenset()), dims, dict(assignments))

    def new_in(self, dims: Collection[str], day: str) -> tuple[frozenset[str], frozenset[str]]:
        """The dimensions this visit is the scanner's first in: today, and ever."""
        seen_today = self.today if day == self.day else frozenset()
        return frozenset(dims) - seen_today, frozenset(dims) - self.ever

    def after(self, dims: Collection[str], day: str, assignment: tuple[str, str, datetime] | None) -> CodeMemory:
        """The memory once this visit (counted in `dims` on `day`; given (pool, target, when)) happened."""
        today = (self.today if day == self.day else frozenset()) | frozenset(dims)
        assignments = dict(self.assignments)
        if assignment is not None:
            pool, target_id, when = assignment
            assignments[pool] = (target_id, when)
        return CodeMemory(day, today, self.ever | frozenset(dims), assignments)

    def merged(self, other: CodeMemory) -> CodeMemory:
        """Both memories at once (a cookie and a server-side record of the same scanner)."""
        if self.day == other.day:
            day, today = self.day, self.today | other.today
        else:
            day, today = max((self.day, self.today), (other.day, other.today), key=lambda d: d[0])
        assignments = dict(self.assignments)
        for pool, (target_id, when) in other.assignments.items():
            if pool not in assignments or assignments[pool][1] < when:
                assignments[pool] = (target_id, when)
        return CodeMemory(day, today, self.ever | other.ever, assignments)


def cookie_name(code_id: str) -> str:
    return MEMORY_COOKIE_PREFIX + code_id


def encode(memory: CodeMemory, visitor_id: str, code_id: str, key: bytes, now: datetime) -> str | None:
    """The cookie value; None when it would not fit in a cookie (then nothing is set)."""
    ever = sorted(memory.ever)
    payload: dict[str, Any] = {
        "v": visitor_id,
        "c": code_id,
        "d": memory.day,
        "e": ever,
        "t": [i for i, dim in enumerate(ever) if dim in memory.today],  # today is part of ever
        "a": {pool: [t, int(when.timestamp())] for pool, (t, when) in sorted(memory.assignments.items())},
    }
    value = sign(payload, now + timedelta(days=MEMORY_DAYS), key)
    return value if len(value) <= MAX_COOKIE_VALUE else None


def decode(value: str | None, visitor_id: str | None, code_id: str, key: bytes, now: datetime) -> CodeMemory | None:
    """The memory in a genuine, unexpired cookie of this visitor and code; None otherwise."""
    if not value or not visitor_id:
        return None
    try:
        payload = verify(value, key, now)
    except LinkRefused:
        return None
    try:
        if payload.get("v") != visitor_id or payload.get("c") != code_id:
            return None
        ever = [str(d) for d in payload["e"]]
        today = frozenset(ever[i] for i in payload["t"])
        assignments = {
            str(pool): (str(t), datetime.fromtimestamp(int(when), UTC)) for pool, (t, when) in payload["a"].items()
        }
        return CodeMemory(str(payload["d"]), today, frozenset(ever), assignments)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError):
        return None  # signed by us but not in this shape: treated as no memory


def memory_cookie(name: str, value: str, secure: bool = True) -> str:
    attributes = f"Max-Age={MEMORY_DAYS * 86400}; Path=/; HttpOnly; SameSite=Lax"
    return f"{name}={value}; {attributes}" + ("; Secure" if secure else "")
