"""A WeCom fission campaign on the local stack, over HTTP: a participant joins, their poster carries
their own contact way (联系我) and /me its URL; customers add the guide through it in the WeCom
emulator (/_emulator/scan). Three new customers are credited after the stay time; 20 cookie-less
GETs of the cookie referral URL credit nothing (wecom_add_required); a customer who followed
another guide before is refused (not_new_to_brand); one who deletes the guide within the stay is
revoked (left_before_stay). The figures are printed (run with -s to see them)."""

from __future__ import annotations

import io
import json
import time
import urllib.request
from collections import Counter

import zxingcpp
from PIL import Image

from tests.e2e.http import get_from
from tests.e2e.test_campaign_e2e import Phone
from tests.e2e.test_wecom_e2e import post_json
from tests.helpers import WECHAT_UA

GUIDE = "wangwu"  # the campaign's own member: the old fan below follows zhangsan (the staff code's way)


def wait_until(check, seconds: float = 30, every: float = 0.3, between=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        if between is not None:
            between()
        time.sleep(every)
    raise AssertionError(f"not within {seconds} s")


def test_invites_are_proven_by_wecom_adds(running_stack, api):
    info = running_stack.info
    api_url, emulator = info["api_url"], info["wecom_emulator_url"]

    # The demo campaign is a WeCom one
    demo_id = info["campaign_url"].rsplit("/", 1)[-1]
    demo = api("GET", f"/admin/campaigns/{demo_id}")[1]
    assert (demo["proof"], demo["wecom_users"]) == ("wecom_add", ["zhangsan"])

    # Given a WeCom campaign: invites after a one-minute stay
    status, campaign = api(
        "POST",
        "/admin/campaigns",
        {
            "name": "企微老带新",
            "code_id": info["demo_code_id"],
            "ends_at": "2099-01-01T00:00:00+08:00",
            "tiers": [{"invites": 3, "reward": "新人礼包", "stock": 10}],
            "rules": {"stay_minutes": 1},
            "wecom": {"users": [GUIDE]},
        },
    )
    assert status == 201, campaign
    assert campaign["proof"] == "wecom_add" and campaign["live_ways"] == 0
    cid, join_url = campaign["id"], campaign["join_url"]

    # When A joins, A's poster carries A's own contact way, and /me says its URL
    a = Phone()
    a.get(join_url)  # the campaign page sets the visitor cookie; the join's POST never does
    assert a.post_form(f"{join_url}/join", {"nickname": "阿花🌼"}, {})[0] == 200
    assert wait_until(lambda: a.get(f"{join_url}/poster.jpg")[0] == 200, 60), "no poster arrived"
    me = json.loads(a.get(f"{join_url}/me")[1])
    referral_url = me["referral_url"]
    assert referral_url.startswith("https://work.weixin.qq.com/ca/")
    (decoded,) = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(a.get(f"{join_url}/poster.jpg")[1])))]
    assert decoded == referral_url
    assert api("GET", f"/admin/campaigns/{cid}")[1]["live_ways"] == 1

    def scan(customer: str, url: str = referral_url) -> None:
        status, answer = post_json(
            f"{emulator}/_emulator/scan", {"url": url, "external_userid": customer, "name": customer}
        )
        assert status == 200 and answer["callbacks"], answer

    # A customer who followed another guide before (the staff code's contact way) comes through A's poster
    scan("wmE2eOldFan", info["wecom_demo"]["staff_contact_way_url"])
    time.sleep(1.2)  # WeCom's createtime is in seconds: the earlier follow is a second earlier
    scan("wmE2eOldFan")
    # Three new customers add the guide, and a fourth deletes them again at once (within the stay)
    for n in range(3):
        scan(f"wmE2eNew{n}")
    scan("wmE2eLeaver")

    def invites() -> dict[str, dict]:
        return {i["invitee_visitor_id"]: i for i in api("GET", f"/admin/campaigns/{cid}/invites")[1]["items"]}

    wait_until(lambda: "wx-wmE2eLeaver" in invites())
    status, answer = post_json(f"{emulator}/_emulator/contacts/wmE2eLeaver/delete", {"userid": GUIDE, "by": "customer"})
    assert status == 200, answer

    # And 20 scripted cookie-less GETs of the cookie referral URL (what the poster carried before), each
    # posing as a new phone in WeChat: the attack that earned one laptop every reward under the cookie proof
    cookie_url = f"{api_url}/s/{info['demo_code_id']}?r={cid}.{me['participant_id']}"
    for _ in range(20):  # from one laptop's address of its own (past 10 an hour it moves no counter)
        assert get_from(cookie_url, "127.0.5.5", {"User-Agent": WECHAT_UA})[0] == 200

    def refusals() -> Counter:
        return Counter(r["reason"] for r in api("GET", f"/admin/campaigns/{cid}/refusals?limit=200")[1]["items"])

    wait_until(lambda: refusals() == Counter({"wecom_add_required": 20, "not_new_to_brand": 1}))
    wait_until(lambda: invites()["wx-wmE2eLeaver"]["status"] == "revoked")
    assert invites()["wx-wmE2eLeaver"]["reason"] == "left_before_stay"
    assert json.loads(a.get(f"{join_url}/me")[1])["invites"] == 0  # still within the stay

    # Then, after the stay, the three new customers are credited (the schedule credits them)
    def fire():
        request = urllib.request.Request(f"{api_url}/_local/schedules/CampaignWorkerFunction", method="POST")
        urllib.request.urlopen(request, timeout=60).read()

    wait_until(lambda: json.loads(a.get(f"{join_url}/me")[1])["invites"] == 3, 150, 3, between=fire)
    progress = json.loads(a.get(f"{join_url}/me")[1])
    assert [(r["level"], r["reward"]) for r in progress["rewards"]] == [(1, "新人礼包")]
    statuses = Counter(i["status"] for i in invites().values())
    assert statuses == Counter({"credited": 3, "revoked": 1})
    figures = {"credited": statuses["credited"], "revoked": statuses["revoked"], "refused": dict(refusals())}
    print("\nWeCom campaign figures:", json.dumps(figures, ensure_ascii=False))
    assert figures == {
        "credited": 3,
        "revoked": 1,
        "refused": {"wecom_add_required": 20, "not_new_to_brand": 1},
    }
