"""WeCom-backed targets, tags and welcome messages against the emulator: the admin API's bodies and
refusals (WeCom is not connected in the stack), and the code admin with the fake WayMaker on the
real table, read back by the real scan service."""

from __future__ import annotations

import base64

import pytest

from siyu.live_codes.admin import CodeAdmin
from siyu.live_codes.edit_rules import StaffSettings, WaySpec
from siyu.live_codes.repository import CodesTable
from siyu.live_codes.scan import ScanService
from siyu.live_codes.targets_admin import TargetAdmin
from siyu.storage.uploads_bucket import UploadsBucket
from tests.fakes.live_codes import FakeWayMaker

WELCOME = {
    "text": "欢迎加入！",
    "link": {"title": "攻略", "url": "https://example.com/a", "desc": "双11", "picurl": "https://example.com/p.png"},
    "image_url": "https://example.com/i.png",
    "miniprogram": {"title": "小程序", "appid": "wx123", "page": "pages/index", "pic_url": "https://example.com/m.png"},
}


def test_a_wecom_target_without_wecom_connected_is_a_409_saying_what_to_do(admin, new_code):
    code = new_code(kind="staff")
    status, body = admin("POST", f"/admin/codes/{code['id']}/targets", {"wecom_user": "zhangsan", "staff_name": "张三"})
    assert status == 409, body
    assert "PUT /admin/wecom" in body["message"]


@pytest.mark.parametrize(
    ("kind", "body", "says"),
    [
        ("staff", {"wecom_chat_ids": ["wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA"]}, "wecom_user"),
        ("group", {"wecom_user": "zhangsan", "staff_name": "张三"}, "wecom_chat_ids"),
        ("group", {"wecom_chat_ids": ["a", "a"]}, "twice"),
    ],
)
def test_the_wrong_kind_of_way_for_the_code_is_a_422(admin, new_code, kind, body, says):
    code = new_code(kind=kind)
    status, answer = admin("POST", f"/admin/codes/{code['id']}/targets", body)
    assert status == 422, answer
    assert says in answer["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"wecom_user": "张三"},
        {"wecom_chat_ids": []},
        {"wecom_chat_ids": ["a", "b", "c", "d", "e", "f"]},
        {"wecom_chat_ids": ["a b"]},
        {"wecom_user": "zhangsan", "wecom_chat_ids": ["a"]},
        {"wecom_user": "zhangsan", "image_base64": "x"},
    ],
)
def test_malformed_target_bodies_are_422(admin, new_code, body):
    code = new_code(kind="staff")
    status, answer = admin("POST", f"/admin/codes/{code['id']}/targets", body)
    assert status == 422, answer


def test_tags_and_welcome_on_codes_and_channels(admin, new_code):
    code = new_code()
    status, view = admin("PATCH", f"/admin/codes/{code['id']}", {"tags": ["双11", "VIP"], "welcome": WELCOME})
    assert status == 200, view
    assert (view["tags"], view["welcome"]) == (["双11", "VIP"], WELCOME)
    assert all(t["expires_at"] is not None for t in view["targets"])

    status, channel = admin(
        "POST", f"/admin/codes/{code['id']}/channels", {"name": "门店A", "tags": ["门店A"], "welcome": {"text": "hi"}}
    )
    assert status == 201, channel
    assert channel["tags"] == ["门店A"]
    assert channel["welcome"] == {"text": "hi", "link": None, "image_url": None, "miniprogram": None}

    status, changed = admin(
        "PATCH", f"/admin/codes/{code['id']}/channels/{channel['id']}", {"welcome": None, "tags": []}
    )
    assert status == 200, changed
    assert (changed["name"], changed["tags"], changed["welcome"]) == ("门店A", [], None)

    status, view = admin("PATCH", f"/admin/codes/{code['id']}", {"welcome": None})
    assert (view["tags"], view["welcome"]) == (["双11", "VIP"], None)


@pytest.mark.parametrize(
    "change",
    [
        {"tags": ["x", "x"]},
        {"tags": ["x" * 31]},
        {"tags": [str(i) for i in range(21)]},
        {"welcome": {"text": ""}},
        {"welcome": {"text": "hi", "image_url": "http://example.com/i.png"}},
        {"welcome": {"text": "hi", "video": "https://example.com/v.mp4"}},
    ],
)
def test_bad_tags_and_welcome_messages_are_422(admin, new_code, change):
    code = new_code()
    status, answer = admin("PATCH", f"/admin/codes/{code['id']}", change)
    assert status == 422, answer


def test_the_contract_documents_the_wecom_bodies(admin):
    status, document = admin("GET", "/admin/openapi.json")
    assert status == 200
    schemas = document["components"]["schemas"]
    assert {"ContactWayTarget", "JoinWayTarget", "TargetUpload", "WelcomeBody", "WayView"} <= set(schemas)
    assert schemas["JoinWayTarget"]["properties"]["wecom_chat_ids"]["maxItems"] == 5
    assert "pattern" in str(schemas["ContactWayTarget"]["properties"]["wecom_user"])


def test_ways_are_stored_and_a_scan_through_a_channel_shows_its_way(stack, new_code):
    code = new_code(kind="staff")
    maker = FakeWayMaker()
    codes = CodeAdmin(CodesTable.from_environment(), way_maker=maker)
    targets = TargetAdmin(codes, UploadsBucket.from_environment())
    channel = codes.add_channel(code["id"], "门店A", tags=["门店A"])
    target = targets.add_wecom_target(code["id"], WaySpec(wecom_user="zhangsan"), StaffSettings(staff_name="张三"))
    later = codes.add_channel(code["id"], "门店B")

    stored = codes.get(code["id"]).target(target.id)
    assert [w.channel_id for w in stored.ways] == [None, channel.id, later.id]
    assert stored.wecom_user == "zhangsan" and stored.ways[:2] == target.ways

    service = ScanService(CodesTable.from_environment(), cache_seconds=0)
    for channel_id, way in ((None, stored.ways[0]), (channel.id, stored.ways[1]), (later.id, stored.ways[2])):
        page = service.scan(code["id"], channel_id=channel_id).page["body"]
        assert base64.b64encode(way.qr_png).decode() in page and way.url in page

    targets.delete_target(code["id"], target.id)
    assert maker.live(code["id"]) == {}
