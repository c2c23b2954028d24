"""Referral attacks of issue 16 through the real scan and worker functions on the emulated stack:
one laptop without cookies, an <img> of the referral URL on another site, another browser, the
"groups full" page, a referral pasted onto another code. Each is refused with its own reason."""

from __future__ import annotations

from collections import Counter

from tests.helpers import scan_event

CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
)


def referral_scan(fission, referral: str, code_id: str | None = None, ip="192.0.2.66", **headers) -> dict:
    """One cookie-less GET of `code_id`'s scan URL with ?r=`referral` (WeChat's user agent unless given)."""
    event = scan_event(code_id or fission.campaign["code_id"], {"r": referral})
    event["requestContext"]["http"]["sourceIp"] = ip
    event["headers"].update(headers)
    return fission.functions["ScanFunction"].invoke(event)


def reasons(fission) -> Counter:
    return Counter(r["reason"] for r in fission.get("refusals"))


def test_twenty_cookie_less_scans_from_one_laptop_never_reach_a_reward(new_campaign):
    """The attack: 20 GETs of one's own referral URL credited 10 invites and granted both tiers."""
    fission = new_campaign(
        tiers=[{"invites": 10, "reward": "¥30 券", "stock": 5}, {"invites": 20, "reward": "¥79 券", "stock": 5}]
    )
    _, alice, alice_vid = fission.join("Alice", ip="192.0.2.66")
    referral = alice["referral_url"].split("r=", 1)[1]
    for _ in range(20):
        assert referral_scan(fission, referral)["statusCode"] == 200
    assert len(fission.work()) == 20
    progress = fission.progress(alice_vid)
    assert progress["invites"] == 3 and progress["rewards"] == []  # min(3, lowest tier - 1)
    _, view = fission.admin("GET", f"/admin/campaigns/{fission.id}")
    assert view["invites_per_address_limit"] == 3 and [t["granted"] for t in view["tiers"]] == [0, 0]
    # The scan path counts a client's first scans of a code an hour (SCAN_CLIENT_LIMIT_PER_HOUR): 3 of those
    # credited, the rest over this campaign's limit for the address; the scans it did not count are no invites
    found = reasons(fission)
    assert sum(found.values()) == 17 and found["address_limit_reached"] >= 1
    assert set(found) <= {"address_limit_reached", "client_over_scan_limit", "address_rate_limited"}


def test_sub_resource_loads_other_browsers_and_other_codes_are_refused_with_their_reasons(new_campaign, admin):
    fission = new_campaign(tiers=[{"invites": 5, "reward": "券", "stock": 5}])
    _, alice, alice_vid = fission.join("Alice")
    referral = alice["referral_url"].split("r=", 1)[1]
    # <img src=".../s/<code>?r=..."> on any web page: each visitor's browser, each from its own address
    for n in range(4):
        referral_scan(
            fission, referral, ip=f"198.51.100.{n + 1}", **{"sec-fetch-dest": "image", "sec-fetch-mode": "no-cors"}
        )
    referral_scan(fission, referral, ip="198.51.100.9", **{"sec-fetch-dest": "iframe", "sec-fetch-mode": "navigate"})
    referral_scan(fission, referral, ip="198.51.100.10", **{"user-agent": CHROME_UA})  # another browser
    status, other_code = admin("POST", "/admin/codes", {"name": "another code"})
    assert status == 201
    referral_scan(fission, referral, other_code["id"], ip="198.51.100.11")  # the referral pasted onto it
    fission.work()
    assert fission.progress(alice_vid)["invites"] == 0
    assert reasons(fission) == Counter({"not_a_page_view": 5, "not_wechat_browser": 1, "campaign_not_on_code": 1})
    # A phone opening the poster's QR in WeChat, top-level, is an invite
    referral_scan(fission, referral, ip="198.51.100.12", **{"sec-fetch-dest": "document", "sec-fetch-mode": "navigate"})
    fission.work()
    assert fission.progress(alice_vid)["invites"] == 1


def test_a_scan_that_landed_on_the_groups_full_page_is_no_invite(new_campaign, admin):
    """The attack: invitees who landed on the "groups full" page were credited too."""
    fission = new_campaign(tiers=[{"invites": 5, "reward": "券", "stock": 5}])
    _, alice, alice_vid = fission.join("Alice")
    code_id = fission.campaign["code_id"]
    _, code = admin("GET", f"/admin/codes/{code_id}")
    for target in code["targets"]:  # every group closed: scanners see the fallback page
        status, _ = admin("PATCH", f"/admin/codes/{code_id}/targets/{target['id']}", {"enabled": False})
        assert status == 200
    referral = alice["referral_url"].split("r=", 1)[1]
    page = referral_scan(fission, referral, ip="198.51.100.30")
    assert page["statusCode"] == 200
    fission.work()
    assert fission.progress(alice_vid)["invites"] == 0 and reasons(fission) == Counter({"no_usable_target": 1})


def test_the_per_address_limit_is_set_per_campaign_below_the_lowest_tier(new_campaign):
    fission = new_campaign(tiers=[{"invites": 6, "reward": "券", "stock": 5}], rules={"invites_per_address": 5})
    _, view = fission.admin("GET", f"/admin/campaigns/{fission.id}")
    assert view["invites_per_address_limit"] == 5 and view["rules"]["invites_per_address"] == 5
    status, answer = fission.admin("PATCH", f"/admin/campaigns/{fission.id}", {"rules": {"invites_per_address": 6}})
    assert status == 422 and "set at most 5" in answer["message"]
    status, changed = fission.admin("PATCH", f"/admin/campaigns/{fission.id}", {"rules": {"invites_per_address": 1}})
    assert status == 200 and changed["invites_per_address_limit"] == 1
    status, renamed = fission.admin("PATCH", f"/admin/campaigns/{fission.id}", {"name": "改名"})
    assert status == 200 and renamed["invites_per_address_limit"] == 1
