"""Fission campaigns against the emulator: joins, referral scans through the real scan and
worker functions, every anti-fraud rule, tiers once, stock under concurrency, posters through
the poster queue, the signed reward webhook with retries."""

from __future__ import annotations

import base64
import io
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import zxingcpp
from PIL import Image

from siyu.campaigns.rules import Participant
from tests.helpers import b64, visitor_id_of
from tests.integration.campaigns.fission import ALICE_IP, page_event, page_view, service_on_a_clock
from tests.receiver import Receiver


def test_invites_count_once_and_every_anti_fraud_rule_is_recorded(new_campaign, scan):
    fission = new_campaign(tiers=[{"invites": 3, "reward": "¥30 券", "stock": 10}])
    status, alice, alice_vid = fission.join("小美🌸Lily", ip=ALICE_IP)
    assert status == 201 and alice["invites"] == 0 and alice["next_tier"]["invites_to_go"] == 3
    poster_url = alice["referral_url"]

    bob = fission.scan(poster_url)  # new to the brand: an invite
    fission.scan(poster_url, bob)  # the same friend again
    fission.scan(poster_url, alice_vid)  # Alice scanning her own poster
    carol = visitor_id_of(scan(fission.campaign["code_id"]))  # a customer from before the campaign
    fission.scan(poster_url, carol)
    dave = fission.scan(poster_url)
    assert len(fission.work()) == 5

    assert fission.progress(alice_vid)["invites"] == 2
    reasons = sorted(r["reason"] for r in fission.get("refusals"))
    assert reasons == ["already_invited", "not_new_to_brand", "self_invite"]
    invites = {i["invitee_visitor_id"]: i for i in fission.get("invites")}
    assert set(invites) == {bob, dave} and {i["status"] for i in invites.values()} == {"credited"}
    assert all("address_hash" in r and ALICE_IP not in json.dumps(r) for r in fission.get("refusals"))


def test_a_tier_unlocks_once_and_the_leaderboard_ranks_by_invites(new_campaign):
    fission = new_campaign(
        tiers=[{"invites": 2, "reward": "小样", "stock": 5}, {"invites": 3, "reward": "正装", "stock": 5}]
    )
    _, alice, alice_vid = fission.join("Alice")
    _, _, bella_vid = fission.join("Bella")
    for n in range(3):  # three friends, three phones
        fission.scan(alice["referral_url"], ip=f"203.0.113.{60 + n}")
    fission.work()
    progress = fission.progress(alice_vid)
    assert progress["invites"] == 3 and progress["next_tier"] is None and progress["rank"] == 1
    assert [(r["level"], r["status"]) for r in progress["rewards"]] == [(1, "granted"), (2, "granted")]
    assert [e["nickname"] for e in progress["leaderboard"][:2]] == ["Alice", "Bella"]
    assert fission.progress(bella_vid)["rank"] == 2
    assert len(fission.get("rewards")) == 2
    status, view = fission.admin("GET", f"/admin/campaigns/{fission.id}")
    assert [(t["granted"], t["left"]) for t in view["tiers"]] == [(1, 4), (1, 4)]


def test_hourly_limits_per_address_and_per_referrer(new_campaign):
    fission = new_campaign(
        tiers=[{"invites": 5, "reward": "券", "stock": 5}],  # one address may bring 3 over the campaign
        rules={"invites_per_address_per_hour": 2, "invites_per_referrer_per_hour": 3},
    )
    _, alice, alice_vid = fission.join("Alice")
    for _ in range(3):
        fission.scan(alice["referral_url"], ip="192.0.2.7")  # one phone farm
    for n in range(3):
        fission.scan(alice["referral_url"], ip=f"192.0.2.{100 + n}")
    fission.work()
    assert fission.progress(alice_vid)["invites"] == 3
    reasons = sorted(r["reason"] for r in fission.get("refusals"))
    assert reasons == ["address_rate_limited", "referrer_rate_limited", "referrer_rate_limited"]


def test_a_blocked_participant_earns_nothing_and_leaves_the_leaderboard(new_campaign):
    fission = new_campaign()
    _, alice, alice_vid = fission.join("Alice")
    status, blocked = fission.admin(
        "POST", f"/admin/campaigns/{fission.id}/participants/{alice['participant_id']}/block", {"reason": "刷单"}
    )
    assert status == 200 and blocked["blocked"] and blocked["blocked_reason"] == "刷单"
    fission.scan(alice["referral_url"])
    fission.work()
    progress = fission.progress(alice_vid)
    assert progress["invites"] == 0 and progress["blocked"] and progress["rank"] is None
    assert [r["reason"] for r in fission.get("refusals")] == ["referrer_blocked"]
    status, board = fission.admin("GET", f"/admin/campaigns/{fission.id}/participants")
    assert board["items"] == []
    fission.admin("POST", f"/admin/campaigns/{fission.id}/participants/{alice['participant_id']}/unblock")
    fission.scan(alice["referral_url"])
    fission.work()
    assert fission.progress(alice_vid)["invites"] == 1


def test_an_invitee_who_joins_is_their_referrers_invitee_with_a_poster_of_their_own(new_campaign):
    fission = new_campaign()
    _, alice, _ = fission.join("Alice")
    bob_vid = fission.scan(alice["referral_url"])
    fission.work()
    _, bob, _ = fission.join("Bob", bob_vid)
    status, bob_view = fission.admin("GET", f"/admin/campaigns/{fission.id}/participants/{bob['participant_id']}")
    assert bob_view["referred_by"] == alice["participant_id"]
    assert bob["referral_url"].endswith(f"?r={fission.id}.{bob['participant_id']}")
    _, again, _ = fission.join("another name", bob_vid)  # joining twice: the same participant
    assert again["participant_id"] == bob["participant_id"] and again["nickname"] == "Bob"


def test_a_poster_renders_through_the_queue_and_its_qr_decodes_to_the_referral_url(new_campaign):
    fission = new_campaign()
    photo = io.BytesIO()
    Image.new("RGB", (400, 300), "#2E86DE").save(photo, "PNG")
    _, alice, alice_vid = fission.join("小美🌸Lily", avatar_base64=base64.b64encode(photo.getvalue()).decode())
    assert not alice["poster_ready"]
    assert len(fission.render()) == 1
    answer = fission.functions["CampaignPageFunction"].invoke(
        page_event("GET", f"/c/{fission.id}/poster.jpg", alice_vid)
    )
    assert answer["statusCode"] == 200 and answer["headers"]["Content-Type"] == "image/jpeg"
    poster = Image.open(io.BytesIO(base64.b64decode(answer["body"])))
    assert poster.size == (750, 1334)
    assert [r.text for r in zxingcpp.read_barcodes(poster)] == [alice["referral_url"]]
    assert poster.getpixel((375, 180))[2] > 180  # the blue avatar sits in its circle
    other = fission.functions["CampaignPageFunction"].invoke(page_event("GET", f"/c/{fission.id}/poster.jpg", "f" * 20))
    assert other["statusCode"] == 404  # a poster is only served to its owner


def test_a_new_layout_and_bulk_pre_render_refresh_every_poster(new_campaign):
    fission = new_campaign()
    for name in ("A", "B", "C"):
        fission.join(name)
    fission.render()
    layout = {
        "qr": {"x": 400, "y": 1000, "size": 300},
        "texts": [{"x": 40, "y": 60, "text": "新品首发", "color": "#000000"}],
    }
    status, view = fission.admin("PATCH", f"/admin/campaigns/{fission.id}", {"poster": layout})
    assert status == 200 and view["poster_version"] == 2
    status, queued = fission.admin("POST", f"/admin/campaigns/{fission.id}/posters/render")
    assert status == 202 and queued == {"queued": 3, "already_current": 0}
    assert len(fission.render()) == 3
    status, queued = fission.admin("POST", f"/admin/campaigns/{fission.id}/posters/render")
    assert queued == {"queued": 0, "already_current": 3}


def test_stock_is_never_oversold_under_500_concurrent_qualifying_invites(stack, new_campaign):
    fission = new_campaign(tiers=[{"invites": 2, "reward": "限量礼盒", "stock": 100}])
    service, _ = service_on_a_clock()
    now = datetime.now(UTC)
    table = service.table
    for n in range(500):  # each one invite short of the tier
        referrer = Participant(f"ref{n:05d}", fission.id, f"{n:020x}", f"参与者{n}", now, invites=1)
        table.join(referrer)
        table.register_invite(fission.id, f"{n + 10**6:020x}", referrer.id, now, now, "h")
    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(lambda n: service.credit(fission.id, f"{n + 10**6:020x}"), range(500)))
    # "already_credited": the emulator applied a transaction whose answer timed out, and botocore's
    # retry found it done (DynamoDB itself answers such a retry by its ClientRequestToken).
    assert set(outcomes) <= {"credited", "already_credited"}, outcomes
    rewards, cursor = table.rewards(fission.id, 1000, None)
    assert cursor is None and len(rewards) == 500
    assert sum(r.status == "granted" for r in rewards) == 100
    assert sum(r.status == "out_of_stock" for r in rewards) == 400
    assert table.stock(fission.id) == {1: (100, 100)}
    status, body = fission.admin("PATCH", f"/admin/campaigns/{fission.id}", {"stock": [{"level": 1, "stock": 50}]})
    assert status == 409 and "tier 1" in body["message"] and "granted" in body["message"]  # below what was given


def test_the_reward_webhook_is_signed_retried_and_sent_once(new_campaign):
    receiver = Receiver(fail_first=2)
    try:
        fission = new_campaign(reward_webhook={"url": receiver.url, "secret": "s" * 32})
        service, clock = service_on_a_clock()
        _, alice, _ = fission.join("Alice")
        for n in range(2):
            visit = page_view(fission, alice["participant_id"], f"{n:020x}", f"h{n}", clock.now)
            assert service.register_referral(visit) == "credited"
        assert len(receiver.requests) == 1  # sent at once, failed
        for minutes in (1, 3, 10, 30):
            clock.now += timedelta(minutes=minutes)
            service.credit_due()
        assert len(receiver.requests) == 3
        (reward,) = fission.get("rewards")
        assert reward["notify_status"] == "delivered" and reward["attempts"] == 3 and "HTTP 500" in reward["last_error"]
        request = receiver.requests[-1]
        assert request.headers["x-siyu-event"] == "reward_granted"
        assert request.headers["idempotency-key"] == f"{fission.id}:{alice['participant_id']}#1"
        assert request.headers["x-siyu-signature"].startswith("sha256=")
        assert request.json()["reward"] == "¥30 无门槛券"
        status, resent = fission.admin(
            "POST", f"/admin/campaigns/{fission.id}/rewards/{alice['participant_id']}/1/resend"
        )
        assert status == 200 and resent["notify_status"] == "delivered" and len(receiver.requests) == 4
    finally:
        receiver.close()


def test_the_stay_time_credits_only_after_it_passed_and_a_revoked_invite_stops_counting(new_campaign):
    fission = new_campaign(rules={"stay_minutes": 30})
    service, clock = service_on_a_clock()
    _, alice, alice_vid = fission.join("Alice")
    for n in range(2):
        visit = page_view(fission, alice["participant_id"], f"{n + 500:020x}", f"h{n}", clock.now)
        assert service.register_referral(visit) == "pending"
    service.credit_due()
    assert fission.progress(alice_vid)["invites"] == 0
    clock.now += timedelta(minutes=31)
    service.credit_due()
    assert fission.progress(alice_vid)["invites"] == 2 and len(fission.progress(alice_vid)["rewards"]) == 1
    status, revoked = fission.admin(
        "POST", f"/admin/campaigns/{fission.id}/invites/{500:020x}/revoke", {"reason": "退群"}
    )
    assert status == 200 and revoked["status"] == "revoked" and revoked["reason"] == "退群"
    fission.admin("POST", f"/admin/campaigns/{fission.id}/invites/{500:020x}/revoke", {"reason": "退群"})
    assert fission.progress(alice_vid)["invites"] == 1  # revoked once, however often it is asked


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"code_id": "nosuchcode"}, "no live code"),
        (
            {"tiers": [{"invites": 3, "reward": "a", "stock": 1}, {"invites": 3, "reward": "b", "stock": 1}]},
            "same number",
        ),
        ({"poster": {"qr": {"x": 600, "y": 100, "size": 300}}}, "runs off"),
        ({"poster": {"qr": {"x": 10, "y": 100, "size": 100}}}, "smaller than 160"),
        ({"ends_at": "2020-01-01T00:00:00+08:00"}, "not after starts_at"),
        ({"reward_webhook": {"url": "ftp://x", "secret": "s" * 20}}, "reward_webhook.url"),
        ({"tiers": [{"invites": 1, "reward": "券", "stock": 1}]}, "one address alone could reach it"),
        ({"rules": {"invites_per_address": 2}}, "set at most 1"),
        ({"privacy_notice": " \n "}, "privacy_notice"),
    ],
)
def test_campaign_input_errors_say_what_to_fix_and_write_nothing(admin, group_code, storage, change, message):
    body = {
        "name": "bad",
        "code_id": group_code["id"],
        "ends_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        "tiers": [{"invites": 2, "reward": "券", "stock": 1}],
        **change,
    }
    before = storage.item_count()
    status, answer = admin("POST", "/admin/campaigns", body)
    assert status == 422 and message in answer["message"], answer
    assert storage.item_count() == before


def test_bad_joins_are_refused_with_a_reason_and_nothing_is_written(new_campaign, storage):
    fission = new_campaign()
    before, objects = storage.item_count(), len(storage.keys("campaigns/"))
    for body, status, message in (
        ({"nickname": "  \u200b "}, 422, "empty or invisible"),
        ({"nickname": "\u3164\u2800\u200d"}, 422, "empty or invisible"),
        ({"nickname": "名" * 65}, 422, "at most 64"),
        ({"nickname": "ok", "avatar_base64": b64(b"MZ\x90\x00 not a photo")}, 415, "not a JPEG, PNG or WebP"),
        ({"nickname": "ok", "avatar_base64": b64(b"GIF89a" + b"\x00" * 40)}, 415, "not a JPEG, PNG or WebP"),
        ({"nickname": "ok", "avatar_base64": "this is not base64!"}, 422, "avatar_base64 is not valid base64"),
        ({"nickname": "ok", "avatar": "a string"}, 422, "avatar must be an image file"),
    ):
        event = page_event("POST", f"/c/{fission.id}/join", None, body)
        answer = fission.functions["CampaignPageFunction"].invoke(event)
        assert answer["statusCode"] == status and message in json.loads(answer["body"])["message"], answer
    assert storage.item_count() == before and len(storage.keys("campaigns/")) == objects
    # A broken photo is decoded only after the cheap checks: it costs one of the address's joins this hour.
    broken = {"nickname": "ok", "avatar_base64": b64(b"\x89PNG\r\n\x1a\n" + b"\x00" * 9)}
    answer = fission.functions["CampaignPageFunction"].invoke(page_event("POST", f"/c/{fission.id}/join", None, broken))
    assert answer["statusCode"] == 422 and "not a readable" in json.loads(answer["body"])["message"]
    assert storage.item_count() == before + 1 and len(storage.keys("campaigns/")) == objects  # the join counter
    form = page_event("POST", f"/c/{fission.id}/join", None, None, content_type="application/x-www-form-urlencoded")
    form["headers"]["accept"] = "text/html"
    form["body"] = "nickname="
    page = fission.functions["CampaignPageFunction"].invoke(form)
    assert page["statusCode"] == 422 and "nickname is empty" in page["body"] and "<form" in page["body"]
    assert "frame-ancestors 'none'" in page["headers"]["Content-Security-Policy"]
    not_an_object = page_event("POST", f"/c/{fission.id}/join", None, ["nickname"])
    answer = fission.functions["CampaignPageFunction"].invoke(not_an_object)
    assert answer["statusCode"] == 400 and "JSON object" in json.loads(answer["body"])["message"]
    missing = fission.functions["CampaignPageFunction"].invoke(page_event("GET", "/c/nosuchcampaign"))
    assert missing["statusCode"] == 404 and "活动不存在" in missing["body"]


@pytest.mark.parametrize(
    "content_type, body, base64_encoded, status, says",
    [
        ("application/json", '{"nickname": ' * 5000 + '"x"' + "}" * 5000, False, 400, "nested too deeply"),
        ("application/json", "\xff\xfe{}", True, 400, "not UTF-8"),
        ("application/json", "{nope", False, 400, "not valid JSON"),
        (
            "multipart/form-data",
            "--x\r\nContent-Disposition: form-data; name=nickname\r\n\r\nA\r\n--x--",
            False,
            400,
            "boundary",
        ),
        ("multipart/form-data; boundary=", "nickname=A", False, 400, "boundary"),
        ("text/plain", "nickname=A", False, 415, "multipart/form-data"),
        ("application/xml", "<nickname>A</nickname>", False, 415, "application/json"),
        ("application/json", "not base64 at all!", True, 400, "could not be read"),
    ],
)
def test_join_bodies_a_client_got_wrong_get_a_4xx_saying_what_to_send(
    new_campaign, storage, content_type, body, base64_encoded, status, says
):
    fission = new_campaign()
    before = storage.item_count()
    event = page_event("POST", f"/c/{fission.id}/join", None, None, content_type=content_type)
    event["body"] = base64.b64encode(body.encode("latin-1")).decode() if base64_encoded else body
    if base64_encoded and says == "could not be read":
        event["body"] = body
    event["isBase64Encoded"] = base64_encoded
    answer = fission.functions["CampaignPageFunction"].invoke(event)
    assert answer["statusCode"] == status and says in json.loads(answer["body"])["message"], answer
    event["headers"]["accept"] = "text/html"
    page = fission.functions["CampaignPageFunction"].invoke(event)
    assert page["statusCode"] == status and "<form" in page["body"]  # the join page again, with the reason
    assert "请刷新页面后重新填写" in page["body"]  # in the page's language, not the technical reason
    assert storage.item_count() == before


@pytest.mark.parametrize(
    "body",
    [
        {"nickname": "a", "r": {"x": 1}},
        {"nickname": "a", "r": 12},
        {"nickname": ["a"]},
        {"nickname": "a", "avatar_base64": 5},
    ],
)
def test_join_fields_of_the_wrong_json_type_get_422_naming_the_field(new_campaign, storage, body):
    fission = new_campaign()
    before = storage.item_count()
    for accept in ("application/json", "text/html"):
        event = page_event("POST", f"/c/{fission.id}/join", None, body)
        event["headers"]["accept"] = accept
        answer = fission.functions["CampaignPageFunction"].invoke(event)
        says = "must be text" if accept == "application/json" else "表单内容有误"
        assert answer["statusCode"] == 422 and says in answer["body"], answer
    assert storage.item_count() == before


def test_a_multipart_join_with_too_many_parts_is_refused_before_parsing(new_campaign):
    fission = new_campaign()
    parts = "".join(f"--x\r\nContent-Disposition: form-data; name=f{i}\r\n\r\n\r\n" for i in range(50))
    event = page_event("POST", f"/c/{fission.id}/join", None, None, content_type="multipart/form-data; boundary=x")
    event["body"] = parts + "--x--\r\n"
    answer = fission.functions["CampaignPageFunction"].invoke(event)
    assert answer["statusCode"] == 400 and "parts" in json.loads(answer["body"])["message"]


def test_a_json_join_in_another_charset_gets_415(new_campaign):
    fission = new_campaign()
    event = page_event(
        "POST", f"/c/{fission.id}/join", None, {"nickname": "a"}, content_type="application/json; charset=latin-1"
    )
    answer = fission.functions["CampaignPageFunction"].invoke(event)
    assert answer["statusCode"] == 415 and "UTF-8" in json.loads(answer["body"])["message"]


def test_multipart_text_fields_sent_as_files_are_read_as_text(new_campaign):
    fission = new_campaign()
    body = (
        '--x\r\nContent-Disposition: form-data; name="nickname"; filename="n.txt"\r\n\r\n小美\r\n'
        '--x\r\nContent-Disposition: form-data; name="r"; filename="r.txt"\r\n\r\nnot-a-referral\r\n--x--\r\n'
    )
    event = page_event("POST", f"/c/{fission.id}/join", None, None, content_type="multipart/form-data; boundary=x")
    event["body"] = body
    answer = fission.functions["CampaignPageFunction"].invoke(event)
    assert answer["statusCode"] == 201 and json.loads(answer["body"])["nickname"] == "小美", answer
