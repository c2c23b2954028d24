"""The WeCom repositories (WecomTable, ContactsTable) on the emulated DynamoDB: the refresh lease,
the token cache, the replay memory, event claims, way states, follows, members and groups."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from siyu.wecom.contacts_repository import ContactsTable
from siyu.wecom.records import Chat, Follow, Member, WayState
from siyu.wecom.repository import WecomTable

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=10)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def table_name(stack) -> str:
    return next(iter(stack.template.tables()))


@pytest.fixture(scope="module")
def wecom(table_name) -> WecomTable:
    return WecomTable(boto3.client("dynamodb"), table_name)


@pytest.fixture(scope="module")
def contacts(table_name) -> ContactsTable:
    return ContactsTable(boto3.client("dynamodb"), table_name)


@pytest.fixture
def no_token(wecom):
    """The token item is the stack's one shared cache: start and leave it empty."""
    wecom.forget_token()
    yield
    wecom.forget_token()


# -- the access token --------------------------------------------------------------------


def test_one_of_ten_concurrent_claimers_takes_the_refresh_lease(wecom, table_name, no_token):
    barrier = threading.Barrier(10)
    won: list[str] = []

    def claim(owner: str) -> None:
        repository = WecomTable(boto3.client("dynamodb"), table_name)  # a client per "container"
        barrier.wait()
        if repository.claim_refresh(owner, NOW, LEASE, NOW):
            won.append(owner)

    threads = [threading.Thread(target=claim, args=(f"owner-{i}",)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(won) == 1
    assert not wecom.claim_refresh("late", NOW + LEASE - timedelta(microseconds=1), LEASE, NOW)
    assert wecom.claim_refresh("after-expiry", NOW + LEASE + timedelta(microseconds=1), LEASE, NOW)
    assert not wecom.claim_refresh("again", NOW + LEASE + timedelta(seconds=1), LEASE, NOW)


def test_a_stored_token_is_cached_and_frees_the_lease(wecom, no_token):
    assert wecom.cached_token() is None
    assert wecom.claim_refresh("me", NOW, LEASE, NOW)
    expires = NOW + timedelta(seconds=7200)
    wecom.store_token("token-1", expires, "me")

    assert wecom.cached_token() == ("token-1", expires)
    assert not wecom.claim_refresh("late", NOW, LEASE, NOW)  # the stored token is good: nothing to refresh
    assert wecom.claim_refresh("next", NOW, LEASE, expires + timedelta(seconds=1))  # the store dropped the lease
    assert wecom.cached_token() == ("token-1", expires)  # taking the lease keeps the token


def test_a_failed_refresh_gives_the_lease_back_to_the_next_caller(wecom, no_token):
    assert wecom.claim_refresh("failing", NOW, LEASE, NOW)
    wecom.release_refresh("someone-else")  # not theirs to give back
    assert not wecom.claim_refresh("next", NOW, LEASE, NOW)
    wecom.release_refresh("failing")
    assert wecom.claim_refresh("next", NOW, LEASE, NOW)


def test_drop_token_drops_only_the_token_it_names(wecom, no_token):
    expires = NOW + timedelta(seconds=7200)
    wecom.store_token("old-token", expires, "a")
    wecom.store_token("new-token", expires, "b")  # someone replaced it

    wecom.drop_token("old-token")
    assert wecom.cached_token() == ("new-token", expires)

    wecom.drop_token("new-token")
    assert wecom.cached_token() is None
    wecom.drop_token("new-token")  # nothing left to drop: no error


def test_drop_token_leaves_a_token_whose_refresh_is_under_way(wecom, no_token):
    expires = NOW + timedelta(seconds=7200)
    wecom.store_token("token", expires, "a")
    assert wecom.claim_refresh("refresher", NOW, LEASE, expires + timedelta(seconds=1))

    wecom.drop_token("token")  # the refresher's store replaces it; the lease must stay

    assert not wecom.claim_refresh("other", NOW, LEASE, NOW)


# -- callbacks ---------------------------------------------------------------------------


def test_a_callback_is_remembered_once_and_forgotten_on_request(wecom):
    fingerprint = unique("fp")
    assert wecom.remember_callback(fingerprint, NOW)
    assert not wecom.remember_callback(fingerprint, NOW)
    assert not wecom.remember_callback(fingerprint, NOW + timedelta(hours=1))

    wecom.forget_callback(fingerprint)

    assert wecom.remember_callback(fingerprint, NOW)
    assert not wecom.remember_callback(fingerprint, NOW)


def test_an_event_is_claimed_once_while_leased(wecom):
    key = unique("ev")
    assert wecom.claim_event(key, NOW, LEASE)
    assert not wecom.claim_event(key, NOW, LEASE)
    assert not wecom.claim_event(key, NOW + LEASE - timedelta(seconds=1), LEASE)


def test_an_event_whose_lease_ran_out_is_claimable_again(wecom):
    key = unique("ev")
    assert wecom.claim_event(key, NOW, LEASE)
    later = NOW + LEASE + timedelta(seconds=1)
    assert wecom.claim_event(key, later, LEASE)
    assert not wecom.claim_event(key, later, LEASE)


def test_a_released_event_is_claimable_at_once(wecom):
    key = unique("ev")
    assert wecom.claim_event(key, NOW, LEASE)
    wecom.release_event(key)
    assert wecom.claim_event(key, NOW, LEASE)


def test_a_finished_event_is_never_claimed_again(wecom):
    key = unique("ev")
    assert wecom.claim_event(key, NOW, LEASE)
    wecom.finish_event(key, "added a follow")
    assert not wecom.claim_event(key, NOW, LEASE)
    assert not wecom.claim_event(key, NOW + timedelta(days=1), LEASE)


# -- way states --------------------------------------------------------------------------


@pytest.mark.parametrize("channel_id", ["ch-1", None])
def test_a_way_state_round_trips(wecom, channel_id):
    way = WayState(state=unique("sy"), code_id=unique("c"), target_id=unique("t"), channel_id=channel_id, kind="join")
    assert wecom.state(way.state) is None
    wecom.remember_state(way)
    assert wecom.state(way.state) == way


# -- follows -----------------------------------------------------------------------------


def test_a_follow_is_added_once_removed_once_and_can_come_back(contacts):
    customer, guide, code = unique("wm"), unique("guide"), unique("code")
    follow = Follow(user_id=guide, added_at=NOW, state="sy1", code_id=code, channel_id="ch", target_id="t1")

    assert contacts.add_follow(customer, follow)
    assert contacts.add_follow(customer, follow)  # the very same add again: its event's retry, new again
    assert not contacts.add_follow(customer, Follow(user_id=guide, added_at=NOW + timedelta(minutes=1)))
    assert contacts.follows(customer) == [follow]

    gone_at = NOW + timedelta(hours=1)
    assert contacts.remove_follow(customer, guide, gone_at, "customer") == follow
    assert contacts.remove_follow(customer, guide, gone_at + timedelta(seconds=1), "staff") is None  # gone already
    again_removed = contacts.remove_follow(customer, guide, gone_at, "customer")  # the same removal's retry
    assert again_removed is not None and again_removed.code_id == code
    assert contacts.follows(customer) == [replace(follow, deleted_at=gone_at, deleted_by="customer")]

    again = Follow(user_id=guide, added_at=NOW + timedelta(days=1), code_id=code)
    assert contacts.add_follow(customer, again)
    assert contacts.follows(customer) == [again]
    assert not contacts.add_follow(customer, replace(again, added_at=again.added_at + timedelta(seconds=1)))


def test_removing_a_follow_that_never_was_is_none(contacts):
    assert contacts.remove_follow(unique("wm"), "nobody", NOW, "staff") is None


def test_added_through_lists_a_codes_follows_newest_first_by_pages(contacts):
    code = unique("code")
    added = []
    for i in range(5):
        customer = unique("wm")
        follow = Follow(user_id="guide", added_at=NOW + timedelta(minutes=i), code_id=code, state=f"sy{i}")
        assert contacts.add_follow(customer, follow)
        added.append((customer, follow))
    contacts.add_follow(unique("wm"), Follow(user_id="guide", added_at=NOW, code_id=unique("other")))
    contacts.add_follow(unique("wm"), Follow(user_id="guide", added_at=NOW))  # not through a code

    first, cursor = contacts.added_through(code, 2, None)
    assert cursor is not None
    second, cursor2 = contacts.added_through(code, 2, cursor)
    rest, cursor3 = contacts.added_through(code, 2, cursor2)
    pages = first + second + rest
    if cursor3 is not None:
        pages += contacts.added_through(code, 2, cursor3)[0]

    assert pages == list(reversed(added))


# -- members and groups ------------------------------------------------------------------


def test_a_member_is_added_once_removed_once_and_can_join_again(contacts):
    chat, customer, code = unique("wr"), unique("wm"), unique("code")
    member = Member(chat_id=chat, external_user_id=customer, joined_at=NOW, join_scene=3, state="sy2", code_id=code)

    assert contacts.add_member(member)
    assert not contacts.add_member(member)
    assert contacts.members(chat) == [member]

    left_at = NOW + timedelta(hours=2)
    assert contacts.remove_member(chat, customer, left_at, 0) == member
    assert contacts.remove_member(chat, customer, left_at, 0) is None
    assert contacts.members(chat) == []
    assert contacts.members(chat, include_gone=True) == [replace(member, left_at=left_at, quit_scene=0)]

    again = Member(chat_id=chat, external_user_id=customer, joined_at=NOW + timedelta(days=1))
    assert contacts.add_member(again)
    assert contacts.members(chat) == [again]
    assert contacts.remove_member(chat, customer, left_at, None) == again


def test_joined_through_lists_a_codes_members_newest_first_by_pages(contacts):
    code = unique("code")
    joined = []
    for i in range(5):
        member = Member(
            chat_id=unique("wr"), external_user_id=unique("wm"), joined_at=NOW + timedelta(minutes=i), code_id=code
        )
        assert contacts.add_member(member)
        joined.append(member)

    found: list[Member] = []
    cursor = None
    for _ in range(5):
        page, cursor = contacts.joined_through(code, 2, cursor)
        assert len(page) <= 2
        found += page
        if cursor is None:
            break

    assert found == list(reversed(joined))


def test_a_chat_round_trips(contacts):
    chat = Chat(chat_id=unique("wr"), name="客户群 1", owner="guide", member_count=42, updated_at=NOW)
    assert contacts.chat(chat.chat_id) is None
    contacts.save_chat(chat)
    assert contacts.chat(chat.chat_id) == chat

    dismissed = replace(chat, member_count=0, dismissed=True, updated_at=NOW + timedelta(days=1))
    contacts.save_chat(dismissed)
    assert contacts.chat(chat.chat_id) == dismissed
