"""The public join under the attacks of issue 16, through the real campaign page function on the
emulated stack: cross-site forms, the visitor cookie, cheap checks before the avatar is decoded,
the privacy notice and its version, and no invite (so no reward webhook) from a join."""

from __future__ import annotations

import io
import json
import secrets
import time

from PIL import Image

from siyu.campaigns.service import CAMPAIGN_CACHE_SECONDS
from tests.helpers import b64
from tests.integration.campaigns.fission import page_event
from tests.receiver import Receiver


def join_event(fission, visitor_id=None, body=None, **headers):
    event = page_event("POST", f"/c/{fission.id}/join", visitor_id, body or {"nickname": "Alice"})
    event["headers"].update(headers)
    return event


def invoke(fission, event) -> dict:
    return fission.functions["CampaignPageFunction"].invoke(event)


def test_a_cross_site_form_cannot_make_the_victim_a_participant(new_campaign, storage):
    """The attack: a cross-site auto-submitted form made the victim a participant and replaced their cookie."""
    fission = new_campaign()
    before = storage.item_count()
    for headers in ({"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}, {"origin": "null"}):
        answer = invoke(fission, join_event(fission, **headers))
        assert answer["statusCode"] == 403 and "another site" in json.loads(answer["body"])["message"]
        page = invoke(fission, join_event(fission, accept="text/html", **headers))
        assert page["statusCode"] == 403 and "cookies" not in page
    assert storage.item_count() == before
    same_site = {"origin": "https://qr.example.cn", "sec-fetch-site": "same-origin"}
    assert invoke(fission, join_event(fission, **same_site))["statusCode"] == 201
    assert invoke(fission, join_event(fission))["statusCode"] == 201  # an older WebView: neither header


def test_a_post_never_sets_or_replaces_the_visitor_cookie(new_campaign, storage):
    fission = new_campaign()
    before = storage.item_count()
    no_cookie = join_event(fission, "")
    answer = invoke(fission, no_cookie)
    assert answer["statusCode"] == 400 and "GET /c/" in json.loads(answer["body"])["message"]
    no_cookie["headers"]["accept"] = "text/html"
    page = invoke(fission, no_cookie)
    assert page["statusCode"] == 303 and page["headers"]["Location"] == f"/c/{fission.id}" and "cookies" not in page
    assert storage.item_count() == before
    first_visit = invoke(fission, page_event("GET", f"/c/{fission.id}"))
    assert "<form" in first_visit["body"] and first_visit["cookies"][0].startswith("siyu_vid=")  # the GET sets it
    again = invoke(fission, page_event("GET", f"/c/{fission.id}", "a" * 20))
    assert "cookies" not in again  # and never replaces one


def test_a_refused_or_returning_client_never_gets_its_avatar_decoded(new_campaign):
    """The attack: a client already refused with 429 still cost 0.5-0.8 s of CPU per 6000x6000 PNG."""
    fission = new_campaign(rules={"joins_per_address_per_hour": 1})
    huge = io.BytesIO()
    Image.new("1", (6000, 6000)).save(huge, "PNG")  # 36 MP in a few kB: decoded, it would be refused (422)
    visitor = secrets.token_hex(10)
    assert invoke(fission, join_event(fission, visitor))["statusCode"] == 201
    big = {"nickname": "Mallory", "avatar_base64": b64(huge.getvalue())}
    again = invoke(fission, join_event(fission, visitor, big))
    assert again["statusCode"] == 201 and json.loads(again["body"])["nickname"] == "Alice"  # joined already
    limited = invoke(fission, join_event(fission, secrets.token_hex(10), big))
    assert limited["statusCode"] == 429, limited  # the limit first, never the decoder
    other = page_event("POST", f"/c/{fission.id}/join", None, big, ip="203.0.113.77")
    refused = invoke(fission, other)
    assert refused["statusCode"] == 422 and "at most 8 megapixels" in json.loads(refused["body"])["message"]


def test_the_privacy_notice_is_shown_and_the_version_agreed_to_is_kept(new_campaign):
    fission = new_campaign(privacy_notice="本活动仅用你的昵称和头像生成海报，活动结束 30 天后删除。")
    page = invoke(fission, page_event("GET", f"/c/{fission.id}"))
    assert "活动结束 30 天后删除" in page["body"]
    _, view = fission.admin("GET", f"/admin/campaigns/{fission.id}")
    shown = view["privacy_notice_version"]
    assert f"value='{shown}'" in page["body"] and view["privacy_notice"].startswith("本活动仅用")
    joined = json.loads(invoke(fission, join_event(fission, body={"nickname": "Alice", "notice": shown}))["body"])
    status, participant = fission.admin("GET", f"/admin/campaigns/{fission.id}/participants/{joined['participant_id']}")
    assert status == 200 and participant["privacy_notice_version"] == shown
    status, changed = fission.admin("PATCH", f"/admin/campaigns/{fission.id}", {"privacy_notice": "新的说明。"})
    assert status == 200 and changed["privacy_notice_version"] != shown
    time.sleep(CAMPAIGN_CACHE_SECONDS)  # the page function's copy of the campaign is this old at most
    stale = invoke(fission, join_event(fission, body={"nickname": "Bob", "notice": shown}, accept="text/html"))
    assert stale["statusCode"] == 409 and "隐私说明已更新" in stale["body"] and "新的说明。" in stale["body"]
    default = new_campaign()
    assert "提交即表示你已阅读并同意" in invoke(default, page_event("GET", f"/c/{default.id}"))["body"]


def test_a_join_through_a_friends_link_credits_nothing_and_calls_no_webhook(new_campaign):
    """The reward webhook was called inside the public join: a slow coupon system failed joins."""
    receiver = Receiver()
    try:
        fission = new_campaign(
            tiers=[{"invites": 2, "reward": "券", "stock": 5}],
            reward_webhook={"url": receiver.url, "secret": "s" * 32},
        )
        _, alice, alice_vid = fission.join("Alice")
        referral = alice["referral_url"].split("r=", 1)[1]
        for n in range(3):
            status, _, _ = fission.join(f"friend{n}", r=referral, ip=f"203.0.113.{n + 20}")
            assert status == 201
        assert fission.work() == [] and fission.progress(alice_vid)["invites"] == 0 and receiver.requests == []
    finally:
        receiver.close()
