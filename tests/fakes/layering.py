"""In-memory layering storage (``siyu.layering.ports``) with the repositories' conditions: a
profile saved over a newer version raises StaleVersion, a member item is made or removed once
(the whole save refused otherwise, like the transaction), a response replaces only the one read."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from siyu.core.errors import StaleVersion
from siyu.layering.model import Profile, Questionnaire, Response, Segment


@dataclass
class FakeQuestionnaires:
    items: dict[str, Questionnaire] = field(default_factory=dict)
    stored: dict[tuple[str, str], Response] = field(default_factory=dict)
    totals: dict[str, dict[str, int]] = field(default_factory=dict)

    def create(self, questionnaire: Questionnaire) -> None:
        assert questionnaire.id not in self.items
        self.items[questionnaire.id] = questionnaire

    def get(self, questionnaire_id: str) -> Questionnaire | None:
        return self.items.get(questionnaire_id)

    def page(self, limit: int, cursor: str | None) -> tuple[list[Questionnaire], str | None]:
        return sorted(self.items.values(), key=lambda q: q.created_at, reverse=True)[:limit], None

    def response(self, questionnaire_id: str, visitor_id: str) -> Response | None:
        return self.stored.get((questionnaire_id, visitor_id))

    def save_response(
        self, response: Response, replaces: Response | None, counts: Mapping[str, int], now: datetime
    ) -> None:
        key = (response.questionnaire_id, response.visitor_id)
        current = self.stored.get(key)
        if (current is None) != (replaces is None) or (
            current is not None and replaces is not None and current.answered_at != replaces.answered_at
        ):
            raise StaleVersion(str(key))
        self.stored[key] = response
        totals = self.totals.setdefault(response.questionnaire_id, {})
        for name, value in counts.items():
            totals[name] = totals.get(name, 0) + value

    def erase_response(self, response: Response, counts: Mapping[str, int]) -> None:
        self.stored.pop((response.questionnaire_id, response.visitor_id), None)
        totals = self.totals.setdefault(response.questionnaire_id, {})
        for name, value in counts.items():
            totals[name] = totals.get(name, 0) - value

    def counts(self, questionnaire_id: str) -> dict[str, int]:
        return dict(self.totals.get(questionnaire_id, {}))

    def responses(self, questionnaire_id: str) -> Iterator[Response]:
        return iter([r for (q, _), r in sorted(self.stored.items()) if q == questionnaire_id])


@dataclass
class FakeProfiles:
    stored: dict[str, Profile] = field(default_factory=dict)
    segment_items: dict[str, Segment] = field(default_factory=dict)
    member_items: dict[str, set[str]] = field(default_factory=dict)
    library: dict[str, set[str]] = field(default_factory=dict)
    page_size_seen: list[int] = field(default_factory=list)
    profile_reads: int = 0

    def profile(self, visitor_id: str) -> Profile | None:
        self.profile_reads += 1
        return self.stored.get(visitor_id)

    def segments_of(self, visitor_id: str) -> frozenset[str]:
        found = self.stored.get(visitor_id)
        return found.segments if found else frozenset()

    def save(self, profile: Profile, now: datetime, joined: Collection[str] = (), left: Collection[str] = ()) -> None:
        current = self.stored.get(profile.visitor_id)
        if (current.version if current else 0) != profile.version:
            raise StaleVersion(profile.visitor_id)
        for segment_id in joined:
            if segment_id not in self.segment_items or profile.visitor_id in self.member_items.get(segment_id, set()):
                raise StaleVersion(f"member {segment_id}")
        for segment_id in left:
            if profile.visitor_id not in self.member_items.get(segment_id, set()):
                raise StaleVersion(f"member {segment_id}")
        self.stored[profile.visitor_id] = replace(profile, version=profile.version + 1, updated_at=now)
        for segment_id in joined:
            self.member_items.setdefault(segment_id, set()).add(profile.visitor_id)
            self._add(segment_id, 1)
        for segment_id in left:
            self.member_items[segment_id].discard(profile.visitor_id)
            self._add(segment_id, -1)

    def _add(self, segment_id: str, change: int) -> None:
        segment = self.segment_items[segment_id]
        self.segment_items[segment_id] = replace(segment, count=segment.count + change)

    def profiles_page(self, cursor: str | None, limit: int = 100) -> tuple[list[Profile], str | None]:
        self.page_size_seen.append(limit)
        ordered = sorted(self.stored)
        start = int(cursor or 0)
        page = [self.stored[v] for v in ordered[start : start + limit]]
        return page, str(start + limit) if start + limit < len(ordered) else None

    def erase(self, visitor_id: str, now: datetime) -> Profile | None:
        profile = self.stored.pop(visitor_id, None)
        if profile is not None:
            for segment_id in profile.segments:
                if visitor_id in self.member_items.get(segment_id, set()):
                    self.member_items[segment_id].discard(visitor_id)
                    self._add(segment_id, -1)
        return profile

    def create_segment(self, segment: Segment) -> None:
        assert segment.id not in self.segment_items
        self.segment_items[segment.id] = segment

    def segment(self, segment_id: str) -> Segment | None:
        return self.segment_items.get(segment_id)

    def segments(self) -> list[Segment]:
        return list(self.segment_items.values())

    def mark_backfilled(self, segment_id: str) -> None:
        self.segment_items[segment_id] = replace(self.segment_items[segment_id], backfilled=True)

    def members(self, segment_id: str, limit: int, cursor: str | None) -> tuple[list[str], str | None]:
        ordered = sorted(self.member_items.get(segment_id, set()))
        start = int(cursor or 0)
        return ordered[start : start + limit], str(start + limit) if start + limit < len(ordered) else None

    def recount(self, segment_id: str) -> int:
        total = len(self.member_items.get(segment_id, set()))
        self.segment_items[segment_id] = replace(self.segment_items[segment_id], count=total)
        return total

    def register_tags(self, tags: Iterable[str], source: str) -> None:
        for tag in tags:
            self.library.setdefault(tag, set()).add(source)

    def tag_library(self) -> dict[str, frozenset[str]]:
        return {tag: frozenset(sources) for tag, sources in self.library.items()}


@dataclass
class FakeTagger:
    marked: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    fail: bool = False
    corp: list[str] = field(default_factory=list)

    removed: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)

    def mark(self, user_id: str, external_user_id: str, tags: Collection[str], remove: Collection[str] = ()) -> None:
        if self.fail:
            raise RuntimeError("WeCom said no")
        if tags:
            self.marked.append((user_id, external_user_id, tuple(tags)))
        if remove:
            self.removed.append((user_id, external_user_id, tuple(remove)))

    def corp_tags(self) -> list[str]:
        return list(self.corp)
