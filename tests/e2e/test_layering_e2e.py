"""Customer layering on the local stack, over HTTP like a phone and an operator: the contract's
questionnaire answered as a form with the visitor cookie, the tags on GET /admin/visitors/{vid},
the segment count moving; and the seeded demo questionnaire (seed 003's codebook) and segment."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

from local_stack.demo import call

PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/4G Language/zh_CN"
)


class Phone:
    """A phone's browser: keeps its cookies (the siyu_vid visitor cookie)."""

    def __init__(self):
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

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
