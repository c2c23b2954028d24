"""A small fission campaign on the local stack, over HTTP like real phones: participant A joins
on the campaign page (nickname with emoji, avatar), gets a poster whose QR decodes to A's
referral URL; B and C scan it; A unlocks tier 1 and the brand's webhook receives one signed
reward call."""

import functools
import http.client
import http.cookiejar
import io
import json
import urllib.request
import uuid

import zxingcpp
from PIL import Image

from siyu.delivery.sender import signature
from tests.e2e.http import wait_for as first_answer
from tests.e2e.test_sop_e2e import wait_for
from tests.helpers import WECHAT_UA, b64, new_group_screenshot
from tests.receiver import Receiver

SECRET = "coupon-system-secret-0123456789"
DESKTOP_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
)


class FromAddress(urllib.request.HTTPHandler):
    """Connects from `source` (any 127.x.y.z reaches the local stack): each phone its own address."""

    def __init__(self, source: str):
        super().__init__()
        self.source = source

    def http_open(self, req):
        return self.do_open(functools.partial(http.client.HTTPConnection, source_address=(self.source, 0)), req)


class Phone:
    """A phone's WeChat browser: its own cookies, its own network address, WeChat's user agent."""

    def __init__(self, address: str = "127.0.0.1", user_agent: str = WECHAT_UA, cookies: bool = True):
        handlers: list = [FromAddress(address)]
        if cookies:
            handlers.append(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.opener = urllib.request.build_opener(*handlers)
        self.user_agent = user_agent

    def get(self, url: str) -> tuple[int, bytes, str]:
        request = urllib.request.Request(url, headers={"User-Agent": self.user_agent})
        try:
            with self.opener.open(request, timeout=60) as answer:
                return answer.status, answer.read(), answer.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers.get("Content-Type", "")

    def post_form(self, url: str, fields: dict, files: dict) -> tuple[int, bytes]:
        """The join form as the browser submits it: multipart/form-data, then the redirect."""
        boundary = uuid.uuid4().hex
        body = b""
        for name, value in fields.items():
            body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, (filename, data) in files.items():
            body += (
                (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                    "Content-Type: image/png\r\n\r\n"
                ).encode()
                + data
                + b"\r\n"
            )
        body += f"--{boundary}--\r\n".encode()
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"User-Agent": self.user_agent, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        with self.opener.open(request, timeout=60) as answer:
            return answer.status, answer.read()


def test_a_small_campaign_a_joins_b_and_c_come_through_a_s_poster_a_unlocks_tier_1(running_stack, api):
    api_url = running_stack.info["api_url"]

    receiver = Receiver()
    try:
        # Given a group code and a campaign on it: 2 invites unlock ¥30, the coupon system is told
        status, code = api("POST", "/admin/codes", {"name": "裂变落地码"})
        assert status == 201, code
        _, screenshot = new_group_screenshot("裂变福利群")
        assert api("POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(screenshot)})[0] == 201
        status, campaign = api(
            "POST",
            "/admin/campaigns",
            {
                "name": "老带新领好礼",
                "code_id": code["id"],
                "ends_at": "2099-01-01T00:00:00+08:00",
                "tiers": [
                    {"invites": 2, "reward": "¥30 无门槛券", "stock": 10},
                    {"invites": 5, "reward": "¥79 券", "stock": 5},
                ],
                "reward_webhook": {"url": receiver.url, "secret": SECRET},
            },
        )
        assert status == 201, campaign
        assert campaign["join_url"] == f"{api_url}/c/{campaign['id']}"

        # When A opens the campaign page and joins with a nickname and an avatar
        a = Phone()
        status, page, _ = a.get(campaign["join_url"])
        assert status == 200 and "<form" in page.decode()
        avatar = io.BytesIO()
        Image.new("RGB", (300, 300), "#E74C3C").save(avatar, "PNG")
        status, page = a.post_form(
            f"{campaign['join_url']}/join", {"nickname": "小美🌸Lily"}, {"avatar": ("me.png", avatar.getvalue())}
        )
        assert status == 200 and "小美🌸Lily" in page.decode()  # redirected to A's progress page

        # Then A's poster is rendered through the queue, and its QR is A's referral URL
        assert wait_for(lambda: a.get(f"{campaign['join_url']}/poster.jpg")[0] == 200), "no poster arrived"
        _, jpeg, content_type = a.get(f"{campaign['join_url']}/poster.jpg")
        assert content_type == "image/jpeg"
        (decoded,) = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(jpeg)))]
        _, me, _ = a.get(f"{campaign['join_url']}/me")
        progress = json.loads(me)
        assert decoded == progress["referral_url"] and decoded.startswith(f"{api_url}/s/{code['id']}?r=")

        # When B and C scan A's poster (and A scans it too, which does not count)
        for phone in (Phone("127.0.0.2"), Phone("127.0.0.3"), a):  # each friend on their own network
            status, page, _ = phone.get(decoded)
            assert status == 200 and "我也要参加" in page.decode()

        # Then A has 2 invites, tier 1 is unlocked, and the coupon system got one signed call
        def unlocked():
            state = json.loads(a.get(f"{campaign['join_url']}/me")[1])
            return state["invites"] == 2 and state["rewards"] and receiver.requests

        assert wait_for(unlocked), json.loads(a.get(f"{campaign['join_url']}/me")[1])
        state = json.loads(a.get(f"{campaign['join_url']}/me")[1])
        assert [(r["level"], r["reward"]) for r in state["rewards"]] == [(1, "¥30 无门槛券")]
        assert state["next_tier"]["invites_to_go"] == 3 and state["rank"] == 1
        (request,) = receiver.requests
        assert request.headers["x-siyu-signature"] == signature(SECRET, request.body)
        assert request.json()["nickname"] == "小美🌸Lily" and request.json()["level"] == 1
        _, refusals = api("GET", f"/admin/campaigns/{campaign['id']}/refusals")
        assert [r["reason"] for r in refusals["items"]] == ["self_invite"]
        _, rewards = api("GET", f"/admin/campaigns/{campaign['id']}/rewards")
        assert [(r["status"], r["notify_status"]) for r in rewards["items"]] == [("granted", "delivered")]
    finally:
        receiver.close()


def test_twenty_cookie_less_scans_of_a_referral_url_from_one_laptop_credit_nothing_usable(running_stack, api):
    """Issue 16's attack, replayed over HTTP: one laptop, no cookies, 20 GETs of its own referral URL."""
    status, code = api("POST", "/admin/codes", {"name": "刷单测试码"})
    assert status == 201, code
    _, screenshot = new_group_screenshot("刷单测试群")
    assert api("POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(screenshot)})[0] == 201
    tiers = [{"invites": 2, "reward": "¥30 券", "stock": 10}, {"invites": 5, "reward": "¥79 券", "stock": 5}]
    body = {"name": "刷单测试", "code_id": code["id"], "ends_at": "2099-01-01T00:00:00+08:00", "tiers": tiers}
    status, campaign = api("POST", "/admin/campaigns", body)
    assert status == 201, campaign
    a = Phone("127.0.0.4")
    a.get(campaign["join_url"])
    a.post_form(f"{campaign['join_url']}/join", {"nickname": "Mallory"}, {})
    referral_url = json.loads(a.get(f"{campaign['join_url']}/me")[1])["referral_url"]
    laptop = Phone("127.0.0.4", user_agent=DESKTOP_CHROME, cookies=False)  # a desktop browser (curl is a bot)
    for _ in range(20):
        assert laptop.get(referral_url)[0] == 200
    posing = Phone("127.0.0.6", cookies=False)  # a laptop posing as WeChat (the first is over the scan limit)
    for _ in range(20):
        assert posing.get(referral_url)[0] == 200

    def judged():
        _, refusals = api("GET", f"/admin/campaigns/{campaign['id']}/refusals?limit=100")
        return len(refusals["items"]) >= 39 and refusals

    refusals = first_answer(judged, 60)
    reasons = [r["reason"] for r in refusals["items"]]
    assert reasons.count("not_wechat_browser") == 20 and reasons.count("client_over_scan_limit") >= 1
    state = json.loads(a.get(f"{campaign['join_url']}/me")[1])
    assert state["invites"] == 1 and state["rewards"] == []  # one address: fewer than the lowest tier's 2
    _, view = api("GET", f"/admin/campaigns/{campaign['id']}")
    assert view["invites_per_address_limit"] == 1 and [t["granted"] for t in view["tiers"]] == [0, 0]
