"""WeCom-backed targets on the in-memory store and the fake WayMaker: one way per channel plus
the direct one, all or nothing (cleanup on a failing way, a failing check or a failing save),
the 200-way limit, the way a scan shows, old items, and tags and welcome messages."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from siyu.core.errors import Conflict, InvalidInput, NotFound, UnsupportedMediaType, UploadRefused
from siyu.live_codes.admin import CodeAdmin
from siyu.live_codes.edit_rules import OptionSpec, StaffSettings, WaySpec
from siyu.live_codes.model import (
    GROUPED,
    ROUND_ROBIN,
    STAFF,
    Channel,
    Welcome,
    WelcomeLink,
    WelcomeMiniprogram,
    candidate_targets,
    fills_up,
    tags_for,
    way_for,
    welcome_for,
)
from siyu.live_codes.ports import WayOwner
from siyu.live_codes.qr_image import qr_png
from siyu.live_codes.repository import code_from_item, code_to_item
from siyu.live_codes.scan import ScanService
from siyu.live_codes.targets_admin import TargetAdmin
from siyu.storage.versioned import SAVE_ATTEMPTS
from tests.fakes.live_codes import FakeCodeStore, FakeImageStore, FakeWayMaker, WeComRefused
from tests.helpers import b64, new_group_screenshot

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
ZHANGSAN = WaySpec(wecom_user="zhangsan")
GROUPS = WaySpec(chat_ids=("wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA", "wrOgQhDgAAMYQiS5ol9G7gK9JVBBBB"))


def setup(maker: FakeWayMaker | None = None, **code_settings):
    store, maker = FakeCodeStore(), maker if maker is not None else FakeWayMaker()
    codes = CodeAdmin(store, clock=lambda: NOW, way_maker=maker)
    targets = TargetAdmin(codes, FakeImageStore())
    code = codes.create_code("双11", **code_settings)
    return codes, targets, store, maker, code


def staff_code(maker: FakeWayMaker | None = None):
    return setup(maker, kind=STAFF, strategy=ROUND_ROBIN)


def test_a_contact_way_target_has_a_way_per_channel_and_a_direct_one():
    codes, targets, store, maker, code = staff_code()
    a = codes.add_channel(code.id, "门店A")
    b = codes.add_channel(code.id, "门店B")

    target = targets.add_wecom_target(code.id, ZHANGSAN, StaffSettings(staff_name="张三"))

    assert [w.channel_id for w in target.ways] == [None, a.id, b.id]
    assert [owner for _, owner in maker.made] == [
        WayOwner(code.id, target.id, None),
        WayOwner(code.id, target.id, a.id),
        WayOwner(code.id, target.id, b.id),
    ]
    direct = target.ways[0]
    assert (target.url, target.qr_png, target.wecom_config_id) == (direct.url, direct.qr_png, direct.config_id)
    assert direct.url.startswith("https://work.weixin.qq.com/ca/")
    assert all(w.qr_png == qr_png(w.url) for w in target.ways)  # the checked re-render, not WeCom's bytes
    assert (target.kind, target.wecom_user, target.staff_name) == ("wecom", "zhangsan", "张三")
    assert store.codes[code.id].targets == (target,)


def test_a_channel_added_later_gets_a_way_for_every_wecom_target():
    codes, targets, store, maker, code = staff_code()
    first = targets.add_wecom_target(code.id, ZHANGSAN, StaffSettings(staff_name="张三"))
    second = targets.add_wecom_target(code.id, WaySpec(wecom_user="lisi"), StaffSettings(staff_name="李四"))

    channel = codes.add_channel(code.id, "门店A")

    saved = store.codes[code.id]
    for target in (first, second):
        ways = saved.target(target.id).ways
        assert [w.channel_id for w in ways] == [None, channel.id]
    assert len(maker.live(code.id)) == 4


@pytest.mark.parametrize("failing_call", [1, 2, 3])
def test_a_way_that_fails_takes_every_way_made_before_it_back(failing_call):
    maker = FakeWayMaker(fail_on={failing_call})
    codes, targets, store, maker, code = staff_code(maker)
    codes.add_channel(code.id, "A")
    codes.add_channel(code.id, "B")

    with pytest.raises(WeComRefused):
        targets.add_wecom_target(code.id, ZHANGSAN, StaffSettings(staff_name="张三"))

    assert maker.live() == {}
    assert len(maker.deleted) == failing_call - 1
    assert all(kind == "contact" for kind, _ in maker.deleted)
    assert store.codes[code.id].targets == ()


@pytest.mark.parametrize("failing_call", [None, 2, 9, 13])
def test_a_code_with_many_channels_makes_its_ways_in_parallel_all_or_nothing(failing_call):
    maker = FakeWayMaker(fail_on={failing_call} if failing_call else set())
    codes, targets, store, maker, code = staff_code(maker)
    channels = [codes.add_channel(code.id, f"门店{i}") for i in range(12)]
    if failing_call is None:
        target = targets.add_wecom_target(code.id, ZHANGSAN, StaffSettings(staff_name="张三"))
        ways = store.codes[code.id].target(target.id).ways
        assert [w.channel_id for w in ways] == [None, *(c.id for c in channels)]  # in the code's order
        assert len(maker.live(code.id)) == 13 and len({w.config_id for w in ways}) == 13
        return
    with pytest.raises(WeComRefused):
        targets.add_wecom_target(code.id, ZHANGSAN, StaffSettings(staff_name="张三"))
    assert maker.live() == {}  # every way made in any thread was taken back
    assert store.codes[code.id].targets == ()


def test_a_served_qr_that_is_not_the_ways_url_is_refused_and_the_ways_deleted():
    maker = FakeWayMaker(serve=lambda url: qr_png(url + "x"))
    codes, targets, store, maker, code = staff_code(maker)
    codes.add_channel(code.id, "A")

    with pytest.raises(UploadRefused, match="not the way's URL"):
        targets.add_wecom_target(code.id, ZHANGSAN, StaffSettings(staff_name="张三"))

    assert maker.live() == {}  # the one WeCom made before the check failed is gone too
    assert store.codes[code.id].targets == ()


def test_a_served_qr_that_is_not_a_wecom_url_or_no_qr_is_refused():
    codes, targets, store, maker, code = setup(FakeWayMaker(serve=lambda url: qr_png("https://weixin.qq.com/g/x")))
    with pytest.raises(UploadRefused, match="not a WeCom URL"):
        targets.add_wecom_target(code.id, GROUPS)
    maker.serve = lambda url: b"not an image"
    with pytest.raises(UnsupportedMediaType):
        targets.add_wecom_target(code.id, GROUPS)
    assert maker.live() == {}
    assert store.codes[code.id].targets == ()


def test_a_save_that_keeps_failing_deletes_the_ways():
    codes, targets, store, maker, code = staff_code()
    store.concurrent_edits.extend([lambda c: replace(c, title="busy")] * SAVE_ATTEMPTS)

    with pytest.raises(Conflict):
        targets.add_wecom_target(code.id, ZHANGSAN, StaffSettings(staff_name="张三"))

    assert maker.live() == {}
    assert store.codes[code.id].targets == ()


def test_a_channel_whose_way_fails_is_not_added_and_its_ways_are_deleted():
    codes, targets, store, maker, code = staff_code()
    targets.add_wecom_target(code.id, ZHANGSAN, StaffSettings(staff_name="张三"))
    targets.add_wecom_target(code.id, WaySpec(wecom_user="lisi"), StaffSettings(staff_name="李四"))
    maker.fail_on = {maker.calls + 2}

    with pytest.raises(WeComRefused):
        codes.add_channel(code.id, "A")

    assert store.codes[code.id].channels == ()
    assert len(maker.live()) == 2  # the two direct ways; the channel's first way was deleted again


def test_a_channel_added_while_the_target_was_made_is_a_conflict_not_a_target_without_its_way():
    codes, targets, store, maker, code = staff_code()
    store.concurrent_edits.append(lambda c: replace(c, channels=(Channel("late", "late", NOW),)))

    with pytest.raises(Conflict, match="was added while"):
        targets.add_wecom_target(code.id, ZHANGSAN, StaffSettings(staff_name="张三"))

    assert maker.live() == {}


def test_deleting_a_target_deletes_its_ways_and_a_failing_delete_is_only_logged(caplog):
    codes, targets, store, maker, code = setup()
    codes.add_channel(code.id, "A")
    target = targets.add_wecom_target(code.id, GROUPS)
    kept = targets.add_wecom_target(code.id, WaySpec(chat_ids=("otherGroup",)))

    targets.delete_target(code.id, target.id)
    assert sorted(maker.deleted) == sorted(("join", w.config_id) for w in target.ways)
    assert set(maker.live()) == {w.config_id for w in kept.ways}

    maker.failing_deletes = True
    targets.delete_target(code.id, kept.id)  # no error: the target is gone, the way is logged
    assert store.codes[code.id].targets == ()
    assert "could not delete WeCom way" in caplog.text


def test_without_wecom_connected_a_wecom_target_is_a_conflict_saying_what_to_do():
    store = FakeCodeStore()
    codes = CodeAdmin(store, clock=lambda: NOW)
    code = codes.create_code("c", kind=STAFF)
    with pytest.raises(Conflict, match="PUT /admin/wecom"):
        TargetAdmin(codes, FakeImageStore()).add_wecom_target(code.id, ZHANGSAN, StaffSettings(staff_name="张三"))


def test_a_code_holds_at_most_200_ways():
    codes, targets, store, maker, code = setup()
    for i in range(99):
        codes.add_channel(code.id, f"c{i}")
    targets.add_wecom_target(code.id, GROUPS)  # 1 × 100
    targets.add_wecom_target(code.id, WaySpec(chat_ids=("g2",)))  # 2 × 100
    made = maker.calls

    with pytest.raises(Conflict, match="at most 200"):
        targets.add_wecom_target(code.id, WaySpec(chat_ids=("g3",)))
    with pytest.raises(Conflict, match="at most 200"):
        codes.add_channel(code.id, "one more")
    assert maker.calls == made  # refused before WeCom was asked for anything


@pytest.mark.parametrize(
    ("spec", "kind", "says"),
    [
        (ZHANGSAN, "group", "wecom_chat_ids"),
        (GROUPS, "staff", "wecom_user"),
        (WaySpec(wecom_user="张三"), "staff", "not a WeCom userid"),
        (WaySpec(chat_ids=("a", "a")), "group", "twice"),
        (WaySpec(chat_ids=tuple("abcdef")), "group", "at most 5"),
        (WaySpec(chat_ids=("bad id",)), "group", "chat id"),
        (WaySpec(), "group", "either"),
    ],
)
def test_wrong_or_malformed_way_specs_are_refused_before_wecom(spec, kind, says):
    codes, targets, store, maker, code = setup(kind=kind)
    with pytest.raises(InvalidInput, match=says):
        targets.add_wecom_target(code.id, spec, StaffSettings(staff_name="张三"))
    assert maker.calls == 0


def test_grouped_codes_take_ways_in_their_options_and_the_same_member_twice_is_a_conflict():
    codes, targets, store, maker, code = setup(
        kind=GROUPED, options=[OptionSpec("上海"), OptionSpec("客服", strategy=ROUND_ROBIN)]
    )
    shanghai, staff = store.codes[code.id].options
    targets.add_wecom_target(code.id, GROUPS, option_id=shanghai.id)
    targets.add_wecom_target(code.id, ZHANGSAN, StaffSettings(staff_name="张三"), staff.id)
    with pytest.raises(Conflict, match="already reaches"):
        targets.add_wecom_target(code.id, ZHANGSAN, StaffSettings(staff_name="张三"), staff.id)
    with pytest.raises(InvalidInput, match="wecom_user"):
        targets.add_wecom_target(code.id, GROUPS, option_id=staff.id)


def test_wecom_targets_never_expire_and_join_ways_never_fill_up():
    codes, targets, store, maker, code = setup(switch_threshold=1)
    target = targets.add_wecom_target(code.id, GROUPS)
    saved = store.codes[code.id]
    assert not fills_up(saved, target)
    assert candidate_targets(saved, {target.id: 10_000}, NOW) == [target]
    with pytest.raises(InvalidInput, match="does not expire"):
        targets.update_target(code.id, target.id, None, NOW)
    with pytest.raises(NotFound, match="WeCom way"):
        targets.target_image_url(code.id, target.id)


def test_a_scan_shows_the_channels_way_else_the_direct_one():
    codes, targets, store, maker, code = setup(switch_threshold=1)
    a = codes.add_channel(code.id, "A")
    target = targets.add_wecom_target(code.id, GROUPS)
    direct, through_a = target.ways
    assert way_for(target, a.id) == through_a
    assert way_for(target, "unknown") == direct
    assert way_for(target, None) == direct

    service = ScanService(store, 0, clock=lambda: NOW)
    for _ in range(3):  # a join way keeps taking scans past the threshold
        page = service.scan(code.id, channel_id=a.id).page["body"]
        assert base64.b64encode(through_a.qr_png).decode() in page
        assert through_a.url in page
    page = service.scan(code.id).page["body"]
    assert base64.b64encode(direct.qr_png).decode() in page and direct.url in page
    page = service.scan(code.id, channel_id="gone").page["body"]
    assert direct.url in page


def test_an_uploaded_target_still_shows_its_own_qr_through_a_channel():
    codes, targets, store, maker, code = setup()
    a = codes.add_channel(code.id, "A")
    url, image = new_group_screenshot()
    target = targets.add_target(code.id, b64(image), None)
    page = ScanService(store, 0, clock=lambda: NOW).scan(code.id, channel_id=a.id).page["body"]
    assert base64.b64encode(target.qr_png).decode() in page
    assert way_for(target, a.id) is None


WELCOME = Welcome(
    "欢迎！",
    WelcomeLink("双11攻略", "https://example.com/a", None, "https://example.com/p.png"),
    "https://example.com/i.png",
    WelcomeMiniprogram("小程序", "wx123", "pages/index", "https://example.com/m.png"),
)


def test_items_round_trip_and_old_items_read_with_defaults():
    codes, targets, store, maker, code = staff_code()
    channel = codes.add_channel(code.id, "A", tags=["门店A"], welcome=Welcome("门店欢迎"))
    targets.add_wecom_target(code.id, ZHANGSAN, StaffSettings(staff_name="张三"))
    codes.update_code(code.id, tags=["双11", "VIP"], welcome=WELCOME)
    saved = store.codes[code.id]

    assert code_from_item(code_to_item(saved)) == saved

    item = code_to_item(saved)
    for name in ("tags", "welcome"):
        item.pop(name, None)
    for t in item["targets"]["L"]:
        for name in ("wecom_user", "wecom_chat_ids", "ways", "skip_verify", "auto_create_room", "room_base_name"):
            t["M"].pop(name, None)
    for c in item["channels"]["L"]:
        c["M"].pop("tags", None)
        c["M"].pop("welcome", None)
    old = code_from_item(item)
    old_channel = old.channel(channel.id)
    assert (old.tags, old.welcome, old_channel.tags, old_channel.welcome) == ((), None, (), None)
    (target,) = old.targets
    assert (target.wecom_user, target.wecom_chat_ids, target.ways, target.is_wecom_way) == (None, (), (), False)
    assert (target.skip_verify, target.auto_create_room, target.room_base_name) == (True, True, "")


def test_tags_and_welcome_of_codes_and_channels():
    codes, targets, store, maker, code = setup()
    a = codes.add_channel(code.id, "A", tags=[" 门店A ", "双11"], welcome=Welcome("门店欢迎"))
    b = codes.add_channel(code.id, "B")
    codes.update_code(code.id, tags=["双11", "VIP"], welcome=WELCOME)
    saved = store.codes[code.id]

    assert tags_for(saved, a.id) == ("双11", "VIP", "门店A")
    assert tags_for(saved, None) == ("双11", "VIP")
    assert welcome_for(saved, a.id) == Welcome("门店欢迎")
    assert welcome_for(saved, b.id) == WELCOME

    codes.update_code(code.id, clear_welcome=True)
    codes.update_channel(code.id, a.id, tags=[], clear_welcome=True)
    saved = store.codes[code.id]
    assert (saved.welcome, saved.tags) == (None, ("双11", "VIP"))
    assert (saved.channel(a.id).tags, saved.channel(a.id).welcome) == ((), None)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"tags": ["x"] * 2}, "repeated: x"),
        ({"tags": [str(i) for i in range(21)]}, "at most 20"),
        ({"tags": ["  "]}, "1 to 30"),
        ({"tags": ["x" * 31]}, "1 to 30"),
        ({"welcome": Welcome("  ")}, "welcome.text"),
        ({"welcome": Welcome("x" * 4001)}, "welcome.text"),
        ({"welcome": Welcome("hi", image_url="http://example.com/i.png")}, "welcome.image_url must be an https"),
        ({"welcome": Welcome("hi", WelcomeLink("t", "javascript:alert(1)"))}, "welcome.link.url"),
        ({"welcome": Welcome("hi", WelcomeLink("t", "https://a.cn", picurl="http://a.cn/p"))}, "picurl"),
        ({"welcome": Welcome("hi", miniprogram=WelcomeMiniprogram("t", "", "p", "https://a.cn/x"))}, "appid"),
    ],
)
def test_bad_tags_and_welcome_messages_are_refused_saying_what_to_change(change, says):
    codes, targets, store, maker, code = setup()
    with pytest.raises(InvalidInput, match=says):
        codes.update_code(code.id, **change)
    with pytest.raises(InvalidInput, match=says):
        codes.add_channel(code.id, "A", **change)
    assert store.codes[code.id].channels == ()
