"""Answering a questionnaire puts its tags on the visitor, keeps segment memberships and counts
right incrementally (no pass over all profiles per evaluation), backfills a new segment once, tags a
known WeCom contact, and erases on request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from siyu.core.errors import InvalidInput, StaleVersion
from siyu.layering.admin import LayeringAdmin
from siyu.layering.answers import Answering, contact_token, with_contact_token
from siyu.layering.model import Option, Question, Rule
from siyu.layering.segments import Segments
from tests.fakes.layering import FakeProfiles, FakeQuestionnaires, FakeTagger

NOW = datetime(2026, 12, 5, 8, tzinfo=UTC)
KEY = b"k" * 32
QUESTIONS = [
    Question("您的肤质？", "single", (Option("干皮", "A"), Option("油皮", "B"))),
    Question("您的困扰？", "multi", (Option("痘痘", "3"), Option("闭口", "4"))),
]


@pytest.fixture
def world():
    questionnaires, profiles, tagger = FakeQuestionnaires(), FakeProfiles(), FakeTagger()
    segments = Segments(profiles, clock=lambda: NOW, tagger=lambda: tagger)
    answering = Answering(questionnaires, segments, lambda: KEY, tagger=lambda: tagger, clock=lambda: NOW)
    admin = LayeringAdmin(questionnaires, profiles, segments, lambda: KEY, clock=lambda: NOW)
    return answering, admin, profiles, tagger


def test_answers_become_tags_and_move_the_segment_count(world):
    answering, admin, profiles, _ = world
    questionnaire = admin.create_questionnaire("肤质问卷", QUESTIONS)
    acne = admin.create_segment("油皮+痘痘", Rule(all=("B", "3")))
    assert acne.count == 0 and acne.backfilled

    answering.submit(questionnaire.id, "v" * 20, {"q0": ["油皮"], "q1": ["痘痘"]})
    answering.submit(questionnaire.id, "w" * 20, {"q0": ["干皮"], "q1": ["痘痘"]})

    assert admin.visitor("v" * 20).tags == {
        "B": f"questionnaire:{questionnaire.id}",
        "3": f"questionnaire:{questionnaire.id}",
    }
    assert admin.segment(acne.id).count == 1
    assert admin.members(acne.id, 10, None)[0][0].visitor_id == "v" * 20
    _, counts = admin.questionnaire(questionnaire.id)
    assert counts["responses"] == 2 and counts["0:1"] == 1 and counts["1:0"] == 2


def test_answering_again_replaces_the_tags_counts_and_membership(world):
    answering, admin, _, _ = world
    questionnaire = admin.create_questionnaire("肤质问卷", QUESTIONS)
    acne = admin.create_segment("痘痘", Rule(all=("3",)))
    answering.submit(questionnaire.id, "v" * 20, {"q0": ["油皮"], "q1": ["痘痘"]})
    answering.submit(questionnaire.id, "v" * 20, {"q0": ["油皮"], "q1": ["闭口"]})
    assert set(admin.visitor("v" * 20).tags) == {"B", "4"}
    assert admin.segment(acne.id).count == 0
    _, counts = admin.questionnaire(questionnaire.id)
    assert counts["responses"] == 1 and counts["1:0"] == 0 and counts["1:1"] == 1


def test_a_refused_form_stores_nothing(world):
    answering, admin, profiles, _ = world
    questionnaire = admin.create_questionnaire("肤质问卷", QUESTIONS)
    submitted = answering.submit(questionnaire.id, "v" * 20, {"q0": ["油皮"]})
    assert submitted.response is None and submitted.filled.problems == {1: "required"}
    assert profiles.stored == {} and admin.questionnaire(questionnaire.id)[1] == {}


def test_a_new_segment_is_backfilled_once_by_pages_and_then_kept_incrementally(world):
    answering, admin, profiles, _ = world
    questionnaire = admin.create_questionnaire("肤质问卷", QUESTIONS)
    for i in range(250):
        answering.submit(questionnaire.id, f"{i:020d}", {"q0": ["油皮" if i % 2 else "干皮"], "q1": ["痘痘"]})
    oily = admin.create_segment("油皮", Rule(all=("B",)))
    assert oily.count == 125 and oily.backfilled
    assert len(profiles.page_size_seen) == 10  # 250 profiles in pages of 25: one pass
    reads = profiles.profile_reads
    answering.submit(questionnaire.id, "x" * 20, {"q0": ["油皮"], "q1": ["闭口"]})
    assert admin.segment(oily.id).count == 126
    assert profiles.profile_reads - reads <= 2  # one visitor's profile, not everyone's
    assert profiles.page_size_seen == [25] * 10


def test_a_lost_race_is_retried_from_a_fresh_read(world):
    answering, admin, profiles, _ = world
    questionnaire = admin.create_questionnaire("肤质问卷", QUESTIONS)
    segment = admin.create_segment("痘痘", Rule(any=("3",)))
    real_save, raced = profiles.save, []

    def save_once_stale(profile, now, joined=(), left=()):
        if not raced:
            raced.append(True)
            real_save(profile, now, joined, left)  # another writer saved the same change first
            raise StaleVersion("raced")
        real_save(profile, now, joined, left)

    profiles.save = save_once_stale
    answering.submit(questionnaire.id, "v" * 20, {"q0": ["油皮"], "q1": ["痘痘"]})
    assert admin.segment(segment.id).count == 1


def test_a_contact_token_tags_the_wecom_contact_and_a_forged_one_is_ignored(world):
    answering, admin, _, tagger = world
    questionnaire = admin.create_questionnaire("肤质问卷", QUESTIONS)
    token = contact_token("wmEXT1", "zhangsan", KEY, NOW + timedelta(days=1))
    answering.submit(questionnaire.id, "v" * 20, {"q0": ["油皮"], "q1": ["痘痘"]}, token=token)
    assert tagger.marked == [("zhangsan", "wmEXT1", ("3", "B"))]
    assert admin.visitor("v" * 20).profile.contact.external_user_id == "wmEXT1"
    forged = contact_token("wmEXT1", "zhangsan", b"x" * 32, NOW + timedelta(days=1))
    expired = contact_token("wmEXT1", "zhangsan", KEY, NOW - timedelta(seconds=1))
    for bad in (forged, expired):
        answering.submit(questionnaire.id, "w" * 20, {"q0": ["干皮"], "q1": ["痘痘"]}, token=bad)
    assert len(tagger.marked) == 1 and admin.visitor("w" * 20).profile.contact is None
    tagger.fail = True  # WeCom refusing never loses the answer
    answering.submit(questionnaire.id, "u" * 20, {"q0": ["干皮"], "q1": ["闭口"]}, token=token)
    assert set(admin.visitor("u" * 20).tags) == {"A", "4"}


def test_erasing_a_respondent_takes_back_answers_counts_tags_and_membership(world):
    answering, admin, profiles, _ = world
    questionnaire = admin.create_questionnaire("肤质问卷", QUESTIONS)
    segment = admin.create_segment("油皮", Rule(all=("B",)))
    answering.submit(questionnaire.id, "v" * 20, {"q0": ["油皮"], "q1": ["痘痘"]})
    assert admin.erase_respondent(questionnaire.id, "v" * 20)
    assert admin.visitor("v" * 20).tags == {} and admin.segment(segment.id).count == 0
    assert admin.questionnaire(questionnaire.id)[1]["responses"] == 0
    assert not admin.erase_respondent(questionnaire.id, "v" * 20)
    answering.submit(questionnaire.id, "w" * 20, {"q0": ["油皮"], "q1": ["痘痘"]})
    assert admin.erase_visitor("w" * 20) and admin.segment(segment.id).count == 0
    assert list(admin.questionnaires.responses(questionnaire.id)) == []


def test_a_questionnaire_with_a_bad_codebook_is_refused(world):
    _, admin, _, _ = world
    with pytest.raises(InvalidInput):
        admin.create_questionnaire("x", [Question("q", "single", ())])
    with pytest.raises(InvalidInput):
        admin.create_questionnaire("x", [Question("q", "single", (Option("a", "t"), Option("a", "u")))])
    with pytest.raises(InvalidInput):
        admin.create_questionnaire("x", [Question("q", "text", (Option("a", "t"),))])
    with pytest.raises(InvalidInput):
        admin.create_segment("nothing", Rule())


def test_a_contact_in_a_segment_carries_its_wecom_tag_while_a_member(world):
    answering, admin, _, tagger = world
    questionnaire = admin.create_questionnaire("肤质问卷", QUESTIONS)
    segment = admin.create_segment("油皮精准群", Rule(all=("B",)))
    token = contact_token("wmEXT1", "zhangsan", KEY, NOW + timedelta(days=1))
    answering.submit(questionnaire.id, "v" * 20, {"q0": ["油皮"], "q1": ["痘痘"]}, token=token)
    assert ("zhangsan", "wmEXT1", (segment.wecom_tag,)) in tagger.marked and len(segment.wecom_tag) <= 30
    answering.submit(questionnaire.id, "v" * 20, {"q0": ["干皮"], "q1": ["痘痘"]})
    assert tagger.removed == [("zhangsan", "wmEXT1", (segment.wecom_tag,))]


def test_a_rules_count_can_be_previewed_before_it_is_a_segment(world):
    answering, admin, _, _ = world
    questionnaire = admin.create_questionnaire("肤质问卷", QUESTIONS)
    for i in range(5):
        answering.submit(questionnaire.id, f"{i:020d}", {"q0": ["油皮" if i < 3 else "干皮"], "q1": ["痘痘"]})
    assert admin.preview(Rule(all=("B",))) == (3, 5, True)
    assert admin.preview(Rule(all=("B",)), limit=2) == (2, 2, False)
    assert admin.all_segments() == []


def test_a_backfill_beyond_its_budget_says_where_it_stopped_and_goes_on_from_there(world):
    answering, admin, profiles, _ = world
    questionnaire = admin.create_questionnaire("肤质问卷", QUESTIONS)
    for i in range(250):
        answering.submit(questionnaire.id, f"{i:020d}", {"q0": ["油皮"], "q1": ["痘痘"]})
    ticks = iter(range(10_000))
    segments = Segments(profiles, clock=lambda: NOW, monotonic=lambda: 10.0 * next(ticks))  # 10 s a look
    handed: list[tuple[str, str]] = []

    class Queue:
        def backfill_later(self, segment_id: str, cursor: str) -> None:
            handed.append((segment_id, cursor))

    slow = LayeringAdmin(admin.questionnaires, profiles, segments, lambda: KEY, backfills=Queue(), clock=lambda: NOW)
    segment = slow.create_segment("油皮", Rule(all=("B",)))  # the request's budget: one page here
    assert 0 < segment.count < 250 and not segment.backfilled and handed[0][0] == segment.id
    joined, cursor = segments.backfill(segment.id, handed[0][1], budget=float("inf"))
    assert cursor is None and admin.segment(segment.id).count == 250 and admin.segment(segment.id).backfilled


def test_only_a_questionnaires_link_gets_a_contact_token():
    expires = NOW + timedelta(days=30)
    signed = with_contact_token("https://qr.example.cn/q/abcd1234?g=wrX", "wmA", "zhangsan", KEY, expires)
    assert signed.startswith("https://qr.example.cn/q/abcd1234?g=wrX&c=")
    answering = Answering(FakeQuestionnaires(), Segments(FakeProfiles()), lambda: KEY, clock=lambda: NOW)
    contact = answering.contact_of(signed.partition("&c=")[2])
    assert contact is not None and (contact.external_user_id, contact.user_id) == ("wmA", "zhangsan")
    for other in ("https://example.com/welcome", "https://qr.example.cn/s/abcd1234", signed):
        assert with_contact_token(other, "wmA", "zhangsan", KEY, expires) == other
