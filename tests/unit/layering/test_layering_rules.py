"""The pure rules: a posted form read into answers and tags (or what is wrong per question), the
phone number and its consent, and segment rules over a profile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from siyu.layering.model import Contact, Option, Profile, Question, Questionnaire, Rule
from siyu.layering.rules import (
    BAD_PHONE,
    NO_CONSENT,
    ONE_ONLY,
    REQUIRED,
    UNKNOWN_OPTION,
    answer_counts,
    matches,
    normal_phone,
    read_form,
    rule_document,
    rule_from_document,
    rule_problems,
)

NOW = datetime(2026, 12, 5, 8, tzinfo=UTC)
SKIN = Questionnaire(
    id="q1",
    title="肤质小问卷",
    created_at=NOW,
    questions=(
        Question("您的肤质？", "single", (Option("干皮", "A"), Option("油皮", "B"), Option("敏感肌", "C"))),
        Question("您的困扰？", "multi", (Option("痘痘", "3"), Option("闭口", "4"), Option("暗沉", None))),
        Question("还想说的", "text", required=False),
        Question("手机号", "phone", required=False),
    ),
)


def test_a_complete_form_gives_the_answers_and_the_codebook_tags():
    filled = read_form(SKIN, {"q0": ["油皮"], "q1": ["痘痘", "暗沉"], "q2": [" 想要祛痘 "]})
    assert filled.complete
    assert filled.tags == {"B", "3"}  # 暗沉 carries no tag
    assert [a.labels for a in filled.answers[:2]] == [("油皮",), ("痘痘", "暗沉")]
    assert filled.answers[2].text == "想要祛痘"


def test_what_is_wrong_is_said_per_question():
    filled = read_form(SKIN, {"q0": ["油皮", "干皮"], "q1": ["不存在"]})
    assert filled.problems == {0: ONE_ONLY, 1: UNKNOWN_OPTION}
    assert read_form(SKIN, {"q1": ["痘痘"]}).problems == {0: REQUIRED}


def test_a_phone_needs_a_valid_number_and_the_consent():
    base = {"q0": ["干皮"], "q1": ["闭口"]}
    assert read_form(SKIN, {**base, "q3": ["12345"], "q3_consent": ["1"]}).problems == {3: BAD_PHONE}
    assert read_form(SKIN, {**base, "q3": ["138 0013 8000"]}).problems == {3: NO_CONSENT}
    filled = read_form(SKIN, {**base, "q3": ["+86 138-0013-8000"], "q3_consent": ["1"]})
    assert filled.complete and filled.phone == "13800138000"


@given(st.text(max_size=30))
def test_a_normal_phone_is_always_eleven_digits_starting_with_1(text):
    phone = normal_phone(text)
    assert phone is None or (len(phone) == 11 and phone.isdigit() and phone[0] == "1")


def test_answer_counts_count_each_picked_option_and_each_answered_question():
    filled = read_form(SKIN, {"q0": ["油皮"], "q1": ["痘痘", "闭口"]})
    assert answer_counts(SKIN, filled.answers) == {"0:answered": 1, "0:1": 1, "1:answered": 1, "1:0": 1, "1:1": 1}


TAGS = st.frozensets(st.sampled_from(["A", "B", "3", "4", "D"]), max_size=5)


@given(TAGS, TAGS, TAGS, TAGS)
def test_tag_rules_are_all_any_and_none(tags, all_, any_, none):
    rule = Rule(all=tuple(sorted(all_)), any=tuple(sorted(any_)), none=tuple(sorted(none)))
    profile = Profile("v", tags={t: "x" for t in tags})
    expected = all_ <= tags and (not any_ or bool(any_ & tags)) and not (none & tags)
    assert matches(rule, profile, NOW) == expected


def test_facts_rules():
    joined = Profile("v", contact=Contact("wm1", "zhangsan"), added_at=NOW - timedelta(days=3), codes=frozenset({"c1"}))
    assert matches(Rule(added_within_days=7), joined, NOW)
    assert not matches(Rule(added_within_days=2), joined, NOW)
    assert matches(Rule(codes=("c1",), stayed=True), joined, NOW)
    assert not matches(Rule(left=True), joined, NOW)
    gone = Profile("v", contact=Contact("wm1", "zhangsan"), added_at=NOW, left_at=NOW)
    assert matches(Rule(left=True, stayed=False), gone, NOW)
    assert not matches(Rule(questionnaires=("q1",)), joined, NOW)


def test_a_rule_survives_its_document_and_an_empty_rule_is_refused():
    rule = Rule(all=("B",), none=("C",), joined_within_days=5, stayed=True)
    assert rule_from_document(rule_document(rule)) == rule
    assert rule_problems(Rule()) and rule_problems(Rule(all=("a b",))) and rule_problems(Rule(all=("x",), none=("x",)))
    assert not rule_problems(rule)
