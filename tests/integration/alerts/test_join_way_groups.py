"""A code's join-way groups in the real table (emulator): linked once, resized on every code they
are linked to (the size before returned), dismissed kept, and read back by one ListIndex query."""

from __future__ import annotations

from datetime import UTC, datetime

from siyu.core.ids import new_id
from siyu.wecom.contacts_repository import ContactsTable
from siyu.wecom.records import GroupFact

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_groups_of_a_code_round_trip(stack):
    table = ContactsTable.from_environment()
    code_a, code_b, chat = new_id(), new_id(), f"wr{new_id()}"
    assert table.link_group(code_a, GroupFact(chat, "会员1群", 12, "t1", False, NOW))
    assert not table.link_group(code_a, GroupFact(chat, "other", 99, "t9", True, NOW))  # once
    assert table.link_group(code_b, GroupFact(chat, "会员1群", 12, "t2", True, NOW))
    assert sorted(table.resize_group(chat, "会员1群（新）", 181)) == sorted([(code_a, 12), (code_b, 12)])
    assert table.resize_group(f"wr{new_id()}", "x", 5) == []  # a group no code sent anyone to
    (group,) = table.groups_of_code(code_a)
    assert group == GroupFact(chat, "会员1群（新）", 181, "t1", False, NOW)
    table.resize_group(chat, "", 0, dismissed=True)
    (group,) = table.groups_of_code(code_b)
    assert (group.name, group.member_count, group.auto_created, group.dismissed) == ("会员1群（新）", 0, True, True)
    assert table.groups_of_code(new_id()) == []
