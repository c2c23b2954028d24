"""The events worker on in-memory fakes: each event once, the funnel counted from what was newly
recorded (never twice for one customer), the welcome message and tags for siyu's ways only, and
the reconcile making up for lost callbacks without counting anyone twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from siyu.live_codes.admin import CodeAdmin
from siyu.live_codes.edit_rules import StaffSettings, WaySpec
from siyu.live_codes.model import ROUND_ROBIN, STAFF, Welcome, WelcomeLink
from siyu.live_codes.targets_admin import TargetAdmin
from siyu.wecom.client import WecomApiError
from siyu.wecom.events_worker import EventsWorker
from siyu.wecom.records import WayState
from tests.fakes.live_codes import FakeCodeStore, FakeImageStore, FakeWayMaker
from tests.fakes.wecom import FakeContacts, FakeStats, FakeWecomTable

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
STATE = "sy0123456789abcdef"
JOIN_STATE = "syfedcba9876543210"


class FakeApi:
    """What the worker asks WeCom, answered from a little world of groups and tags."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.groups: dict[str, list[dict]] = {}
        self.tags: dict[str, str] = {}
        self.refuse: dict[str, int] = {}

    def post(self, path: str, body: dict) -> dict:
        self.calls.append((path, body))
        name = path.rsplit("/", 1)[-1]
        if name in self.refuse:
            raise WecomApiError(path, self.refuse[name], "refused")
        if path.endswith("groupchat/get"):
            return {
                "group_chat": {
                    "chat_id": body["chat_id"],
                    "name": "g",
                    "owner": "o",
                    "member_list": list(self.groups.get(body["chat_id"], [])),
                }
            }
        if name == "get_corp_tag_list":
            tags = [{"id": i, "name": n} for n, i in self.tags.items()]
            return (
                {"tag_group": [{"group_id": "grp", "group_name": "siyu", "tag": tags}]} if tags else {"tag_group": []}
            )
        if name == "add_corp_tag":
            made = []
            for tag in body["tag"]:
                self.tags[tag["name"]] = f"et{len(self.tags)}"
                made.append({"id": self.tags[tag["name"]], "name": tag["name"]})
            return {"tag_group": {"group_id": "grp", "group_name": "siyu", "tag": made}}
        return {"errcode": 0}

    def paths(self) -> list[str]:
        return [p.rsplit("/", 1)[-1] for p, _ in self.calls]


@pytest.fixture
def world():
    store = FakeCodeStore()
    codes = CodeAdmin(store, clock=lambda: NOW, way_maker=FakeWayMaker())
    targets = TargetAdmin(codes, FakeImageStore())
    code = codes.create_code("门店导购", kind=STAFF, strategy=ROUND_ROBIN)
    channel = codes.add_channel(code.id, "包裹卡")
    target = targets.add_wecom_target(code.id, WaySpec(wecom_user="zhangsan"), StaffSettings(staff_name="张三"))
    codes.update_code(
        code.id, tags=("新客",), welcome=Welcome(text="欢迎！", link=WelcomeLink("福利", "https://x.cn/a"))
    )
    codes.update_channel(code.id, channel.id, tags=("包裹卡",))
    table, api, stats, contacts = FakeWecomTable(), FakeApi(), FakeStats(), FakeContacts()
    table.remember_state(WayState(STATE, code.id, target.id, channel.id, "contact"))
    table.remember_state(WayState(JOIN_STATE, code.id, target.id, None, "join"))
    worker = EventsWorker(table, contacts, store, stats, client=lambda: api, clock=lambda: NOW)
    return worker, api, stats, contacts, code, channel, table


def add_event(user="wmCustomer1", state=STATE, welcome="WELCOMECODE", at=NOW) -> bytes:
    welcome_tag = f"<WelcomeCode><![CDATA[{welcome}]]></WelcomeCode>" if welcome else ""
    state_tag = f"<State><![CDATA[{state}]]></State>" if state else ""
    return (
        "<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
        f"<CreateTime>{int(at.timestamp())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType>"
        f"<UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[{user}]]></ExternalUserID>"
        f"{state_tag}{welcome_tag}</xml>"
    ).encode()


def contact_event(change: str, user="wmCustomer1", at=NOW) -> bytes:
    return (
        f"<xml><ToUserName>ww1</ToUserName><CreateTime>{int(at.timestamp())}</CreateTime><MsgType>event</MsgType>"
        f"<Event>change_external_contact</Event><ChangeType>{change}</ChangeType><UserID>zhangsan</UserID>"
        f"<ExternalUserID>{user}</ExternalUserID></xml>"
    ).encode()


def chat_event(detail: str, at=NOW, chat="wrChat1") -> bytes:
    return (
        f"<xml><ToUserName>ww1</ToUserName><CreateTime>{int(at.timestamp())}</CreateTime><MsgType>event</MsgType>"
        f"<Event>change_external_chat</Event><ChatId>{chat}</ChatId><ChangeType>update</ChangeType>"
        f"<UpdateDetail>{detail}</UpdateDetail><JoinScene>3</JoinScene><QuitScene>0</QuitScene>"
        f"<MemChangeCnt>1</MemChangeCnt></xml>"
    ).encode()


def member(user: str, state: str | None = JOIN_STATE, joined: datetime = NOW) -> dict:
    return {"userid": user, "type": 2, "join_time": int(joined.timestamp()), "join_scene": 3, "state": state}


def test_an_add_through_a_siyu_way_counts_added_welcomes_and_tags(world):
    worker, api, stats, contacts, code, channel, _ = world
    assert worker.handle(add_event()).startswith("contact added")
    ((code_id, day, increments),) = stats.added
    assert (code_id, day) == (code.id, "2026-12-05")
    assert increments["ad|code"] == 1 and increments[f"ad|ch:{channel.id}"] == 1
    assert any(k.startswith("ad|t:") for k in increments) and set(increments.values()) == {1}
    welcome = next(body for path, body in api.calls if path.endswith("send_welcome_msg"))
    assert welcome["welcome_code"] == "WELCOMECODE" and welcome["text"]["content"] == "欢迎！"
    assert welcome["attachments"][0]["link"]["url"] == "https://x.cn/a"
    marked = next(body for path, body in api.calls if path.endswith("mark_tag"))
    assert marked["external_userid"] == "wmCustomer1" and marked["userid"] == "zhangsan"
    assert sorted(api.tags[n] for n in ("新客", "包裹卡")) == sorted(marked["add_tag"])


def test_the_same_event_twice_changes_nothing(world):
    worker, api, stats, *_ = world
    worker.handle(add_event())
    calls = len(api.calls)
    assert worker.handle(add_event()) == "duplicate"
    assert len(stats.added) == 1 and len(api.calls) == calls


def test_a_second_add_event_for_a_known_follow_is_not_counted_again(world):
    worker, _, stats, *_ = world
    worker.handle(add_event(at=NOW))
    worker.handle(add_event(at=NOW + timedelta(seconds=1)))  # a different event (time), the same follow
    assert stats.total("ad|code") == 1


def test_a_failure_releases_the_event_so_a_retry_processes_it(world):
    worker, api, stats, contacts, *_ = world
    original = contacts.add_follow
    contacts.add_follow = lambda *a: (_ for _ in ()).throw(ConnectionError("storage down"))
    with pytest.raises(ConnectionError):
        worker.handle(add_event())
    contacts.add_follow = original
    assert worker.handle(add_event()).startswith("contact added")
    assert stats.total("ad|code") == 1


def test_an_add_without_a_siyu_state_is_recorded_but_not_welcomed_or_counted(world):
    worker, api, stats, contacts, *_ = world
    worker.handle(add_event(state="someone-elses"))
    worker.handle(add_event(user="wmOther", state=None))
    assert stats.added == [] and api.calls == []
    assert len(contacts.follows) == 2


def test_no_welcome_code_means_no_welcome_but_tags_still_go(world):
    worker, api, *_ = world
    worker.handle(add_event(welcome=None))
    assert "send_welcome_msg" not in api.paths() and "mark_tag" in api.paths()


def test_wecom_refusing_the_welcome_does_not_lose_the_add(world):
    worker, api, stats, *_ = world
    api.refuse["send_welcome_msg"] = 41051
    worker.handle(add_event())
    assert stats.total("ad|code") == 1 and "mark_tag" in api.paths()


def test_existing_corp_tags_are_reused_not_made_again(world):
    worker, api, *_ = world
    api.tags = {"新客": "etA", "包裹卡": "etB"}
    worker.handle(add_event())
    assert "add_corp_tag" not in api.paths()
    assert next(b for p, b in api.calls if p.endswith("mark_tag"))["add_tag"] == ["etA", "etB"]


@pytest.mark.parametrize(("change", "by"), [("del_follow_user", "customer"), ("del_external_contact", "staff")])
def test_a_deletion_counts_deleted_once(world, change, by):
    worker, _, stats, contacts, *_ = world
    worker.handle(add_event())
    worker.handle(contact_event(change, at=NOW + timedelta(days=1)))
    worker.handle(contact_event(change, at=NOW + timedelta(days=1, seconds=5)))
    assert stats.total("d|code") == 1
    assert next(iter(contacts.follows.values())).deleted_by == by


def test_a_join_through_a_siyu_join_way_counts_joined_once_even_when_seen_again(world):
    worker, api, stats, contacts, code, *_ = world
    api.groups["wrChat1"] = [member("wmA"), member("wmB", state=None), {"userid": "owner", "type": 1}]
    worker.handle(chat_event("add_member"))
    assert stats.total("j|code") == 1  # wmB came another way: recorded, not counted
    assert {m.external_user_id for m in contacts.members("wrChat1")} == {"wmA", "wmB"}
    assert worker.reconcile()["joined"] == 0 and stats.total("j|code") == 1


def test_leaving_within_a_week_counts_left_and_left_within_7d_on_the_join_day(world):
    worker, api, stats, *_ = world
    api.groups["wrChat1"] = [member("wmA")]
    worker.handle(chat_event("add_member"))
    api.groups["wrChat1"] = []
    worker.handle(chat_event("del_member", at=NOW + timedelta(days=2)))
    left = [(day, inc) for _, day, inc in stats.added if "l|code" in inc or "l7|code" in inc]
    assert ("2026-12-07", True) in [(d, "l|code" in i) for d, i in left]
    assert ("2026-12-05", True) in [(d, "l7|code" in i) for d, i in left]


def test_the_reconcile_records_what_callbacks_missed(world):
    worker, api, stats, contacts, *_ = world
    contacts.chats.clear()
    api.groups["wrChat1"] = [member("wmLate")]
    contacts.watched_chats = lambda: ["wrChat1"]
    totals = worker.reconcile()
    assert totals == {"groups": 1, "joined": 1, "left": 0, "unreadable": 0}
    api.groups["wrChat1"] = []
    assert worker.reconcile()["left"] == 1
    assert stats.total("j|code") == 1 and stats.total("l|code") == 1


def test_a_malformed_event_is_dropped_not_retried(world):
    worker, api, stats, *_ = world
    assert worker.handle(b"<xml><Event>") == "malformed"
    assert stats.added == [] and api.calls == []


def test_a_gone_code_records_the_follow_without_counting(world):
    worker, api, stats, contacts, code, channel, table = world
    table.remember_state(replace(table.states[STATE], state="sygone000000000000", code_id="nosuchcode1"))
    worker.handle(add_event(state="sygone000000000000"))
    assert stats.added == [] and len(contacts.follows) == 1


GROUP_STATE = "sy00000000000join1"


@pytest.fixture
def join_world():
    """A group code whose target is a join way over wrChat1 (WeCom makes new groups when full)."""
    store = FakeCodeStore()
    codes = CodeAdmin(store, clock=lambda: NOW, way_maker=FakeWayMaker())
    code = codes.create_code("会员群")
    target = TargetAdmin(codes, FakeImageStore()).add_wecom_target(code.id, WaySpec(chat_ids=("wrChat1",)))
    table, api, contacts = FakeWecomTable(), FakeApi(), FakeContacts()
    table.remember_state(WayState(GROUP_STATE, code.id, target.id, None, "join"))
    worker = EventsWorker(table, contacts, store, FakeStats(), client=lambda: api, clock=lambda: NOW, rotation=store)
    store.due.clear()
    return worker, api, contacts, store, code, target


def crowd(size: int, joiner: str = "wmNew") -> list[dict]:
    """`size` externals: the others came some other way, the last one through the join way."""
    return [member(f"wmOld{i}", state=None) for i in range(size - 1)] + [member(joiner, state=GROUP_STATE)]


def test_a_join_links_the_group_to_the_code_with_its_size(join_world):
    worker, api, contacts, store, code, target = join_world
    api.groups["wrChat1"] = crowd(12)
    worker.handle(chat_event("add_member"))
    (group,) = contacts.groups_of_code(code.id)
    assert (group.chat_id, group.member_count, group.target_id, group.auto_created) == ("wrChat1", 12, target.id, False)
    assert group.seen_at == NOW and store.due == []  # nothing for the rotation job yet


def test_a_group_crossing_180_makes_the_code_due_once_and_again_when_it_drops(join_world):
    worker, api, contacts, store, code, _ = join_world
    api.groups["wrChat1"] = crowd(179, "wmA")
    worker.handle(chat_event("add_member"))
    assert store.due == []
    api.groups["wrChat1"] = crowd(179, "wmA") + [member("wmB")]
    worker.handle(chat_event("add_member", at=NOW + timedelta(seconds=1)))
    assert store.due == [code.id] and contacts.groups_of_code(code.id)[0].member_count == 180
    api.groups["wrChat1"].append(member("wmC"))
    worker.handle(chat_event("add_member", at=NOW + timedelta(seconds=2)))
    assert store.due == [code.id]  # still filling: no new wake-up
    api.groups["wrChat1"] = api.groups["wrChat1"][:170]
    worker.handle(chat_event("del_member", at=NOW + timedelta(seconds=3)))
    assert store.due == [code.id, code.id]  # dropped below 180: the job resolves the alert


def test_a_group_wecom_made_is_recorded_as_auto_created_and_wakes_the_job(join_world):
    worker, api, contacts, store, code, _ = join_world
    api.groups["wrChat2"] = crowd(1)
    worker.handle(chat_event("add_member", chat="wrChat2"))
    (group,) = contacts.groups_of_code(code.id)
    assert (group.chat_id, group.auto_created) == ("wrChat2", True) and store.due == [code.id]
    api.groups["wrChat2"].append(member("wmSecond"))
    worker.handle(chat_event("add_member", chat="wrChat2", at=NOW + timedelta(seconds=1)))
    assert store.due == [code.id] and contacts.groups_of_code(code.id)[0].member_count == 2  # linked once


def test_a_dismissed_group_is_kept_as_dismissed_and_a_failed_wake_up_loses_nothing(join_world):
    worker, api, contacts, store, code, _ = join_world
    api.groups["wrChat1"] = crowd(185)
    store.failing = None
    worker.handle(chat_event("add_member"))
    assert store.due == [code.id]  # already filling when first linked
    store.mark_due = lambda *a: (_ for _ in ()).throw(ConnectionError("storage down"))
    dismiss = chat_event("add_member", at=NOW + timedelta(seconds=1)).replace(b"update", b"dismiss")
    assert worker.handle(dismiss).startswith("group dismissed")
    (group,) = contacts.groups_of_code(code.id)
    assert (group.dismissed, group.member_count) == (True, 0)


def test_an_add_whose_count_failed_is_counted_on_its_retry_and_only_once(world):
    worker, _, stats, *_ = world
    original = stats.add
    stats.add = lambda *a, **k: (_ for _ in ()).throw(ConnectionError("storage down"))
    with pytest.raises(ConnectionError):
        worker.handle(add_event())  # the follow was written, the count was not
    stats.add = original
    worker.handle(add_event())  # SQS gives the event again
    worker.handle(add_event())  # and once more: processed by now
    assert stats.total("ad|code") == 1


def test_a_delete_whose_count_failed_is_counted_on_its_retry(world):
    worker, _, stats, *_ = world
    worker.handle(add_event())
    original = stats.add
    stats.add = lambda *a, **k: (_ for _ in ()).throw(ConnectionError("storage down"))
    with pytest.raises(ConnectionError):
        worker.handle(contact_event("del_follow_user", at=NOW + timedelta(hours=1)))
    stats.add = original
    worker.handle(contact_event("del_follow_user", at=NOW + timedelta(hours=1)))
    assert stats.total("d|code") == 1


def test_tags_failing_for_any_reason_never_fail_the_add(world):
    worker, api, stats, *_ = world
    api.refuse["get_corp_tag_list"] = -1
    assert worker.handle(add_event()).startswith("contact added")
    assert stats.total("ad|code") == 1


def test_a_transfer_to_another_guide_is_not_a_deletion(world):
    worker, _, stats, contacts, *_ = world
    worker.handle(add_event())
    transferred = contact_event("del_external_contact", at=NOW + timedelta(days=2)).replace(
        b"</xml>", b"<Source><![CDATA[DELETE_BY_TRANSFER]]></Source></xml>"
    )
    assert "transferred" in worker.handle(transferred)
    assert stats.total("d|code") == 0
    assert next(iter(contacts.follows.values())).deleted_at is None
