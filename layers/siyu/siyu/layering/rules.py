"""Pure rules of customer layering: reading a filled questionnaire into answers and tags, checking a
phone number and its consent, and whether a visitor's profile matches a segment's rule. No I/O;
instants come from the caller."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from siyu.layering.model import MULTI, PHONE, SINGLE, TEXT, Answer, Profile, Questionnaire, Rule

MAX_TEXT = 500
MAX_TAG = 30  # WeCom's corp tag names are at most 30 characters
PHONE_PATTERN = re.compile(r"^1[3-9][0-9]{9}$")  # a mainland mobile number
TAG_PATTERN = re.compile(r"^[^\s,;]{1,30}$")

# What is wrong with one answer (the page says it in Chinese).
REQUIRED, UNKNOWN_OPTION, ONE_ONLY, TOO_LONG, BAD_PHONE, NO_CONSENT = (
    "required",
    "unknown_option",
    "one_only",
    "too_long",
    "bad_phone",
    "no_consent",
)


@dataclass(frozen=True)
class Filled:
    """A questionnaire as filled: the answers, their tags and the phone, or what is wrong per question."""

    answers: tuple[Answer, ...]
    tags: frozenset[str]
    phone: str | None
    problems: dict[int, str]

    @property
    def complete(self) -> bool:
        return not self.problems


def field_name(index: int) -> str:
    return f"q{index}"


def consent_name(index: int) -> str:
    return f"q{index}_consent"


def valid_tag(tag: str) -> bool:
    return bool(TAG_PATTERN.match(tag))


def normal_phone(value: str) -> str | None:
    """The 11-digit mobile number in `value` (spaces, dashes and a +86 / 86 prefix allowed), or None."""
    digits = re.sub(r"[\s\-()]", "", value)
    for prefix in ("+86", "0086"):
        digits = digits.removeprefix(prefix)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits if PHONE_PATTERN.match(digits) else None


def read_form(questionnaire: Questionnaire, form: Mapping[str, Sequence[str]]) -> Filled:
    """The answers in a posted form (fields q0, q1, …: an option's label, or the text; a phone
    question's consent checkbox q<i>_consent). Unknown fields are ignored."""
    answers: list[Answer] = []
    tags: set[str] = set()
    phone: str | None = None
    problems: dict[int, str] = {}
    for index, question in enumerate(questionnaire.questions):
        values = [v.strip() for v in form.get(field_name(index), ()) if v.strip()]
        if not values:
            if question.required:
                problems[index] = REQUIRED
            continue
        if question.kind in (SINGLE, MULTI):
            by_label = {o.label: o for o in question.options}
            picked = list(dict.fromkeys(values))  # the same label twice is one pick
            if any(v not in by_label for v in picked):
                problems[index] = UNKNOWN_OPTION
                continue
            if question.kind == SINGLE and len(picked) > 1:
                problems[index] = ONE_ONLY
                continue
            answers.append(Answer(index, labels=tuple(picked)))
            tags.update(tag for v in picked if (tag := by_label[v].tag))
        elif question.kind == TEXT:
            text = " ".join(values)
            if len(text) > MAX_TEXT:
                problems[index] = TOO_LONG
                continue
            answers.append(Answer(index, text=text))
        elif question.kind == PHONE:
            number = normal_phone(values[0])
            if number is None:
                problems[index] = BAD_PHONE
                continue
            if not any(v.strip() for v in form.get(consent_name(index), ())):
                problems[index] = NO_CONSENT
                continue
            phone = number
            answers.append(Answer(index, text=number))
    return Filled(tuple(answers), frozenset(tags), phone, problems)


def entered(questionnaire: Questionnaire, form: Mapping[str, Sequence[str]]) -> dict[int, list[str]]:
    """What the visitor entered per question (to fill the form again when it is refused)."""
    kept: dict[int, list[str]] = {}
    for index, _question in enumerate(questionnaire.questions):
        values = [v[:MAX_TEXT] for v in form.get(field_name(index), ()) if v.strip()]
        if values:
            kept[index] = values[:50]
    return kept


def answer_counts(questionnaire: Questionnaire, answers: Sequence[Answer]) -> dict[str, int]:
    """The counters one response adds: ``<question>:<option index>`` per picked option and
    ``<question>:answered`` per answered question."""
    counts: dict[str, int] = {}
    for answer in answers:
        question = questionnaire.questions[answer.question]
        counts[f"{answer.question}:answered"] = 1
        labels = [o.label for o in question.options]
        for label in answer.labels:
            counts[f"{answer.question}:{labels.index(label)}"] = 1
    return counts


def matches(rule: Rule, profile: Profile, now: datetime) -> bool:
    """Whether `profile` is in a segment with `rule` at `now` (every condition given must hold)."""
    tags = profile.tags.keys()
    if rule.all and not all(t in tags for t in rule.all):
        return False
    if rule.any and not any(t in tags for t in rule.any):
        return False
    if any(t in tags for t in rule.none):
        return False
    if rule.codes and not profile.codes & set(rule.codes):
        return False
    if rule.channels and not profile.channels & set(rule.channels):
        return False
    if rule.questionnaires and not profile.questionnaires & set(rule.questionnaires):
        return False
    if rule.added_within_days is not None and not _within(profile.added_at, rule.added_within_days, now):
        return False
    if rule.joined_within_days is not None and not _within(profile.joined_at, rule.joined_within_days, now):
        return False
    stayed = profile.contact is not None and (profile.added_at or profile.joined_at) is not None
    stayed = stayed and profile.left_at is None
    if rule.stayed is not None and stayed != rule.stayed:
        return False
    return rule.left is None or (profile.left_at is not None) == rule.left


def _within(instant: datetime | None, days: int, now: datetime) -> bool:
    return instant is not None and now - timedelta(days=days) <= instant <= now


def rule_problems(rule: Rule) -> list[str]:
    """What is wrong with a rule (English, for the operator); empty when it is usable."""
    problems = []
    if rule == Rule():
        problems.append("the rule has no condition: give at least one (all, any, none, codes, ...)")
    for name in ("all", "any", "none"):
        bad = [t for t in getattr(rule, name) if not valid_tag(t)]
        if bad:
            problems.append(f"{name}: {bad[0][:40]!r} is not a tag (1-30 characters, no spaces, commas or ';')")
    if set(rule.all) & set(rule.none):
        problems.append("a tag is both in all and in none: no one can match")
    return problems


def rule_from_document(document: Mapping[str, object]) -> Rule:
    """A rule from its stored JSON document (the fields of Rule)."""

    def texts(name: str) -> tuple[str, ...]:
        value = document.get(name) or ()
        return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()

    def days(name: str) -> int | None:
        value = document.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def flag(name: str) -> bool | None:
        value = document.get(name)
        return value if isinstance(value, bool) else None

    return Rule(
        all=texts("all"),
        any=texts("any"),
        none=texts("none"),
        codes=texts("codes"),
        channels=texts("channels"),
        questionnaires=texts("questionnaires"),
        added_within_days=days("added_within_days"),
        joined_within_days=days("joined_within_days"),
        stayed=flag("stayed"),
        left=flag("left"),
    )


def rule_document(rule: Rule) -> dict[str, object]:
    """The rule as a JSON document: only the conditions it has."""
    document: dict[str, object] = {}
    for name in ("all", "any", "none", "codes", "channels", "questionnaires"):
        if values := getattr(rule, name):
            document[name] = list(values)
    for name in ("added_within_days", "joined_within_days", "stayed", "left"):
        if (value := getattr(rule, name)) is not None:
            document[name] = value
    return document
