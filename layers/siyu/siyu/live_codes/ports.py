"""What the live-code services need from storage, as interfaces (``typing.Protocol``).

``CodesTable`` (``repository``) is the DynamoDB implementation of ``CodeStore``;
``UploadsBucket`` (``siyu.storage.uploads_bucket``) of ``ImageStore``; the statistics
repositories of ``VisitorStore`` and ``StatsStore``. Tests run the services on in-memory fakes
of the same interfaces (``tests/fakes/live_codes.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from siyu.live_codes.assignment import Counters, ShardCount
from siyu.live_codes.counters_repository import ScanCount
from siyu.live_codes.model import LiveCode
from siyu.statistics.visitors_repository import NewInVisit, VisitEntry, VisitorRecord


class CodeStore(Protocol):
    """Live codes: the config record (one per code, versioned) and its scan counters."""

    def load(self, code_id: str, consistent: bool = False) -> tuple[LiveCode | None, Counters]:
        """The code (None if there is none) and its counters."""
        ...

    def list_codes(self, status: str | None, limit: int, cursor: str | None) -> tuple[list[LiveCode], str | None]:
        """A page of codes, newest first, and the cursor of the next page."""
        ...

    def create(self, code: LiveCode) -> None:
        """Store a new code (its id must be new)."""
        ...

    def save(self, code: LiveCode, now: datetime) -> LiveCode:
        """Save `code` read at `code.version`; StaleVersion if someone saved it since."""
        ...

    def save_without_target(self, code: LiveCode, target_id: str, now: datetime) -> LiveCode:
        """Like ``save``, and drop the counters of `target_id` (gone from `code`) in the same write."""
        ...

    def mark_due(self, code_id: str, now: datetime) -> None:
        """Ask the rotation job to look at the code on its next run."""
        ...

    def count_scan(self, scan: ScanCount) -> ShardCount | None:
        """Count one scan on a counter shard under its quotas; None when it was full."""
        ...

    def count_fallback(self, code_id: str, shard: int) -> None:
        """Count one scan that found no target."""
        ...


class ImageStore(Protocol):
    """The uploaded originals (versioned: a delete keeps the old version for a while)."""

    def put(self, key: str, body: bytes, content_type: str) -> str | None:
        """Store `body`; its version id (to take exactly this upload back)."""
        ...

    def delete(self, key: str, version_id: str | None = None) -> None: ...

    def download_url(self, key: str, seconds: int = 300) -> str: ...


class VisitorStore(Protocol):
    """What each scanner did with each code."""

    def get(self, visitor_id: str, code_id: str) -> VisitorRecord | None: ...

    def record_visit(self, visit: VisitEntry) -> NewInVisit:
        """Record one visit; which dimensions it was the scanner's first in."""
        ...


class ClientCountStore(Protocol):
    """Hourly counts of one client's counted visits to one code (the per-client limit)."""

    def add_client_visits(self, code_id: str, address: str, hour: str, count: int, limit: int, now: datetime) -> bool:
        """Add `count` visits unless that would take the hour's total past `limit` (then nothing is added)."""
        ...


class StatsStore(Protocol):
    """Daily scan statistics."""

    def add(self, code_id: str, day: str, increments: Mapping[str, int], shard: int | None = None) -> None: ...


@dataclass(frozen=True)
class WayOwner:
    """What a WeCom way brings customers to: a code's target, through one channel (None: direct)."""

    code_id: str
    target_id: str
    channel_id: str | None


@dataclass(frozen=True)
class MadeWay:
    """A contact way (联系我) or join way (加入群聊) that WeCom made."""

    config_id: str
    state: str  # what WeCom hands back in the add/join callback (at most 30 characters)
    qr_url: str  # the QR's content, a WeCom URL
    qr_image: bytes  # the QR image WeCom serves for it, fetched once


class WayMaker(Protocol):
    """WeCom's contact ways and join ways behind targets (``siyu.wecom.ways`` talks to WeCom).

    Ways are made when a target or channel is created, never on the scan path. Each remembers
    its owner under its state, so a callback's ``State`` finds its code and channel."""

    def contact_way(self, owner: WayOwner, user_id: str, skip_verify: bool) -> MadeWay:
        """A 联系我 scene-QR way for one member (``add_contact_way``, scene 2)."""
        ...

    def join_way(self, owner: WayOwner, chat_ids: Sequence[str], room_base_name: str, auto_create: bool) -> MadeWay:
        """A 加入群聊 way over at most 5 customer groups (``groupchat/add_join_way``, scene 2)."""
        ...

    def delete_contact_way(self, config_id: str) -> None:
        """Remove a contact way; one that is already gone is not an error."""
        ...

    def delete_join_way(self, config_id: str) -> None:
        """Remove a join way; one that is already gone is not an error."""
        ...
