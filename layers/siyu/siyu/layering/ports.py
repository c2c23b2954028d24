"""What customer layering needs from storage and from WeCom, as Protocols: the repositories in
this package implement the stores (``tests/fakes/layering.py`` has in-memory fakes with the same
conditions), and the wecom package implements ``ContactTagger`` (``wecom/contact_tagger.py``)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Protocol

from siyu.layering.model import Profile, Questionnaire, Response, Segment
from siyu.statistics.visitors_repository import VisitorRecord


class QuestionnaireStore(Protocol):
    def create(self, questionnaire: Questionnaire) -> None: ...

    def get(self, questionnaire_id: str) -> Questionnaire | None: ...

    def page(self, limit: int, cursor: str | None) -> tuple[list[Questionnaire], str | None]: ...

    def response(self, questionnaire_id: str, visitor_id: str) -> Response | None: ...

    def save_response(
        self, response: Response, replaces: Response | None, counts: Mapping[str, int], now: datetime
    ) -> None: ...

    def erase_response(self, response: Response, counts: Mapping[str, int]) -> None: ...

    def counts(self, questionnaire_id: str) -> dict[str, int]: ...

    def responses(self, questionnaire_id: str) -> Iterator[Response]: ...


class ProfileStore(Protocol):
    def profile(self, visitor_id: str) -> Profile | None: ...

    def segments_of(self, visitor_id: str) -> frozenset[str]: ...

    def save(
        self, profile: Profile, now: datetime, joined: Collection[str] = (), left: Collection[str] = ()
    ) -> None: ...

    def profiles_page(self, cursor: str | None, limit: int = 100) -> tuple[list[Profile], str | None]: ...

    def erase(self, visitor_id: str, now: datetime) -> Profile | None: ...

    def create_segment(self, segment: Segment) -> None: ...

    def segment(self, segment_id: str) -> Segment | None: ...

    def segments(self) -> list[Segment]: ...

    def mark_backfilled(self, segment_id: str) -> None: ...

    def members(self, segment_id: str, limit: int, cursor: str | None) -> tuple[list[str], str | None]: ...

    def recount(self, segment_id: str) -> int: ...

    def register_tags(self, tags: Iterable[str], source: str) -> None: ...

    def tag_library(self) -> dict[str, frozenset[str]]: ...


class ScanFacts(Protocol):
    """What the scan path remembered of a visitor: the codes scanned and the options picked
    (``statistics.visitors_repository.VisitorsTable``)."""

    def of_visitor(self, visitor_id: str) -> list[VisitorRecord]: ...


class ContactFacts(Protocol):
    """When a WeCom contact added a guide, and whether they deleted every guide since."""

    def added(self, external_user_id: str) -> tuple[datetime | None, datetime | None]: ...


class ContactTagger(Protocol):
    """Put tags on a WeCom contact (corp tags made as needed): ``externalcontact/mark_tag``.
    Raises on failure; the caller logs it and keeps the answer."""

    def mark(
        self, user_id: str, external_user_id: str, tags: Collection[str], remove: Collection[str] = ()
    ) -> None: ...

    def corp_tags(self) -> list[str]: ...
