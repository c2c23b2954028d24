"""The public scan path against the emulator: rotation, fallback, counting under
concurrency, and a page even when DynamoDB fails."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from siyu.live_codes.repository import CodesTable
from siyu.live_codes.scan import STORAGE_BACKOFF_SECONDS, ScanService
from tests.helpers import b64, new_group_screenshot, qr_data_uri, scan_event


@pytest.fixture
def code_with_targets(admin, new_code):
    def create(count: int, **settings):
        code = new_code(**settings)
        urls = []
        for _ in range(count):
            url, image = new_group_screenshot()
            status, _ = admin("POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(image)})
            assert status == 201
            urls.append(url)
        return code, urls

    return create


def shown_url(page: dict, candidates: list[str]) -> str | None:
    """Which of `candidates` the page's QR shows (the re-render is deterministic per URL)."""
    found = [url for url in candidates if qr_data_uri(url) in page["body"]]
    assert len(found) <= 1
    return found[0] if found else None


def test_scans_rotate_at_the_threshold_then_fall_back(admin, scan, code_with_targets):
    code, urls = code_with_targets(2, switch_threshold=3, fallback_text="都满了，请联系客服")
    pages = [scan(code["id"]) for _ in range(7)]
    assert all(p["statusCode"] == 200 for p in pages)
    assert [shown_url(p, urls) for p in pages] == [urls[0]] * 3 + [urls[1]] * 3 + [None]
    assert "都满了，请联系客服" in pages[-1]["body"]
    _, read = admin("GET", f"/admin/codes/{code['id']}")
    assert [(t["scans"], t["status"]) for t in read["targets"]] == [(3, "full"), (3, "full")]
    assert read["fallback_scans"] == 1 and read["total_scans"] == 7


def test_page_is_a_mobile_landing_page(scan, code_with_targets):
    code, urls = code_with_targets(1, title="会员福利群")
    page = scan(code["id"])
    assert page["headers"]["Content-Type"].startswith("text/html")
    assert 'name="viewport"' in page["body"] and "会员福利群" in page["body"]
    assert "长按识别二维码加入群聊" in page["body"] and shown_url(page, urls) == urls[0]


def test_fallback_shows_backup_qr_with_status_200(admin, scan, new_code):
    code = new_code()
    backup_url, image = new_group_screenshot()
    admin("PUT", f"/admin/codes/{code['id']}/backup-qr", {"image_base64": b64(image)})
    page = scan(code["id"])
    assert page["statusCode"] == 200 and shown_url(page, [backup_url]) == backup_url


def test_unknown_and_archived_codes_get_friendly_pages(admin, scan, code_with_targets):
    for junk in ("nosuchcode", "../../etc", "x" * 200, ""):
        page = scan(junk)
        assert page["statusCode"] == 404 and "二维码不存在" in page["body"]
    code, urls = code_with_targets(1)
    admin("POST", f"/admin/codes/{code['id']}/archive")
    page = ScanService(CodesTable.from_environment(), cache_seconds=0).scan(code["id"]).page
    assert page["statusCode"] == 200 and "已结束" in page["body"] and shown_url(page, urls) is None


def test_expired_and_disabled_targets_are_skipped_before_any_job_runs(admin, code_with_targets):
    code, urls = code_with_targets(3)
    _, read = admin("GET", f"/admin/codes/{code['id']}")
    first, second, third = (t["id"] for t in read["targets"])
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    admin("PATCH", f"/admin/codes/{code['id']}/targets/{first}", {"expires_at": soon})
    admin("PATCH", f"/admin/codes/{code['id']}/targets/{second}", {"enabled": False})
    later = datetime.now(UTC) + timedelta(hours=2)
    service = ScanService(CodesTable.from_environment(), cache_seconds=0, clock=lambda: later)
    assert service.scan(code["id"]).target_id == third


def test_settings_reach_a_warm_container_within_the_cache_window(admin, code_with_targets):
    code, urls = code_with_targets(2, switch_threshold=5)
    now = [1000.0]
    service = ScanService(CodesTable.from_environment(), cache_seconds=3, monotonic=lambda: now[0])
    assert service.scan(code["id"]).target_id is not None
    _, read = admin("GET", f"/admin/codes/{code['id']}")
    admin("PATCH", f"/admin/codes/{code['id']}", {"switch_threshold": 1})
    first = read["targets"][0]["id"]
    assert service.scan(code["id"]).target_id == first  # still the cached threshold of 5
    now[0] += 3
    assert service.scan(code["id"]).target_id == read["targets"][1]["id"]  # reloaded: threshold 1


def test_a_new_target_is_found_before_showing_the_fallback(admin, code_with_targets):
    code, _ = code_with_targets(1, switch_threshold=1)
    now = [1000.0]
    service = ScanService(CodesTable.from_environment(), cache_seconds=3600, monotonic=lambda: now[0])
    assert service.scan(code["id"]).outcome == "target"
    url, image = new_group_screenshot()
    admin("POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(image)})
    now[0] += 1  # a burst on an exhausted code re-reads at most once a second
    result = service.scan(code["id"])
    assert result.outcome == "target" and shown_url(result.page, [url]) == url


def test_threshold_holds_under_1000_concurrent_scans(admin, code_with_targets):
    # 1,000 scans from 64 threads over 16 containers (each its own cache, as Lambda runs them).
    # The containers use the patient client: the emulator serialises every call and shares the
    # GIL with 64 threads, so the scan path's 1 s timeout would measure the emulator, not us.
    code, urls = code_with_targets(3, switch_threshold=300)
    containers = [ScanService(CodesTable.from_environment(), cache_seconds=3) for _ in range(16)]
    with ThreadPoolExecutor(max_workers=64) as pool:
        results = list(pool.map(lambda i: containers[i % 16].scan(code["id"]), range(1000)))
    assert len(results) == 1000 and all(r.page["statusCode"] == 200 for r in results)
    shown = [shown_url(r.page, urls) for r in results]
    assert [shown.count(url) for url in urls] == [300, 300, 300]
    assert shown.count(None) == 100 and all(r.outcome == "fallback" for r in results if not r.counted)
    _, read = admin("GET", f"/admin/codes/{code['id']}")
    assert [t["scans"] for t in read["targets"]] == [300, 300, 300] and read["fallback_scans"] == 100


def test_concurrent_scans_through_the_handler_all_get_pages(admin, scan, code_with_targets):
    code, urls = code_with_targets(2, switch_threshold=100)
    with ThreadPoolExecutor(max_workers=16) as pool:
        pages = list(pool.map(lambda _: scan(code["id"]), range(300)))
    # Under this much contention some calls time out: those scans get the container's last good
    # target or the self-refreshing notice, but always a page, and storage never overshoots.
    assert all(p["statusCode"] == 200 and "<main>" in p["body"] for p in pages)
    _, read = admin("GET", f"/admin/codes/{code['id']}")
    assert all(t["scans"] <= 100 for t in read["targets"])


def test_separate_containers_share_the_threshold(code_with_targets):
    code, urls = code_with_targets(2, switch_threshold=50)
    containers = [ScanService(CodesTable.from_environment(), cache_seconds=3) for _ in range(8)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda i: containers[i % 8].scan(code["id"]), range(150)))
    counted = [r.target_id for r in results if r.counted]
    assert len(counted) == 100 and len(set(counted)) == 2 and all(counted.count(t) == 50 for t in set(counted))


class TestWhenDynamoDBFails:
    @pytest.fixture
    def outage(self, stack):
        def start(kind: str | None = "error"):
            stack.emulator.faults.dynamodb = kind

        yield start
        stack.emulator.faults.dynamodb = None

    @staticmethod
    def container(now: list[float]) -> ScanService:
        return ScanService(CodesTable.from_environment(fast=True), cache_seconds=3, monotonic=lambda: now[0])

    def test_scan_handler_serves_the_last_known_good_target(self, scan, code_with_targets, outage):
        code, urls = code_with_targets(2)
        assert shown_url(scan(code["id"]), urls) == urls[0]
        outage("error")
        for _ in range(3):
            page = scan(code["id"])
            assert page["statusCode"] == 200 and shown_url(page, urls) == urls[0]
        outage(None)
        time.sleep(STORAGE_BACKOFF_SECONDS)  # let this process's scan "container" ask storage again

    def test_slow_storage_costs_one_slow_scan_then_none(self, stack, code_with_targets, outage):
        code, urls = code_with_targets(1)
        now = [1000.0]
        container = self.container(now)
        assert container.scan(code["id"]).counted
        now[0] += 3  # settings are due for a refresh
        stack.emulator.faults.slow_seconds = 2
        outage("slow")
        calls: list[str] = []
        client = container.table._client
        record = lambda model, **_: calls.append(model.name)  # noqa: E731
        client.meta.events.register("before-call.dynamodb", record)
        try:
            result = container.scan(code["id"])  # times out (two attempts), then the last good page
            assert result.outcome == "target" and not result.counted and shown_url(result.page, urls) == urls[0]
            tried = len(calls)
            assert container.scan(code["id"]).outcome == "target"
            assert len(calls) == tried  # backing off: the next scan does not wait on storage again
        finally:
            client.meta.events.unregister("before-call.dynamodb", record)

    def test_cold_container_shows_a_self_refreshing_page_not_an_error(self, code_with_targets, outage):
        code, _ = code_with_targets(1)
        outage("error")
        result = self.container([0.0]).scan(code["id"])
        assert result.page["statusCode"] == 200 and re.search(r'http-equiv="refresh"', result.page["body"])

    def test_counting_resumes_after_the_backoff(self, admin, code_with_targets, outage):
        code, urls = code_with_targets(1)
        now = [1000.0]
        container = self.container(now)
        assert container.scan(code["id"]).counted
        outage("error")
        assert not container.scan(code["id"]).counted
        outage(None)
        assert not container.scan(code["id"]).counted  # still backing off: storage is not asked
        now[0] += STORAGE_BACKOFF_SECONDS
        assert container.scan(code["id"]).counted
        _, read = admin("GET", f"/admin/codes/{code['id']}")
        assert read["targets"][0]["scans"] == 2


def test_outage_right_after_a_group_fills_shows_the_next_group(code_with_targets, stack):
    code, urls = code_with_targets(2, switch_threshold=2)
    now = [1000.0]
    container = ScanService(CodesTable.from_environment(fast=True), cache_seconds=3, monotonic=lambda: now[0])
    assert [shown_url(container.scan(code["id"]).page, urls) for _ in range(2)] == [urls[0], urls[0]]  # now full
    stack.emulator.faults.dynamodb = "error"
    try:
        result = container.scan(code["id"])
    finally:
        stack.emulator.faults.dynamodb = None
    assert not result.counted and shown_url(result.page, urls) == urls[1]


def test_bots_see_the_page_but_are_not_counted(admin, stack, code_with_targets):
    code, urls = code_with_targets(1, switch_threshold=2)
    scan_function = stack.functions["ScanFunction"]
    for agent in ("curl/8.5.0", "Mozilla/5.0 (compatible; Baiduspider/2.0)", ""):
        event = scan_event(code["id"])
        event["headers"]["user-agent"] = agent
        page = scan_function.invoke(event)
        assert page["statusCode"] == 200 and shown_url(page, urls) == urls[0]
    _, read = admin("GET", f"/admin/codes/{code['id']}")
    assert read["targets"][0]["scans"] == 0


def test_another_browser_is_told_to_open_wechat_and_still_sees_the_qr(admin, stack, code_with_targets):
    code, urls = code_with_targets(1)
    event = scan_event(code["id"])
    event["headers"]["user-agent"] = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Version/17.0 Mobile Safari/604.1"
    page = stack.functions["ScanFunction"].invoke(event)
    assert "请在微信中打开" in page["body"] and shown_url(page, urls) == urls[0]
    assert "请在微信中打开" not in stack.functions["ScanFunction"].invoke(scan_event(code["id"]))["body"]
    _, read = admin("GET", f"/admin/codes/{code['id']}")
    assert read["targets"][0]["scans"] == 2  # people in other browsers are scanners too


def test_one_client_cannot_drain_a_group_code_whatever_its_cookies_and_headers(admin, stack, code_with_targets):
    """The attack: cookie-less requests with a phone's User-Agent from one laptop used to mark every
    group full (3 groups x 5 places: 15 requests). Now one address moves the code by 10 an hour."""
    code, urls = code_with_targets(3, switch_threshold=5)
    function = stack.functions["ScanFunction"]
    pages = []
    for n in range(20):
        event = scan_event(code["id"], source_ip="203.0.113.66", user_agent=f"Mozilla/5.0 MicroMessenger/8.0.{n}")
        event["headers"]["x-forwarded-for"] = f"10.0.0.{n}"  # a forged header changes nothing
        pages.append(function.invoke(event))
    assert all(page["statusCode"] == 200 and shown_url(page, urls) for page in pages)  # always a group QR
    _, read = admin("GET", f"/admin/codes/{code['id']}")
    assert [t["scans"] for t in read["targets"]] == [5, 5, 0] and read["fallback_scans"] == 0
    other = function.invoke(scan_event(code["id"], source_ip="198.51.100.23"))
    assert shown_url(other, urls) == urls[2]
    _, read = admin("GET", f"/admin/codes/{code['id']}")
    assert [t["scans"] for t in read["targets"]] == [5, 5, 1]  # a real scanner still counts


def test_the_client_counter_holds_its_limit_under_concurrent_writers(stack):
    from siyu.live_codes.counters_repository import ClientCounts
    from siyu.storage import aws

    counts = ClientCounts(aws.dynamodb(), next(iter(stack.template.tables())))
    now = datetime(2026, 11, 25, 4, tzinfo=UTC)
    with ThreadPoolExecutor(max_workers=8) as pool:
        tries = [("codeX", "addr1", "2026112504", 1, 10, now)] * 40
        added = list(pool.map(lambda args: counts.add_client_visits(*args), tries))
    assert sum(added) == 10
    assert counts.add_client_visits("codeX", "addr1", "2026112505", 3, 10, now)  # another hour
    assert not counts.add_client_visits("codeX", "addr2", "2026112504", 11, 10, now)  # never past the limit
