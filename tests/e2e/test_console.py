"""The operator console in Debian's Chromium (Playwright drives the system binary; nothing is
downloaded) against the local stack, as an operator uses it after `make run`: signed in at once,
a group code with two uploaded screenshots and its preview, a channel's print QR (decoded), the
statistics' charts, an SOP plan from a preset with its week, a campaign with its poster preview.

Every test fails on a failing request, an error in the browser console, or a request to any host
but the stack's. Screenshots (1440x900) go to test-artifacts/console/."""

from __future__ import annotations

import io
import re
import shutil
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import sync_playwright

from local_stack.demo import call
from tests.e2e.http import wait_for
from tests.helpers import ROOT, WECHAT_UA, b64, new_group_screenshot
from tests.receiver import Receiver

ARTIFACTS = ROOT / "test-artifacts" / "console"
VIEWPORT = {"width": 1440, "height": 900}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def browser():
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("Chromium is not installed: run `make chromium` (Debian's chromium package)")
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=binary, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Watched:
    """A page whose requests and console are watched; `allow` names the one refusal a test provokes."""

    def __init__(self, page, origin: str):
        self.page, self.origin, self.problems = page, origin, []
        self.allowed: list[tuple[int, str]] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("request", self._request)
        page.on("response", self._response)
        page.on("requestfailed", self._failed)

    def allow(self, status: int, path_part: str) -> None:
        self.allowed.append((status, path_part))

    def _expected(self, status: int, url: str) -> bool:
        return any(status == s and part in url for s, part in self.allowed)

    def _console(self, message) -> None:
        if message.type != "error":
            return
        found = re.search(r"status of (\d{3})", message.text)
        url = (message.location or {}).get("url", "")
        if found and self._expected(int(found.group(1)), url or message.text):
            return
        if found and any(int(found.group(1)) == s for s, _ in self.allowed) and not url:
            return
        self.problems.append(f"console error: {message.text} ({url})")

    def _request(self, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob"):
            return
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.problems.append(f"request to another host: {request.url}")

    def _response(self, response) -> None:
        if response.status >= 400 and not self._expected(response.status, response.url):
            self.problems.append(f"failing request: {response.status} {response.request.method} {response.url}")

    def _failed(self, request) -> None:
        if request.url.startswith("blob:"):
            return
        self.problems.append(f"request failed: {request.method} {request.url} {request.failure}")

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@pytest.fixture
def console(browser, running_stack):
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watched = Watched(page, running_stack.info["api_url"])
    yield watched
    context.close()
    assert not watched.problems, "\n".join(watched.problems)


def open_console(console: Watched, info: dict, path: str = "") -> None:
    console.page.goto(info["console_url"] + path)
    console.page.wait_for_selector('[data-test="user"]')


def field(page, test_id: str):
    """The text box of the Element Plus input marked data-test=`test_id` (the attribute lands on the <input>)."""
    return page.locator(f'input[data-test="{test_id}"], [data-test="{test_id}"] input').first


def choose(page, test_id: str, option: str) -> None:
    """Pick `option` in the Element Plus select marked data-test=`test_id`."""
    page.locator(f'[data-test="{test_id}"]').click()
    page.locator(".el-select-dropdown__item:visible", has_text=option).first.click()


def admin(info: dict, method: str, path: str, body: dict | None = None):
    return call(info["api_url"], info["admin_token"], method, path, body)


def own_group_code(info: dict, name: str) -> dict:
    """A group code of the test's own with one uploaded group QR (the demo codes stay as the other
    e2e tests expect them: a channel on a WeCom code makes WeCom ways, scans move its rotation)."""
    status, code = admin(info, "POST", "/admin/codes", {"name": name})
    assert status == 201, code
    _, png = new_group_screenshot(name)
    status, target = admin(info, "POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(png)})
    assert status == 201, target
    return code


def qr_texts(png: bytes) -> list[str]:
    with Image.open(io.BytesIO(png)) as image:
        return [found.text for found in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def test_console_url_opens_signed_in_with_the_demo_codes_listed(console, running_stack):
    info = running_stack.info
    assert info["console_url"] == info["api_url"] + "/console/"
    open_console(console, info)
    page = console.page
    assert page.locator('[data-test="user"]').inner_text() == "local-operator@localhost"
    status, codes = admin(info, "GET", "/admin/codes?status=active")
    assert status == 200 and codes["items"]
    table = page.locator('[data-test="overview-codes"]')
    for code in codes["items"]:
        table.get_by_text(code["name"], exact=True).wait_for()
    page.wait_for_load_state("networkidle")
    console.shot("overview")


def test_a_group_code_with_two_uploaded_screenshots_and_its_preview(console, running_stack, tmp_path):
    info = running_stack.info
    open_console(console, info, "codes")
    page = console.page
    page.locator('[data-test="new-code"]').click()
    name = "E2E 会员群"
    field(page, "code-name").fill(name)
    page.locator('[data-test="create-code"]').click()
    page.wait_for_url(re.compile(r"/console/codes/\w+$"))
    code_id = page.url.rsplit("/", 1)[1]

    uploads = []
    for label in ("群 1", "群 2"):
        url, png = new_group_screenshot(label)
        path = tmp_path / f"{len(uploads) + 1}.png"
        path.write_bytes(png)
        uploads.append((url, path))
    page.locator('[data-test="file-input"]').set_input_files([str(p) for _, p in uploads])
    results = page.locator('[data-test="upload-results"] [data-state="ok"]')
    results.nth(1).wait_for()
    assert results.count() == 2
    # The same screenshot again: refused, with the API's reason next to it.
    console.allow(409, f"/admin/codes/{code_id}/targets")
    page.locator('[data-test="file-input"]').set_input_files([str(uploads[0][1])])
    refused = page.locator('[data-test="upload-results"] [data-state="refused"]')
    refused.wait_for()
    assert "already" in refused.inner_text()

    status, code = admin(info, "GET", f"/admin/codes/{code_id}")
    assert status == 200 and sorted(t["url"] for t in code["targets"]) == sorted(u for u, _ in uploads)
    page.locator('[data-test="targets"] .target').nth(1).wait_for()
    preview = page.locator('[data-test="phone-preview"]')
    preview.wait_for()
    page.wait_for_load_state("networkidle")
    console.shot("code")
    current = next(t["url"] for t in code["targets"] if t["id"] == code["current_target_id"])
    assert qr_texts(preview.screenshot()) == [current]


def test_a_channel_and_its_print_qr(console, running_stack, tmp_path):
    info = running_stack.info
    code_id = own_group_code(info, "E2E 渠道码")["id"]
    open_console(console, info, f"channels?code={code_id}")
    page = console.page
    name = "E2E 门店立牌"
    field(page, "channel-name").fill(name)
    page.locator('[data-test="create-channel"]').click()
    row = page.locator('[data-test="channels-table"] .el-table__row').filter(
        has=page.locator(f'[data-channel="{name}"]')
    )
    row.wait_for()
    choose(page, "qr-size", "2048")
    with page.expect_download() as download:
        row.locator('[data-test="download-png"]').click()
    saved = tmp_path / "qr.png"
    download.value.save_as(saved)
    status, channels = admin(info, "GET", f"/admin/codes/{code_id}/channels")
    channel = next(c for c in channels["items"] if c["name"] == name)
    png = saved.read_bytes()
    assert png.startswith(b"\x89PNG") and qr_texts(png) == [channel["scan_url"]]
    with Image.open(saved) as image:
        assert image.width >= 2000
    with page.expect_download() as download:
        row.locator('[data-test="download-svg"]').click()
    assert download.value.suggested_filename.endswith(".svg")
    console.shot("channels")


def test_statistics_draw_their_charts(console, running_stack):
    info = running_stack.info
    code = own_group_code(info, "E2E 数据码")
    code_id = code["id"]
    status, channel = admin(info, "POST", f"/admin/codes/{code_id}/channels", {"name": "E2E 包裹卡"})
    assert status == 201
    # A few scans, so the charts have a day with data, without and with the channel.
    time.sleep(1.1)  # a channel made since the scan container read the code is read again after a second
    for url in [code["scan_url"]] * 3 + [channel["scan_url"]] * 2:
        request = urllib.request.Request(url, headers={"User-Agent": WECHAT_UA})
        urllib.request.urlopen(request, timeout=30).read()

    def channel_counted() -> bool:  # statistics are flushed from the scan container within about 5 s
        rows = admin(info, "GET", f"/admin/codes/{code_id}/stats")[1]["rows"]
        return any(row["key"] == channel["id"] and row["views"] for row in rows)

    wait_for(channel_counted, seconds=20)
    open_console(console, info, f"stats?code={code_id}")
    page = console.page
    canvases = page.locator('[data-test="chart"] canvas')
    canvases.nth(2).wait_for()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1200)  # ECharts' first animation
    drawn = page.evaluate(
        """() => [...document.querySelectorAll('[data-test="chart"] canvas')].map((canvas) => {
            const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let inked = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) inked++;
            return inked;
        })"""
    )
    assert len(drawn) == 3 and all(n > 500 for n in drawn), drawn
    page.locator('[data-test="channel-totals"]').get_by_text("E2E 包裹卡").wait_for()
    with page.expect_download() as download:
        page.locator('[data-test="csv"]').click()
    csv = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert csv[0].startswith("date,dimension,key,name,views") and any("E2E 包裹卡" in line for line in csv[1:])
    console.shot("statistics")


def test_a_flash_group_draws_its_rates(console, running_stack):
    info = running_stack.info
    flash_id = info["layering"]["flash_id"]
    status, metrics = admin(info, "GET", f"/admin/flash-groups/{flash_id}/metrics")
    assert status == 200 and any(row["date"] for row in metrics["rows"]), metrics
    open_console(console, info, f"flash?flash={flash_id}")
    page = console.page
    page.locator('[data-test="chart"] canvas').first.wait_for()
    page.locator('[data-test="flash-table"] .el-table__row').first.wait_for()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1200)  # ECharts' first animation
    drawn = page.evaluate(
        """() => [...document.querySelectorAll('[data-test="chart"] canvas')].map((canvas) => {
            const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let inked = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) inked++;
            return inked;
        })"""
    )
    assert len(drawn) == 1 and drawn[0] > 500, drawn
    # Every figure names its source, or, when it is null, its reason.
    first = next(row for row in metrics["rows"] if row["date"] and row["key"] == flash_id)
    shown = page.locator('[data-test="flash-table"]').inner_text()
    join = first["join_rate"]
    assert (join["reason"] if join["value"] is None else join["source"]) in shown
    console.shot("flash")


def test_an_sop_plan_from_a_preset_and_its_week(console, running_stack):
    info = running_stack.info
    open_console(console, info, "sop")
    page = console.page
    page.locator('[data-test="new-plan"]').click()
    page.locator('[data-test="presets"]').get_by_text("日常群周计划").click()
    page.get_by_text("指定机器人 / Webhook").click()
    page.get_by_placeholder("群名").fill("E2E 群")
    page.get_by_placeholder("https://…").fill(info["api_url"] + "/robot-not-used-here")
    page.locator('[data-test="create-plan"]').click()
    page.wait_for_url(re.compile(r"/console/sop/\w+$"))
    entries = page.locator('[data-test="calendar-entry"]')
    entries.nth(6).wait_for()  # the preset pushes every day of the week
    guards = page.locator('[data-test="guards"]').inner_text()
    assert "静默时段" in guards and "22:00" in guards
    plan_id = page.url.rsplit("/", 1)[1]
    status, plan = admin(info, "GET", f"/admin/sop/plans/{plan_id}")
    assert status == 200 and plan["name"] == "日常群周计划" and len(plan["steps"]) == 7
    page.wait_for_load_state("networkidle")
    console.shot("sop")


def test_a_campaign_and_its_poster_preview(console, running_stack):
    info = running_stack.info
    code = own_group_code(info, "E2E 活动落地码")
    open_console(console, info, "campaigns")
    page = console.page
    page.locator('[data-test="new-campaign"]').click()
    field(page, "campaign-name").fill("E2E 老带新")
    choose(page, "campaign-code", code["name"])
    field(page, "tier-reward").fill("¥30 无门槛券")
    page.locator('[data-test="create-campaign"]').click()
    page.wait_for_url(re.compile(r"/console/campaigns/\w+$"))
    page.get_by_role("tab", name="海报").click()
    poster = page.locator('[data-test="poster-preview"]')
    poster.wait_for()
    width = "(document.querySelector('[data-test=\"poster-preview\"]') || {}).naturalWidth || 0"
    page.wait_for_function(f"() => {width} > 0")
    assert page.evaluate(width) == 750  # the server's render of the 750x1334 poster
    page.wait_for_load_state("networkidle")
    console.shot("campaign")


def test_an_alert_destination_tested_and_removed(console, running_stack):
    info = running_stack.info
    receiver = Receiver()
    try:
        open_console(console, info, "alerts")
        page = console.page
        choose(page, "alert-kind", "Webhook")
        field(page, "alert-name").fill("E2E 值班 webhook")
        field(page, "alert-url").fill(receiver.url + "/alerts")
        page.locator('[data-test="add-alert"]').click()
        row = page.locator('[data-test="alert-destinations"] .el-table__row', has_text="E2E 值班 webhook")
        row.wait_for()
        page.locator('[data-test="alert-secret"]').wait_for()  # the signing secret, shown once
        row.get_by_role("button", name="测试").click()
        page.get_by_text("测试消息已送达").wait_for()
        assert [r.path for r in receiver.requests] == ["/alerts"]
        row.get_by_role("button", name="删除").click()
        page.locator(".el-message-box").get_by_role("button", name="确定").click()
        row.wait_for(state="detached")
        status, destinations = admin(info, "GET", "/admin/alert-channels")
        assert "E2E 值班 webhook" not in [d["name"] for d in destinations["items"]]
    finally:
        receiver.close()


def test_an_operator_outside_the_admin_group_is_told_so(console, running_stack):
    """The admin API answers 403 to a token without the admin group (here: every /admin/ call is
    answered 403 in the browser, as the API would for such a token)."""
    info = running_stack.info
    page = console.page
    console.allow(403, "/admin/")
    forbidden = '{"message": "this account is not in the siyu-admin group"}'
    page.route("**/admin/**", lambda route: route.fulfill(status=403, body=forbidden, content_type="application/json"))
    page.goto(info["console_url"])
    page.get_by_text("你的账号不在管理员组").wait_for()
    assert page.get_by_role("button", name="退出并换个账号").is_visible()
    console.shot("forbidden")


def test_parallel_admin_calls_each_get_their_own_answer(running_stack):
    """The console reads in parallel (the overview asks for every code at once). Lambda gives each
    concurrent request its own container; the local stack must not let one request's event leak
    into another's on the admin API's one resolver object."""
    info = running_stack.info
    status, listed = admin(info, "GET", "/admin/codes")
    assert status == 200
    status, campaigns = admin(info, "GET", "/admin/campaigns")
    campaign = f"/admin/campaigns/{campaigns['items'][0]['id']}"
    paths = [f"/admin/codes/{c['id']}" for c in listed["items"]]
    paths += [campaign, f"{campaign}/participants?order=rank&limit=100", "/admin/alerts?limit=20"]

    def fetch(path: str):
        return path, admin(info, "GET", path)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(fetch, paths * 25))
    for path, (status, body) in answers:
        assert status == 200, (path, status, body)
        if path.startswith("/admin/codes/"):
            assert body["id"] == path.rsplit("/", 1)[1], (path, body.get("id"))
