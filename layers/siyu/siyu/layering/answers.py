"""Answering a questionnaire (the public ``/q/{id}`` pages' use case): the form read by the pure
rules, the response stored with its answer counts, the answers' tags put on the visitor's profile
(segments re-evaluated), and, when the link carried a signed contact token, the same tags on the
WeCom contact (``mark_tag``).

A contact token is a signed, expiring link payload (``web/signed_links``): ``{"k": "contact",
"e": <external_userid>, "u": <guide's userid>}``. A forged or expired one is ignored: the answers
still count for the visitor, nothing goes to WeCom.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from siyu.core.clock import utcnow
from siyu.core.errors import Conflict, NotFound, StaleVersion
from siyu.core.ids import is_id
from siyu.layering.model import SOURCE_PICK, SOURCE_QUESTIONNAIRE, Contact, Profile, Questionnaire, Response
from siyu.layering.ports import ContactFacts, ContactTagger, QuestionnaireStore, ScanFacts
from siyu.layering.rules import Filled, answer_counts, read_form
from siyu.layering.segments import Segments
from siyu.web.signed_links import LinkRefused, sign, verify

logger = logging.getLogger("siyu.layering")

CONTACT_KIND = "contact"
QUESTIONNAIRE_PATH = re.compile(r"^/q/[a-z0-9]{4,32}$")
ATTEMPTS = 5


def contact_token(external_user_id: str, user_id: str, key: bytes, expires_at: datetime) -> str:
    return sign({"k": CONTACT_KIND, "e": external_user_id, "u": user_id}, expires_at, key)


def with_contact_token(url: str, external_user_id: str, user_id: str, key: bytes, expires_at: datetime) -> str:
    """`url` with a signed contact token when it is a questionnaire's link (``/q/<id>``) without one
    (a welcome message's link, sent to one contact); any other URL as it is."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not QUESTIONNAIRE_PATH.match(parts.path) or any(name == "c" for name, _ in query):
        return url
    token = contact_token(external_user_id, user_id, key, expires_at)
    return urlunsplit(parts._replace(query=urlencode([*query, ("c", token)])))


def source_of_questionnaire(questionnaire_id: str) -> str:
    return f"{SOURCE_QUESTIONNAIRE}:{questionnaire_id}"


@dataclass(frozen=True)
class Submitted:
    questionnaire: Questionnaire
    filled: Filled
    response: Response | None  # None when the form was refused
    first: bool = False  # the visitor's first response to this questionnaire


@dataclass
class Answering:
    questionnaires: QuestionnaireStore
    segments: Segments
    signing_key: Callable[[], bytes]
    scans: ScanFacts | None = None
    contacts: ContactFacts | None = None
    tagger: Callable[[], ContactTagger | None] = lambda: None  # None: WeCom is not connected
    on_response: Callable[[Questionnaire, Response, bool], None] | None = None  # sign-up counters
    clock: Callable[[], datetime] = utcnow

    def open(self, questionnaire_id: str) -> Questionnaire:
        questionnaire = self.questionnaires.get(questionnaire_id) if is_id(questionnaire_id) else None
        if questionnaire is None:
            raise NotFound(f"no questionnaire {questionnaire_id!r}")
        return questionnaire

    def contact_of(self, token: str | None) -> Contact | None:
        if not token:
            return None
        try:
            payload = verify(token, self.signing_key(), self.clock())
        except LinkRefused as refused:
            logger.info("a questionnaire link's contact token was refused (%s)", refused.reason)
            return None
        if payload.get("k") != CONTACT_KIND or not isinstance(payload.get("e"), str):
            return None
        return Contact(payload["e"], str(payload.get("u", "")))

    def submit(
        self,
        questionnaire_id: str,
        visitor_id: str,
        form: Mapping[str, Sequence[str]],
        token: str | None = None,
        group: str | None = None,
    ) -> Submitted:
        questionnaire = self.open(questionnaire_id)
        filled = read_form(questionnaire, form)
        if not filled.complete:
            return Submitted(questionnaire, filled, None)
        contact = self.contact_of(token)
        response, first = self._store(questionnaire, visitor_id, filled, contact, group)
        self.segments.change(visitor_id, lambda profile: self._fold(profile, questionnaire, response, contact))
        if contact is not None and response.tags:
            self._mark(contact, response.tags)
        if self.on_response is not None:
            self.on_response(questionnaire, response, first)
        return Submitted(questionnaire, filled, response, first)

    def _store(
        self, questionnaire: Questionnaire, visitor_id: str, filled: Filled, contact: Contact | None, group: str | None
    ) -> tuple[Response, bool]:
        for _ in range(ATTEMPTS):
            now = self.clock()
            old = self.questionnaires.response(questionnaire.id, visitor_id)
            response = Response(
                questionnaire_id=questionnaire.id,
                visitor_id=visitor_id,
                answers=filled.answers,
                tags=filled.tags,
                answered_at=now,
                phone=filled.phone,
                contact=contact.external_user_id if contact else (old.contact if old else None),
                group=group or (old.group if old else None),
            )
            counts = answer_counts(questionnaire, response.answers)
            counts["responses"] = 1
            if old is not None:
                for name, value in answer_counts(questionnaire, old.answers).items():
                    counts[name] = counts.get(name, 0) - value
                counts["responses"] = 0
            try:
                self.questionnaires.save_response(response, old, counts, now)
                return response, old is None
            except StaleVersion:
                continue
        raise Conflict("the response kept changing while it was saved; send it again")

    def _fold(
        self, profile: Profile, questionnaire: Questionnaire, response: Response, contact: Contact | None
    ) -> Profile:
        """The profile with this response's tags (replacing what an earlier answer to the same
        questionnaire gave), the questionnaire answered, the contact, and the scan's facts."""
        source = source_of_questionnaire(questionnaire.id)
        tags = {tag: src for tag, src in profile.tags.items() if src != source or tag in response.tags}
        for tag in sorted(response.tags):
            tags.setdefault(tag, source)
        codes = set(profile.codes)
        if self.scans is not None:
            for record in self.scans.of_visitor(profile.visitor_id):
                codes.add(record.code_id)
                for tag in sorted(record.tags):
                    tags.setdefault(tag, f"{SOURCE_PICK}:{record.code_id}")
        profile = replace(
            profile,
            tags=tags,
            codes=frozenset(codes),
            questionnaires=profile.questionnaires | {questionnaire.id},
        )
        if contact is not None:
            profile = replace(profile, contact=contact)
            if self.contacts is not None:
                added, gone = self.contacts.added(contact.external_user_id)
                profile = replace(profile, added_at=added or profile.added_at, left_at=gone)
        return profile

    def _mark(self, contact: Contact, tags: frozenset[str]) -> None:
        try:
            tagger = self.tagger()
            if tagger is None:
                return
            tagger.mark(contact.user_id, contact.external_user_id, sorted(tags))
        except Exception as error:  # the answer is kept; the operator reads why in the log
            logger.warning("the contact was not tagged in WeCom (%s)", type(error).__name__)


def default_token_lifetime() -> timedelta:
    return timedelta(days=30)
