"""Segments kept up to date incrementally: no table scan per evaluation.

- When a visitor's profile changes (an answer, a tracked click that brings scan facts, an erasure),
  ``Segments.change`` evaluates every segment's rule on that one profile (the pure
  ``rules.matches``) and writes the difference: member items added or removed and the counts moved,
  in the same transaction as the profile (``ProfilesTable.save``).
- When a segment is created, ``backfill`` makes one paged pass over the profile index (ListIndex,
  PROFILES) to add the profiles that already match: once per segment, never per evaluation. It runs
  for a time budget and says where it stopped (a cursor): the admin request does the first part, the
  layering queue (``LayeringJobFunction``) the rest, one budget per message.
- Rules with ``added_within_days`` / ``joined_within_days`` change by time alone: the daily job
  (``recheck``) re-evaluates only those segments' members, and recounts every segment from its
  member items (what TTL dropped).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from siyu.core.clock import utcnow
from siyu.core.errors import Conflict, StaleVersion
from siyu.layering.model import Profile, Segment
from siyu.layering.ports import ContactTagger, ProfileStore
from siyu.layering.rules import matches

logger = logging.getLogger("siyu.layering")

ATTEMPTS = 5


@dataclass
class Segments:
    profiles: ProfileStore
    clock: Callable[[], datetime] = utcnow
    monotonic: Callable[[], float] = time.monotonic
    # WeCom: a member who is a known contact carries the segment's corp tag (None: not connected)
    tagger: Callable[[], ContactTagger | None] = lambda: None

    def change(self, visitor_id: str, edit: Callable[[Profile], Profile]) -> Profile:
        """Apply `edit` to the visitor's profile (a new one if none) and keep memberships right;
        the profile as saved. Retried from a fresh read when someone else saved in between."""
        saved = self._change(visitor_id, edit, create=True)
        assert saved is not None
        return saved

    def reevaluate(self, visitor_id: str) -> Profile | None:
        """Evaluate the segments again on an existing profile (None when it is gone)."""
        return self._change(visitor_id, lambda p: p, create=False)

    def _change(self, visitor_id: str, edit: Callable[[Profile], Profile], create: bool) -> Profile | None:
        for _ in range(ATTEMPTS):
            now = self.clock()
            current = self.profiles.profile(visitor_id)
            if current is None and not create:
                return None
            edited = edit(current or Profile(visitor_id=visitor_id))
            try:
                return self._save(edited, now)
            except StaleVersion:
                continue
        raise Conflict(f"the profile of visitor {visitor_id} kept changing; try again")

    def _save(self, profile: Profile, now: datetime, known: dict[str, Segment] | None = None) -> Profile:
        segments = known if known is not None else {segment.id: segment for segment in self.profiles.segments()}
        now_in = frozenset(sid for sid, segment in segments.items() if matches(segment.rule, profile, now))
        was_in = profile.segments & segments.keys()  # a deleted segment is dropped without a write
        saved = replace(profile, segments=now_in, updated_at=now)
        joined, left = sorted(now_in - was_in), sorted(was_in - now_in)
        self.profiles.save(saved, now, joined=joined, left=left)
        if profile.contact is not None and (joined or left):
            self._tag_contact(profile, [segments[s].wecom_tag for s in joined], [segments[s].wecom_tag for s in left])
        return replace(saved, version=profile.version + 1)

    def _tag_contact(self, profile: Profile, add: list[str], remove: list[str]) -> None:
        """The segments' corp tags on the WeCom contact (best effort: the membership is kept)."""
        try:
            tagger = self.tagger()
            if tagger is not None and profile.contact is not None:
                tagger.mark(profile.contact.user_id, profile.contact.external_user_id, add, remove)
        except Exception as error:
            logger.warning("the contact's segment tags were not updated in WeCom (%s)", type(error).__name__)

    def backfill(
        self, segment_id: str, cursor: str | None = None, budget: float = 25.0, page_size: int = 100
    ) -> tuple[int, str | None]:
        """Add the existing profiles that match the new segment, from `cursor` on, for about `budget`
        seconds: (how many joined, where to go on; None when the pass is done and the segment is
        marked backfilled). A profile is saved from the page as read (its version the condition);
        one that changed since is read again."""
        segment = self.profiles.segment(segment_id)
        if segment is None or segment.backfilled:
            return 0, None
        joined, started = 0, self.monotonic()
        while True:
            page, cursor = self.profiles.profiles_page(cursor, page_size)
            segments = {s.id: s for s in self.profiles.segments()}
            for profile in page:
                if segment_id in profile.segments or not matches(segment.rule, profile, self.clock()):
                    continue
                try:
                    saved: Profile | None = self._save(profile, self.clock(), segments)
                except StaleVersion:
                    saved = self.reevaluate(profile.visitor_id)
                joined += saved is not None and segment_id in saved.segments
            if cursor is None:
                self.profiles.mark_backfilled(segment_id)
                return joined, None
            if self.monotonic() - started >= budget:
                return joined, cursor

    def recheck(self) -> dict[str, int]:
        """The daily pass: members of time-bound segments re-evaluated (those past the window
        leave), every count set to its member items. Per segment: its own members, no table scan."""
        counts: dict[str, int] = {}
        for segment in self.profiles.segments():
            if segment.rule.time_bound:
                cursor = None
                while True:
                    members, cursor = self.profiles.members(segment.id, 200, cursor)
                    for visitor_id in members:
                        self.reevaluate(visitor_id)
                    if cursor is None:
                        break
            counts[segment.id] = self.profiles.recount(segment.id)
        return counts
