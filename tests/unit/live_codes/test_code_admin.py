"""The code admin's edit rules on the in-memory store: concurrent edits are retried on a fresh
read and never lost; a record that keeps changing is a Conflict; nothing half-saved."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.live_codes.admin import CodeAdmin
from siyu.live_codes.edit_rules import OptionSpec
from siyu.live_codes.model import ARCHIVED, GROUPED, STAFF, Channel, LiveCode
from siyu.storage.versioned import SAVE_ATTEMPTS
from tests.fakes.live_codes import FakeCodeStore

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def admin_with_code(**settings) -> tuple[CodeAdmin, FakeCodeStore, LiveCode]:
    store = FakeCodeStore()
    admin = CodeAdmin(store, clock=lambda: NOW)
    return admin, store, admin.create_code("双11", **settings)


def renamed_by_someone_else(code: LiveCode) -> LiveCode:
    return replace(code, title="their title")


def test_a_save_that_finds_a_newer_version_is_redone_on_it_and_both_edits_survive():
    admin, store, code = admin_with_code()
    store.concurrent_edits.append(renamed_by_someone_else)

    channel = admin.add_channel(code.id, "门店12号")

    saved = store.codes[code.id]
    assert saved.title == "their title"  # the other operator's edit is kept
    assert saved.channels == (channel,)  # and ours is applied on top of it
    assert saved.version == code.version + 2
    assert store.saves == 2


def test_a_code_that_keeps_changing_is_a_conflict_and_our_edit_is_not_saved():
    admin, store, code = admin_with_code()
    store.concurrent_edits.extend([renamed_by_someone_else] * SAVE_ATTEMPTS)

    with pytest.raises(Conflict, match="kept changing"):
        admin.update_code(code.id, name="ours")

    assert store.saves == SAVE_ATTEMPTS
    assert store.codes[code.id].name == "双11"
    assert store.codes[code.id].version == code.version + SAVE_ATTEMPTS  # only theirs


def test_a_rule_broken_by_the_concurrent_edit_is_checked_again_on_the_fresh_read():
    admin, store, code = admin_with_code()
    store.concurrent_edits.append(lambda c: replace(c, channels=(Channel("other1", "门店12号", NOW),)))

    with pytest.raises(Conflict, match="already called"):
        admin.add_channel(code.id, "门店12号")
    assert [c.id for c in store.codes[code.id].channels] == ["other1"]


def test_status_changes_and_unknown_codes():
    admin, store, code = admin_with_code()
    assert admin.set_status(code.id, ARCHIVED).status == ARCHIVED
    with pytest.raises(NotFound):
        admin.get_code("nosuchcode")
    with pytest.raises(NotFound):
        admin.get_code("../etc")  # not an id: never looked up
    assert admin.list_codes(ARCHIVED, 10, None) == ([store.codes[code.id]], None)


def test_kind_and_strategy_rules():
    with pytest.raises(InvalidInput, match="fills its groups in order"):
        admin_with_code(strategy="round_robin")
    admin, _, staff = admin_with_code(kind=STAFF)
    assert staff.strategy == "round_robin"
    with pytest.raises(InvalidInput, match="not in_order"):
        admin.update_code(staff.id, strategy="in_order")
    with pytest.raises(InvalidInput, match="needs options"):
        admin.create_code("g", kind=GROUPED)
    with pytest.raises(InvalidInput, match="repeated: a"):
        admin.create_code("g", kind=GROUPED, options=[OptionSpec("a"), OptionSpec("a")])
    with pytest.raises(InvalidInput, match="unknown time_zone"):
        admin.update_code(staff.id, time_zone="Mars/Olympus")


def test_options_of_a_grouped_code():
    admin, store, code = admin_with_code(kind=GROUPED, options=[OptionSpec("上海")])
    option = admin.add_option(code.id, OptionSpec("北京", tag="bj"))
    assert (option.label, option.tag) == ("北京", "bj")
    assert admin.update_option(code.id, option.id, description="朝阳").description == "朝阳"
    with pytest.raises(Conflict, match="already has an option"):
        admin.add_option(code.id, OptionSpec("上海"))
    with pytest.raises(NotFound, match="no option"):
        admin.update_option(code.id, "nosuch", label="x")
    assert [o.label for o in store.codes[code.id].options] == ["上海", "北京"]
