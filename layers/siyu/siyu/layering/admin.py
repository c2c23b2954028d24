"""The operator's use cases of customer layering: questionnaires (build, counts, CSV, erase a
respondent), segments (create with a one-time backfill, count, members, CSV), the tag library, a
visitor's tags, and contact links for welcome messages."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from siyu.core.clock import to_iso, utcnow
from siyu.core.errors import InvalidInput, NotFound
from siyu.core.ids import new_id
from siyu.layering.answers import contact_token, source_of_questionnaire
from siyu.layering.model import (
    MULTI,
    PHONE,
    SINGLE,
    SOURCE_CHANNEL,
    SOURCE_CODE,
    SOURCE_PICK,
    SOURCE_WECOM,
    Profile,
    Question,
    Questionnaire,
    Rule,
    Segment,
)
from siyu.layering.ports import ContactTagger, ProfileStore, QuestionnaireStore, ScanFacts
from siyu.layering.rules import answer_counts, matches, rule_problems, valid_tag
from siyu.layering.segments import Segments
from siyu.live_codes.model import LiveCode
from siyu.statistics.visitors_repository import VisitorRecord

MAX_QUESTIONS = 30
PREVIEW_LIMIT = 20_000
REQUEST_BUDGET = 5.0  # seconds of a new segment's backfill done in the admin request
REQUEST_PAGE = 25  # profiles per page there: the budget is looked at after each page
MAX_OPTIONS = 30


@dataclass(frozen=True)
class VisitorTags:
    visitor_id: str
    tags: dict[str, str]  # tag -> source
    profile: Profile | None
    codes: list[VisitorRecord]  # from the scan ledger


class Backfills(Protocol):
    def backfill_later(self, segment_id: str, cursor: str) -> None: ...


class CodeList(Protocol):
    def list_codes(self, status: str | None, limit: int, cursor: str | None) -> tuple[list[LiveCode], str | None]: ...


def code_tags(codes: CodeList) -> dict[str, set[str]]:
    """Every tag the live codes give, with its sources: the code's, a channel's, a grouped option's."""
    found: dict[str, set[str]] = {}
    cursor: str | None = None
    while True:
        page, cursor = codes.list_codes(None, 100, cursor)
        for code in page:
            for tag in code.tags:
                found.setdefault(tag, set()).add(f"{SOURCE_CODE}:{code.id}")
            for channel in code.channels:
                for tag in channel.tags:
                    found.setdefault(tag, set()).add(f"{SOURCE_CHANNEL}:{channel.id}")
            for option in code.options:
                if not option.segment_id:
                    found.setdefault(option.tag, set()).add(f"{SOURCE_PICK}:{code.id}")
        if cursor is None:
            return found


@dataclass
class LayeringAdmin:
    questionnaires: QuestionnaireStore
    profiles: ProfileStore
    segments: Segments
    signing_key: Callable[[], bytes]
    scans: ScanFacts | None = None
    tagger: Callable[[], ContactTagger | None] = lambda: None
    codes: CodeList | None = None  # the live codes, whose code, channel and option tags the library lists
    backfills: Backfills | None = None  # a new segment's backfill beyond the request's budget (None: all now)
    clock: Callable[[], datetime] = utcnow

    # -- questionnaires --------------------------------------------------------------------

    def create_questionnaire(
        self,
        title: str,
        questions: Sequence[Question],
        intro: str | None = None,
        thanks: str | None = None,
        thanks_link: str | None = None,
        signup: bool = False,
    ) -> Questionnaire:
        _check_questions(questions)
        questionnaire = Questionnaire(
            id=new_id(),
            title=title,
            questions=tuple(questions),
            created_at=self.clock(),
            intro=intro,
            thanks=thanks or Questionnaire.thanks,
            thanks_link=thanks_link,
            signup=signup,
        )
        self.questionnaires.create(questionnaire)
        tags = {o.tag for q in questions for o in q.options if o.tag}
        self.profiles.register_tags(tags, source_of_questionnaire(questionnaire.id))
        return questionnaire

    def questionnaire(self, questionnaire_id: str) -> tuple[Questionnaire, dict[str, int]]:
        questionnaire = self.questionnaires.get(questionnaire_id)
        if questionnaire is None:
            raise NotFound(f"no questionnaire {questionnaire_id[:40]!r}")
        return questionnaire, self.questionnaires.counts(questionnaire_id)

    def questionnaire_page(self, limit: int, cursor: str | None) -> tuple[list[Questionnaire], str | None]:
        return self.questionnaires.page(limit, cursor)

    def responses_csv(self, questionnaire_id: str) -> Iterator[str]:
        """The responses as CSV lines (a header, then one line per respondent)."""
        questionnaire, _ = self.questionnaire(questionnaire_id)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["visitor_id", "answered_at", "tags", "phone", *(q.text for q in questionnaire.questions)])
        yield _take(buffer)
        for response in self.questionnaires.responses(questionnaire_id):
            cells = [""] * len(questionnaire.questions)
            for answer in response.answers:
                cells[answer.question] = " | ".join(answer.labels) if answer.labels else (answer.text or "")
            row = [response.visitor_id, to_iso(response.answered_at), " ".join(sorted(response.tags)), response.phone]
            writer.writerow([_cell(str(c or "")) for c in [*row, *cells]])
            yield _take(buffer)

    def erase_respondent(self, questionnaire_id: str, visitor_id: str) -> bool:
        """Delete the visitor's response (answers, phone), take its counts back and remove its tags
        from the profile; False when there was none."""
        questionnaire, _ = self.questionnaire(questionnaire_id)
        response = self.questionnaires.response(questionnaire_id, visitor_id)
        if response is None:
            return False
        counts = answer_counts(questionnaire, response.answers)
        counts["responses"] = 1
        self.questionnaires.erase_response(response, counts)
        source = source_of_questionnaire(questionnaire_id)
        if self.profiles.profile(visitor_id) is not None:
            self.segments.change(
                visitor_id,
                lambda p: _without(p, source, questionnaire_id),
            )
        return True

    def contact_link(self, questionnaire_id: str, base_url: str, external_user_id: str, user_id: str, days: int) -> str:
        """The questionnaire's URL for one WeCom contact (a welcome message's link): answers then
        tag the contact in WeCom too. Signed; expires after `days`."""
        self.questionnaire(questionnaire_id)
        expires = self.clock() + timedelta(days=days)
        token = contact_token(external_user_id, user_id, self.signing_key(), expires)
        return f"{base_url}/q/{questionnaire_id}?c={token}"

    # -- segments --------------------------------------------------------------------------

    def create_segment(self, name: str, rule: Rule) -> Segment:
        problems = rule_problems(rule)
        if problems:
            raise InvalidInput("rule: " + "; ".join(problems))
        segment = Segment(id=new_id(), name=name, rule=rule, created_at=self.clock())
        self.profiles.create_segment(segment)
        budget = REQUEST_BUDGET if self.backfills is not None else float("inf")
        _, cursor = self.segments.backfill(segment.id, budget=budget, page_size=REQUEST_PAGE)
        if cursor is not None and self.backfills is not None:  # the rest in the layering job
            self.backfills.backfill_later(segment.id, cursor)
        return self.segment(segment.id)

    def preview(self, rule: Rule, limit: int = PREVIEW_LIMIT) -> tuple[int, int, bool]:
        """How many visitors a rule would hold now, before it is a segment: (matching, looked at,
        whether every profile was looked at). A one-off paged pass an operator asks for, at most
        `limit` profiles; a segment, once made, is kept incrementally."""
        problems = rule_problems(rule)
        if problems:
            raise InvalidInput("rule: " + "; ".join(problems))
        matching = seen = 0
        cursor: str | None = None
        now = self.clock()
        while seen < limit:
            page, cursor = self.profiles.profiles_page(cursor, min(100, limit - seen))
            seen += len(page)
            matching += sum(matches(rule, profile, now) for profile in page)
            if cursor is None:
                return matching, seen, True
        return matching, seen, False

    def segment(self, segment_id: str) -> Segment:
        segment = self.profiles.segment(segment_id)
        if segment is None:
            raise NotFound(f"no segment {segment_id[:40]!r}")
        return segment

    def all_segments(self) -> list[Segment]:
        return self.profiles.segments()

    def members(self, segment_id: str, limit: int, cursor: str | None) -> tuple[list[Profile], str | None]:
        self.segment(segment_id)
        ids, next_cursor = self.profiles.members(segment_id, limit, cursor)
        found = [self.profiles.profile(i) for i in ids]
        return [p for p in found if p is not None], next_cursor

    def members_csv(self, segment_id: str) -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["visitor_id", "external_userid", "tags", "updated_at"])
        yield _take(buffer)
        cursor: str | None = None
        while True:
            page, cursor = self.members(segment_id, 200, cursor)
            for p in page:
                external = p.contact.external_user_id if p.contact else ""
                updated = to_iso(p.updated_at) if p.updated_at else ""
                writer.writerow([p.visitor_id, _cell(external), _cell(" ".join(sorted(p.tags))), updated])
                yield _take(buffer)
            if cursor is None:
                return

    # -- tags ------------------------------------------------------------------------------

    def tag_library(self) -> dict[str, frozenset[str]]:
        """Every tag with its sources: grouped picks, codes, channels, questionnaires, and the
        corp's WeCom tags when WeCom is connected."""
        library = dict(self.profiles.tag_library())
        for name, sources in (code_tags(self.codes) if self.codes is not None else {}).items():
            library[name] = library.get(name, frozenset()) | sources
        tagger = self.tagger()
        if tagger is not None:
            for name in tagger.corp_tags():
                library[name] = library.get(name, frozenset()) | {SOURCE_WECOM}
        return library

    def visitor(self, visitor_id: str) -> VisitorTags:
        profile = self.profiles.profile(visitor_id)
        codes = self.scans.of_visitor(visitor_id) if self.scans is not None else []
        if profile is None and not codes:
            raise NotFound(f"no visitor {visitor_id[:40]!r}: the id is the siyu_vid cookie of a scanner or respondent")
        tags = dict(profile.tags) if profile else {}
        for record in codes:
            for tag in sorted(record.tags):
                tags.setdefault(tag, f"{SOURCE_PICK}:{record.code_id}")
        return VisitorTags(visitor_id, tags, profile, codes)

    def erase_visitor(self, visitor_id: str) -> bool:
        """Erase what layering keeps of a visitor: every response (answers, phone; found through the
        profile's questionnaires), then the profile, its tags and memberships. False: nothing kept."""
        profile = self.profiles.profile(visitor_id)
        if profile is None:
            return False
        for questionnaire_id in sorted(profile.questionnaires):
            if self.questionnaires.get(questionnaire_id) is not None:
                self.erase_respondent(questionnaire_id, visitor_id)
        return self.profiles.erase(visitor_id, self.clock()) is not None


def _without(profile: Profile, source: str, questionnaire_id: str) -> Profile:
    tags = {tag: src for tag, src in profile.tags.items() if src != source}
    return replace(profile, tags=tags, questionnaires=profile.questionnaires - {questionnaire_id})


def _check_questions(questions: Sequence[Question]) -> None:
    if not questions or len(questions) > MAX_QUESTIONS:
        raise InvalidInput(f"questions: give 1 to {MAX_QUESTIONS} questions")
    for index, question in enumerate(questions):
        where = f"questions.{index}"
        if question.kind in (SINGLE, MULTI):
            if not question.options or len(question.options) > MAX_OPTIONS:
                raise InvalidInput(f"{where}.options: a {question.kind} question needs 1 to {MAX_OPTIONS} options")
            labels = [o.label for o in question.options]
            if len(set(labels)) != len(labels):
                raise InvalidInput(f"{where}.options: two options have the same label")
            for o in question.options:
                if o.tag is not None and not valid_tag(o.tag):
                    raise InvalidInput(f"{where}.options: tag {o.tag[:40]!r} must be 1-30 characters, no spaces")
        elif question.options:
            raise InvalidInput(f"{where}.options: a {question.kind} question has no options")
        if question.kind == PHONE and sum(q.kind == PHONE for q in questions) > 1:
            raise InvalidInput(f"{where}: a questionnaire asks for one phone number at most")


def _take(buffer: io.StringIO) -> str:
    value = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return value


def _cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
