"""Staff codes, grouped codes, channels and statistics against the emulator: the real scan and
admin handlers, and the scan service with a clock we control (for caps and local midnight)."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
import zxingcpp
from PIL import Image

from siyu.live_codes.repository import CodesTable
from siyu.live_codes.scan import ScanService
from siyu.statistics.repository import StatsTable
from siyu.statistics.rules import funnel_dims, funnel_increments, leave_increments
from siyu.statistics.visitors_repository import VisitorsTable
from tests.helpers import (
    b64,
    browser_cookies,
    new_group_screenshot,
    new_staff_screenshot,
    qr_data_uri,
    scan_event,
    visitor_id_of,
)

CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
)


@pytest.fixture
def scan_page(stack):
    function = stack.functions["ScanFunction"]
    return lambda code_id, **kwargs: function.invoke(scan_event(code_id, **kwargs))


@pytest.fixture
def raw_admin(stack):
    """Admin calls whose answer is not JSON (CSV, PNG, SVG): (status, headers, body bytes)."""
    import base64

    from tests.helpers import admin_event

    function = stack.functions["AdminApiFunction"]

    def call(path: str, query: dict | None = None):
        answer = function.invoke(admin_event("GET", path, None, query))
        body = answer.get("body") or ""
        data = base64.b64decode(body) if answer.get("isBase64Encoded") else body.encode()
        return answer["statusCode"], answer.get("headers", {}), data

    return call


@pytest.fixture
def staff_code(admin, new_code):
    """A staff code with the given staff members: {name: target fields}; returns (code, {name: target})."""

    def create(members: dict[str, dict], **settings):
        code = new_code(kind="staff", **settings)
        targets = {}
        for name, fields in members.items():
            url, image = new_staff_screenshot(name)
            body = {"image_base64": b64(image), "staff_name": name, **fields}
            status, target = admin("POST", f"/admin/codes/{code['id']}/targets", body)
            assert status == 201, target
            targets[name] = {**target, "qr_url": url}
        return code, targets

    return create


def shown(page: dict, targets: dict[str, dict]) -> str | None:
    found = [name for name, t in targets.items() if qr_data_uri(t["qr_url"]) in page["body"]]
    assert len(found) <= 1
    return found[0] if found else None


def service(clock=None, cache_seconds: float = 0) -> ScanService:
    """A scan container with its own cache, on the same storage as the stack."""
    kwargs = {"clock": clock} if clock else {}
    return ScanService(
        CodesTable.from_environment(),
        cache_seconds,
        VisitorsTable.from_environment(),
        StatsTable.from_environment(),
        **kwargs,
    )


def assigned(admin, code_id: str) -> dict[str, int]:
    status, code = admin("GET", f"/admin/codes/{code_id}")
    assert status == 200
    return {t["staff_name"]: t["scans"] for t in code["targets"]}


# --- assignment ----------------------------------------------------------------------------


def test_round_robin_shares_new_scanners_equally(admin, scan_page, staff_code):
    code, targets = staff_code({"小王": {}, "小李": {}, "小张": {}})
    shown_names = [shown(scan_page(code["id"]), targets) for _ in range(30)]
    assert Counter(shown_names) == {"小王": 10, "小李": 10, "小张": 10}
    assert assigned(admin, code["id"]) == {"小王": 10, "小李": 10, "小张": 10}


def test_weights_hold_across_two_containers(admin, staff_code):
    # Given staff weighted 3:1, and two scan containers each with its own cache
    code, targets = staff_code({"a": {"weight": 3}, "b": {"weight": 1}}, strategy="weighted")
    containers = [service(cache_seconds=3), service(cache_seconds=3)]
    # When 400 new scanners arrive, alternating between the containers
    for i in range(400):
        containers[i % 2].scan(code["id"])
    # Then storage says a got three of every four, within a few percent
    counts = assigned(admin, code["id"])
    assert abs(counts["a"] - 300) <= 12 and counts["a"] + counts["b"] == 400, counts


def test_a_capped_staff_member_is_skipped_and_the_cap_resets_at_local_midnight(admin, staff_code):
    code, targets = staff_code({"capped": {"daily_cap": 2}, "open": {}})
    now = [datetime(2026, 11, 25, 15, 50, tzinfo=UTC)]  # 23:50 in Shanghai
    container = service(clock=lambda: now[0])
    names = Counter(shown(container.scan(code["id"]).page, targets) for _ in range(6))
    assert names == {"capped": 2, "open": 4}
    now[0] = datetime(2026, 11, 25, 16, 1, tzinfo=UTC)  # 00:01 the next day in Shanghai
    assert shown(container.scan(code["id"]).page, targets) == "capped"


def test_a_daily_cap_holds_under_concurrent_scans(admin, staff_code, storage):
    code, targets = staff_code({"capped": {"daily_cap": 5}, "open": {}})
    containers = [service(cache_seconds=3) for _ in range(4)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: containers[i % 4].scan(code["id"]), range(60)))
    assert assigned(admin, code["id"]) == {"capped": 5, "open": 55}
    shards = [i["sk"]["S"] for i in storage.items(code["id"]) if i["sk"]["S"].startswith("SCANS#")]
    assert len({sk for sk in shards if sk.startswith(f"SCANS#{targets['open']['id']}#")}) > 1  # spread over shards


def test_off_hours_staff_are_skipped_and_backups_cover_when_all_are_off_or_capped(admin, staff_code):
    nine_to_six = [{"days": [1, 2, 3, 4, 5, 6, 7], "start": "09:00", "end": "18:00"}]
    code, targets = staff_code(
        {"day": {"working_hours": nine_to_six}, "capped": {"daily_cap": 1}, "backup": {"backup": True}}
    )
    evening = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai: "day" is off
    container = service(clock=lambda: evening)
    names = [shown(container.scan(code["id"]).page, targets) for _ in range(4)]
    assert names == ["capped", "backup", "backup", "backup"]
    morning = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 the next day
    container.clock = lambda: morning
    assert {shown(container.scan(code["id"]).page, targets) for _ in range(2)} == {"day", "capped"}


def test_a_returning_scanner_sees_the_same_staff_member_and_is_not_counted_again(admin, scan_page, staff_code):
    code, targets = staff_code({"a": {}, "b": {}})
    first = scan_page(code["id"])
    visitor = visitor_id_of(first)
    assert visitor and "HttpOnly" in first["cookies"][0]
    again = [shown(scan_page(code["id"], cookies=browser_cookies(first)), targets) for _ in range(3)]
    assert again == [shown(first, targets)] * 3
    assert sum(assigned(admin, code["id"]).values()) == 1
    # ...and another scanner gets the other staff member (round robin did not move for the repeats)
    other = shown(scan_page(code["id"]), targets)
    assert other != shown(first, targets)


def test_staff_codes_refuse_group_qrs_and_nameless_staff(admin, new_code):
    code = new_code(kind="staff")
    _, group = new_group_screenshot()
    status, answer = admin(
        "POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(group), "staff_name": "x"}
    )
    assert status == 422 and "contact QR" in answer["message"]
    _, contact = new_staff_screenshot()
    status, answer = admin("POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(contact)})
    assert status == 422 and "staff_name" in answer["message"]
    status, answer = admin("POST", "/admin/codes", {"name": "x", "kind": "staff", "time_zone": "Mars/Olympus"})
    assert status == 422 and "time_zone" in answer["message"]
    status, answer = admin("POST", "/admin/codes", {"name": "x", "kind": "group", "strategy": "weighted"})
    assert status == 422 and "staff code" in answer["message"]
    status, answer = admin(
        "POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(contact), "staff_name": "x", "weight": 0}
    )
    assert status == 422 and "weight" in answer["message"]


# --- grouped codes -------------------------------------------------------------------------


@pytest.fixture
def grouped_code(admin, new_code):
    code = new_code(
        kind="grouped",
        guidance="您所在的城市？",
        options=[
            {"label": "上海", "tag": "city:sh"},
            {"label": "北京", "description": "含天津", "strategy": "round_robin"},
        ],
    )
    shanghai, beijing = code["options"]
    group_url, group = new_group_screenshot("上海群")
    staff_url, staff = new_staff_screenshot("北京顾问")
    for option, image, extra in ((shanghai, group, {}), (beijing, staff, {"staff_name": "老周"})):
        body = {"image_base64": b64(image), "option_id": option["id"], **extra}
        status, target = admin("POST", f"/admin/codes/{code['id']}/targets", body)
        assert status == 201, target
    return code, {"上海": group_url, "北京": staff_url}


def test_a_grouped_code_shows_the_choices_then_the_picked_options_pool(admin, scan_page, grouped_code):
    code, urls = grouped_code
    shanghai, beijing = code["options"]
    choices = scan_page(code["id"])
    assert "您所在的城市？" in choices["body"] and "上海" in choices["body"] and "含天津" in choices["body"]
    assert f"?o={shanghai['id']}" in choices["body"] and "data:image/png" not in choices["body"]
    visitor = visitor_id_of(choices)
    picked = scan_page(code["id"], query={"o": shanghai["id"]}, visitor_id=visitor)
    assert qr_data_uri(urls["上海"]) in picked["body"] and "加入群聊" in picked["body"]
    other = scan_page(code["id"], query={"o": beijing["id"]})
    assert qr_data_uri(urls["北京"]) in other["body"] and "老周" in other["body"]
    # The pick is a tag on the scanner's visitor record
    status, record = admin("GET", f"/admin/visitors/{visitor}")
    assert status == 200 and record["codes"][0]["tags"] == ["city:sh"]
    status, record = admin("GET", f"/admin/visitors/{visitor_id_of(other)}")
    assert record["codes"][0]["tags"] == ["北京"]  # no tag given: the label


def test_a_grouped_code_target_needs_an_option(admin, grouped_code):
    code, _ = grouped_code
    _, image = new_group_screenshot()
    status, answer = admin("POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(image)})
    assert status == 422 and "option_id" in answer["message"]
    status, answer = admin("POST", "/admin/codes", {"name": "x", "kind": "grouped"})
    assert status == 422 and "options" in answer["message"]


# --- channels and statistics ---------------------------------------------------------------


def test_channels_get_scan_urls_and_print_ready_qr_files(admin, raw_admin, new_code):
    code = new_code()
    status, channel = admin("POST", f"/admin/codes/{code['id']}/channels", {"name": "门店12号立牌"})
    assert status == 201 and channel["scan_url"] == f"{code['scan_url']}?ch={channel['id']}"
    status, answer = admin("POST", f"/admin/codes/{code['id']}/channels", {"name": "门店12号立牌"})
    assert status == 409 and "already" in answer["message"]
    status, headers, png = raw_admin(f"/admin/codes/{code['id']}/channels/{channel['id']}/qr.png", {"size": "800"})
    assert status == 200 and headers["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(png)) as image:
        assert 600 <= image.size[0] <= 800
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [channel["scan_url"]]
    status, headers, svg = raw_admin(f"/admin/codes/{code['id']}/qr.svg")
    assert status == 200 and b"<svg" in svg and headers["Content-Type"] == "image/svg+xml"
    status, _, _ = raw_admin(f"/admin/codes/{code['id']}/qr.png", {"size": "20"})
    assert status == 422


def test_statistics_attribute_channels_count_uniques_and_skip_bots(
    admin, raw_admin, scan_page, staff_code, flush_stats
):
    code, targets = staff_code({"a": {}, "b": {}})
    status, parcel = admin("POST", f"/admin/codes/{code['id']}/channels", {"name": "包裹卡"})
    # Given: one scanner twice through the parcel card, one in another browser directly,
    # a bot and a HEAD request
    first = scan_page(code["id"], query={"ch": parcel["id"]})
    scan_page(code["id"], query={"ch": parcel["id"]}, cookies=browser_cookies(first))
    scan_page(code["id"], user_agent=CHROME_UA)
    bot = scan_page(code["id"], query={"ch": parcel["id"]}, user_agent="Mozilla/5.0 (compatible; Googlebot/2.1)")
    head = scan_page(code["id"], method="HEAD")
    assert bot["statusCode"] == head["statusCode"] == 200 and not bot.get("cookies")

    # When the operator reads today's statistics (once the container flushed them: within 5 s)
    flush_stats()
    status, stats = admin("GET", f"/admin/codes/{code['id']}/stats")
    assert status == 200, stats
    today = stats["to"]
    rows = {(r["dimension"], r["key"]): r for r in stats["rows"] if r["date"] == today}

    # Then the code saw 3 views by 2 people, 2 in WeChat; the channel 2 views by 1 person
    whole = rows[("code", code["id"])]
    assert (whole["views"], whole["unique_visitors"], whole["wechat"], whole["other_browsers"]) == (3, 2, 2, 1)
    assert whole["assigned"] == 2 and whole["new_visitors"] == 2
    card = rows[("channel", parcel["id"])]
    assert (card["name"], card["views"], card["unique_visitors"], card["assigned"]) == ("包裹卡", 2, 1, 1)
    direct = rows[("channel", "-")]
    assert (direct["views"], direct["other_browsers"]) == (1, 1)
    per_target = {rows[("target", t["id"])]["name"]: rows[("target", t["id"])]["assigned"] for t in targets.values()}
    assert per_target == {"a": 1, "b": 1}

    # ...and the CSV says the same as the JSON
    status, headers, data = raw_admin(f"/admin/codes/{code['id']}/stats.csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    csv_rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(csv_rows) == len(stats["rows"])
    for from_csv, from_json in zip(csv_rows, stats["rows"], strict=True):
        assert from_csv == {k: "" if v is None else str(v) for k, v in from_json.items()}


def test_statistics_refuse_bad_ranges(admin, new_code):
    code = new_code()
    status, answer = admin("GET", f"/admin/codes/{code['id']}/stats", query={"from": "25/11/2026"})
    assert status == 422 and "2026-11-25" in answer["message"]
    status, answer = admin("GET", f"/admin/codes/{code['id']}/stats", query={"from": "2026-11-25", "to": "2026-11-01"})
    assert status == 422 and "swap" in answer["message"]
    status, answer = admin("GET", f"/admin/codes/{code['id']}/stats", query={"from": "2020-01-01", "to": "2026-11-01"})
    assert status == 422 and "366" in answer["message"]


def test_statistics_days_follow_the_codes_time_zone(admin, staff_code):
    code, _ = staff_code({"a": {}}, time_zone="America/New_York")
    late = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # still the 24th in New York
    service(clock=lambda: late).scan(code["id"])
    status, stats = admin("GET", f"/admin/codes/{code['id']}/stats", query={"from": "2026-11-24", "to": "2026-11-25"})
    views = {r["date"]: r["views"] for r in stats["rows"] if r["dimension"] == "code"}
    assert views == {"2026-11-24": 1, "2026-11-25": 0}
    assert json.dumps(stats["totals"])  # totals are plain JSON
    assert [t["views"] for t in stats["totals"] if t["dimension"] == "code"] == [1]


def test_the_funnel_after_the_scan_is_stored_and_reported_in_json_and_csv(admin, raw_admin, staff_code):
    code, targets = staff_code({"a": {}})
    status, parcel = admin("POST", f"/admin/codes/{code['id']}/channels", {"name": "包裹卡"})
    target = targets["a"]["id"]
    stats = StatsTable.from_environment()
    status, first = admin("GET", f"/admin/codes/{code['id']}/stats")
    today = date.fromisoformat(first["to"])
    cohort, recent = (today - timedelta(days=d) for d in (10, 1))
    dims = funnel_dims(parcel["id"], target, None)
    # Given: on the cohort day 2 visitors, 2 adds and 2 joins (one of whom left 3 days later),
    # a contact who deleted the guide; yesterday one join and one visitor
    stats.add(code["id"], cohort.isoformat(), {"u|code": 2, "n|code": 2, "u|ch:" + parcel["id"]: 2})
    for metric in ("added", "added", "joined", "joined", "deleted"):
        stats.add(code["id"], cohort.isoformat(), funnel_increments(metric, dims))
    joined_at = datetime.combine(cohort, datetime.min.time(), tzinfo=UTC) + timedelta(hours=4)  # noon in Shanghai
    for day, added in leave_increments(_code_record(code), dims, joined_at + timedelta(days=3), joined_at).items():
        stats.add(code["id"], day, added)
    stats.add(code["id"], recent.isoformat(), {"u|code": 1, "n|code": 1, **funnel_increments("joined", dims)})

    # Then the repository reads back the stored counters
    stored = stats.read(code["id"], cohort.isoformat(), today.isoformat())
    assert stored[cohort.isoformat()]["ad|code"] == 2 and stored[cohort.isoformat()]["l7|t:" + target] == 1
    assert stored[(cohort + timedelta(days=3)).isoformat()]["l|ch:" + parcel["id"]] == 1

    # When the operator reads the range
    query = {"from": cohort.isoformat(), "to": today.isoformat()}
    status, report = admin("GET", f"/admin/codes/{code['id']}/stats", query=query)
    assert status == 200, report
    rows = {(r["date"], r["dimension"]): r for r in report["rows"]}
    whole = rows[(cohort.isoformat(), "code")]
    assert (whole["added"], whole["joined"], whole["left"], whole["deleted"], whole["stayed_7d"]) == (2, 2, 0, 1, 1)
    assert (whole["add_rate"], whole["join_rate"], whole["retention_7d"]) == (1.0, 1.0, 0.5)
    assert rows[((cohort + timedelta(days=3)).isoformat(), "code")]["left"] == 1
    assert rows[(cohort.isoformat(), "target")]["stayed_7d"] == 1
    assert rows[(recent.isoformat(), "code")]["stayed_7d"] is None  # the cohort is not complete yet
    assert rows[(recent.isoformat(), "code")]["join_rate"] == 1.0
    assert rows[(today.isoformat(), "code")]["add_rate"] is None
    total = next(t for t in report["totals"] if t["dimension"] == "code")
    assert (total["added"], total["joined"], total["stayed_7d"], total["join_rate"]) == (2, 3, None, 1.0)

    # ...and the CSV has the same columns in the same order, empty where the JSON is null
    status, headers, data = raw_admin(f"/admin/codes/{code['id']}/stats.csv", query)
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert lines[0] == list(report["rows"][0])
    for line, from_json in zip(lines[1:], report["rows"], strict=True):
        assert line == ["" if v is None else str(v) for v in from_json.values()]


def _code_record(code: dict):
    loaded, _ = CodesTable.from_environment().load(code["id"])
    assert loaded is not None
    return loaded
