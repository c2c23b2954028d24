"""Customer layering on the local stack, over HTTP like a phone and an operator: the contract's
questionnaire answered as a form with the visitor cookie, the tags on GET /admin/visitors/{vid},
the segment count moving; and the seeded demo questionnaire (seed 003's codebook) and segment."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta, timezone
from http.cookiejar import CookieJar

from local_stack.demo import DEMO_CHATS, call
from siyu.layering.orders import signature
from tests.e2e.http import get_json, post_json, wait_for
from tests.e2e.test_rotation_e2e import fire
from tests.helpers import qr_data_uri

CHINA = timezone(timedelta(hours=8))

PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/4G Language/zh_CN"
)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 302 itself is the answer


class Phone:
    """A phone's browser: keeps its cookies (the siyu_vid visitor cookie)."""

    def __init__(self, follow_redirects: bool = True):
        self.jar = CookieJar()
        handlers = [urllib.request.HTTPCookieProcessor(self.jar)] + ([] if follow_redirects else [NoRedirect()])
        self.opener = urllib.request.build_opener(*handlers)

    def open(self, url: str, form: dict | None = None) -> tuple[int, str]:
        data = urllib.parse.urlencode(form, doseq=True).encode() if form is not None else None
        request = urllib.request.Request(url, data=data, headers={"User-Agent": PHONE_UA})
        try:
            with self.opener.open(request, timeout=30) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    @property
    def visitor_id(self) -> str:
        return next(c.value for c in self.jar if c.name == "siyu_vid")


def test_answers_over_http_become_tags_and_move_the_segment_count(running_stack):
    info = running_stack.info

    def api(method, path, body=None):
        return call(info["api_url"], info["admin_token"], method, path, body)

    body = {
        "title": "e2e 肤质问卷",
        "questions": [
            {
                "text": "肤质",
                "kind": "single",
                "options": [{"label": "油皮", "tag": "oily"}, {"label": "干皮", "tag": "dry"}],
            },
            {
                "text": "困扰",
                "kind": "multi",
                "options": [{"label": "痘痘", "tag": "acne"}, {"label": "暗沉", "tag": "dull"}],
            },
        ],
    }
    status, created = api("POST", "/admin/questionnaires", body)
    assert status == 201, created
    status, segment = api("POST", "/admin/segments", {"name": "e2e 油皮痘痘", "rule": {"all": ["oily", "acne"]}})
    assert status == 201 and segment["count"] == 0

    phone = Phone()
    status, page = phone.open(created["url"])
    assert status == 200 and "肤质" in page
    status, page = phone.open(created["url"], {"q0": "油皮"})  # the second question left out
    assert status == 422 and "这一题还没有填写" in page and 'value="油皮" checked' in page
    status, page = phone.open(created["url"], {"q0": "油皮", "q1": ["痘痘", "暗沉"]})
    assert status == 200 and "谢谢" in page

    status, visitor = api("GET", f"/admin/visitors/{phone.visitor_id}")
    assert status == 200 and visitor["tags"] == ["acne", "dull", "oily"], visitor
    assert api("GET", f"/admin/segments/{segment['id']}")[1]["count"] == 1


def test_the_demo_questionnaire_fills_the_demo_precise_group_segment(running_stack):
    info = running_stack.info
    demo = info["layering"]

    def api(method, path, body=None):
        return call(info["api_url"], info["admin_token"], method, path, body)

    before = api("GET", f"/admin/segments/{demo['segment_id']}")[1]["count"]
    phone = Phone()
    status, page = phone.open(demo["questionnaire_url"])
    assert status == 200 and "您的肤质是？" in page and "闭口粉刺" in page
    answers = {"q0": "油性皮肤", "q1": ["痘痘", "出油"], "q2": "祛痘", "q4": "13800138000", "q4_consent": "1"}
    status, page = phone.open(demo["questionnaire_url"], answers)
    assert status == 200, page
    visitor = api("GET", f"/admin/visitors/{phone.visitor_id}")[1]
    assert visitor["tags"] == ["2", "3", "D", "油皮"] and visitor["segments"] == [demo["segment_id"]]
    assert api("GET", f"/admin/segments/{demo['segment_id']}")[1]["count"] == before + 1


def test_the_demo_precise_group_code_routes_the_demo_segment(running_stack):
    info = running_stack.info
    demo = info["layering"]

    def api(method, path, body=None):
        return call(info["api_url"], info["admin_token"], method, path, body)

    code = api("GET", f"/admin/codes/{demo['precise_code_id']}")[1]
    (route,) = [o for o in code["options"] if o.get("segment_id") == demo["segment_id"]]
    precise = next(t for t in code["targets"] if t.get("option_id") == route["id"])
    daily = next(t for t in code["targets"] if not t.get("option_id"))
    acne, other = Phone(), Phone()
    acne.open(demo["questionnaire_url"], {"q0": "混合性皮肤", "q1": "痘痘", "q2": "祛痘"})
    other.open(demo["questionnaire_url"], {"q0": "干性皮肤", "q1": "干燥缺水", "q2": "补水保湿"})
    assert qr_data_uri(precise["url"]) in acne.open(demo["precise_scan_url"])[1]
    assert qr_data_uri(daily["url"]) in other.open(demo["precise_scan_url"])[1]


def test_the_demo_flash_groups_rates_fill_in_as_customers_join_speak_click_and_sign_up(running_stack):
    info = running_stack.info
    demo, emulator = info["layering"], info["wecom_emulator_url"]

    def api(method, path, body=None):
        return call(info["api_url"], info["admin_token"], method, path, body)

    chat = DEMO_CHATS[0]
    customer = f"wmflash{int(time.time() * 1000) % 10**9}"
    joined = post_json(
        f"{emulator}/_emulator/scan", {"url": info["wecom_demo"]["group_join_way_url"], "external_userid": customer}
    )
    assert joined[0] == 200 and joined[1]["chat_id"] == chat, joined

    def group_row():
        rows = api("GET", f"/admin/flash-groups/{demo['flash_id']}/metrics")[1]["rows"]
        return next(r for r in rows if r["scope"] == "group" and r["key"] == chat and r["date"] is None)

    before = wait_for(lambda: (row := group_row())["members"] > 0 and row)
    assert post_json(f"{emulator}/_emulator/chats/{chat}/speak", {"external_userid": customer})[0] == 200

    phone = Phone(follow_redirects=False)
    phone.open(demo["questionnaire_url"])  # the visitor cookie
    status, _ = phone.open(demo["learning_link_url"])
    assert status == 302
    status, page = phone.open(demo["signup_url"], {"q0": "周六直播"})
    assert status == 200, page

    secret = "demo-brand-order-secret"
    assert api("PUT", "/admin/order-webhook", {"secret": secret})[0] == 204
    order = {
        "order_id": f"E2E-{customer}",
        "amount_fen": 12900,
        "paid_at": datetime.now(UTC).isoformat(),
        "external_userid": customer,
        "chat_id": chat,
    }
    raw, stamp = json.dumps(order).encode(), str(int(time.time()))
    request = urllib.request.Request(
        f"{info['api_url']}/hooks/orders",
        data=raw,
        headers={
            "Content-Type": "application/json",
            "X-Siyu-Timestamp": stamp,
            "X-Siyu-Signature": signature(secret, stamp, raw),
        },
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert json.loads(answer.read()) == {"result": "new"}

    job = fire(info["api_url"], "LayeringJobFunction")
    assert job, job
    after = group_row()
    assert after["learning_rate"]["numerator"] == before["learning_rate"]["numerator"] + 1
    assert after["interest_rate"]["numerator"] == before["interest_rate"]["numerator"] + 1
    assert after["conversion"]["numerator"] == before["conversion"]["numerator"] + 1
    assert after["revenue_fen"] == before["revenue_fen"] + 12900
    today = next(
        r
        for r in api("GET", f"/admin/flash-groups/{demo['flash_id']}/metrics")[1]["rows"]
        if r["scope"] == "flash" and r["date"] == datetime.now(CHINA).date().isoformat()
    )
    activity = today["activity_rate"]
    # WeCom counts activity per owner: a figure when the owner's groups are exactly the flash group's
    assert activity["numerator"] or "per owner" in (activity["reason"] or ""), activity
    assert "groupchat/statistic" in activity["source"]


def test_a_questionnaire_in_the_welcome_message_tags_the_wecom_contact(running_stack):
    """Seed 003: after adding the guide, the customer is led to the questionnaire; the welcome's link
    carries a signed contact token, so the answers' tags go to the contact in WeCom too."""
    info = running_stack.info
    emulator = info["wecom_emulator_url"]

    def api(method, path, body=None):
        return call(info["api_url"], info["admin_token"], method, path, body)

    questionnaire = info["layering"]
    status, code = api("POST", "/admin/codes", {"name": "e2e 问卷导购", "kind": "staff", "title": "添加顾问"})
    assert status == 201, code
    # WeCom takes https links: the questionnaire as it is deployed (PUBLIC_BASE_URL), opened here on the local API
    public = "https://qr.example.cn"
    path = questionnaire["questionnaire_url"].removeprefix(info["api_url"])
    link = {"title": "1 分钟肤质问卷", "url": public + path}
    assert (
        api("PATCH", f"/admin/codes/{code['id']}", {"welcome": {"text": "欢迎！先填个小问卷吧", "link": link}})[0]
        == 200
    )
    status, target = api("POST", f"/admin/codes/{code['id']}/targets", {"wecom_user": "wangwu", "staff_name": "王五"})
    assert status == 201, target
    customer = f"wmq{int(time.time() * 1000) % 10**9}"
    assert post_json(f"{emulator}/_emulator/scan", {"url": target["url"], "external_userid": customer})[0] == 200

    def welcome_link():
        for c in get_json(f"{emulator}/_emulator/calls"):
            if (
                c["path"].endswith("send_welcome_msg")
                and c["body"].get("text", {}).get("content") == "欢迎！先填个小问卷吧"
            ):
                url = c["body"]["attachments"][0]["link"]["url"]
                if "c=" in url:
                    return url
        return None

    url = wait_for(welcome_link)
    assert url.startswith(f"{public}{path}?c=")
    url = url.replace(public, info["api_url"])
    phone = Phone()
    status, page = phone.open(url)
    assert status == 200
    status, page = phone.open(url, {"q0": "油性皮肤", "q1": "痘痘", "q2": "祛痘"})
    assert status == 200, page
    visitor = api("GET", f"/admin/visitors/{phone.visitor_id}")[1]
    assert visitor["contact"] == {"external_userid": customer, "userid": "wangwu"}
    marks = [
        c
        for c in get_json(f"{emulator}/_emulator/calls")
        if c["path"].endswith("mark_tag")
        and c["body"].get("external_userid") == customer
        and c["response"]["errcode"] == 0
    ]
    # the answers' three tags (油皮, 3, D), and the demo segment's tag (3 + D) as the contact joins it
    assert {m["body"]["userid"] for m in marks} == {"wangwu"}
    assert sorted(len(m["body"]["add_tag"]) for m in marks) == [1, 3]
