"""The scan page as a scanner sees it: headless Chromium at a phone viewport with WeChat's
user agent opens a live code's public URL, takes a screenshot, and the QR decoded from the
screenshot (zxing-cpp) must be the group URL the admin API says this scan was sent to.

Needs Debian's Chromium (`make chromium`); the test fails, not skips, without it."""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.request
import uuid
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from local_stack.demo import call
from tests.helpers import b64, new_group_screenshot

VIEWPORT = (390, 844)  # CSS px of an iPhone 12-15 screen
SCALE = 2
WECHAT_IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2f) NetType/WIFI Language/zh_CN"
)
BROWSER_TIMEOUT = 60


# --- helpers -------------------------------------------------------------------------------


def chromium_binary() -> str:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("Chromium is not installed: run `make chromium` (Debian's chromium package)")
    return binary


def phone_screenshot(url: str, workdir: Path) -> Path:
    """Open `url` in headless Chromium like a phone in WeChat and return the screenshot."""
    shot = workdir / "screenshot.png"
    command = [
        chromium_binary(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={workdir / 'profile'}",
        "--hide-scrollbars",
        f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
        f"--force-device-scale-factor={SCALE}",
        f"--user-agent={WECHAT_IPHONE_UA}",
        "--virtual-time-budget=3000",
        f"--screenshot={shot}",
        url,
    ]
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"Chromium did not finish within {BROWSER_TIMEOUT}s opening {url}")
    assert run.returncode == 0 and shot.exists(), (
        f"Chromium failed (exit {run.returncode}) to screenshot {url}:\n{run.stderr[-3000:]}"
    )
    return shot


def decoded_qr_texts(screenshot: Path) -> list[str]:
    with Image.open(screenshot) as image:
        return [found.text for found in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def admin(stack, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    return call(stack.info["api_url"], stack.info["admin_token"], method, path, body)


def read_code(stack, code_id: str) -> dict:
    status, code = admin(stack, "GET", f"/admin/codes/{code_id}")
    assert status == 200, code
    return code


def new_code_with_one_target(stack) -> tuple[dict, str]:
    """A fresh group code (default threshold) with one uploaded group QR; returns (code, group URL)."""
    status, code = admin(stack, "POST", "/admin/codes", {"name": f"browser test {uuid.uuid4().hex[:8]}"})
    assert status == 201, code
    url, image = new_group_screenshot("browser test group")
    status, target = admin(stack, "POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(image)})
    assert status == 201, target
    return code, url


def scan_counters(code: dict) -> dict[str, int]:
    """Every place a scan can be counted: each target, and the fallback."""
    return {target["id"]: target["scans"] for target in code["targets"]} | {"fallback": code["fallback_scans"]}


def url_behind(code: dict, counter: str) -> str:
    if counter == "fallback":
        return code["backup_qr_url"]
    return next(target["url"] for target in code["targets"] if target["id"] == counter)


# --- tests ---------------------------------------------------------------------------------


def test_phone_browser_shows_the_current_target_qr_of_a_fresh_code(running_stack, tmp_path):
    # Given a fresh live code whose only target is a group QR we uploaded
    code, group_url = new_code_with_one_target(running_stack)

    # When a phone in WeChat opens the code's public scan page
    shot = phone_screenshot(code["scan_url"], tmp_path)

    # Then the screenshot is a phone screen, and the one QR on it is that group's URL
    with Image.open(shot) as image:
        assert image.size == (VIEWPORT[0] * SCALE, VIEWPORT[1] * SCALE)
    assert decoded_qr_texts(shot) == [group_url]
    # ...and the browser's visit counted exactly one scan against that target
    after = read_code(running_stack, code["id"])
    assert [(t["url"], t["scans"], t["status"]) for t in after["targets"]] == [(group_url, 1, "current")]


def test_scan_page_html_has_guidance_and_an_inline_png_qr(running_stack):
    # Given a fresh live code with one target
    code, _ = new_code_with_one_target(running_stack)

    # When the scan page is fetched (this counts one scan; the default threshold is far away)
    with urllib.request.urlopen(code["scan_url"], timeout=30) as answer:
        status, html = answer.status, answer.read().decode("utf-8")

    # Then it carries the default guidance and the QR as a PNG data URI a long-press can read
    assert status == 200
    assert "长按识别二维码加入群聊" in html
    assert re.search(r'<img\b[^>]*\bsrc="data:image/png;base64,[A-Za-z0-9+/=]+"', html), html[:2000]


def test_phone_browser_shows_the_demo_code_target_that_counted_the_scan(running_stack, tmp_path):
    # Given the demo code (three groups, switching every 5 scans, plus a backup QR)
    code_id = running_stack.info["demo_code_id"]
    code = read_code(running_stack, code_id)
    before = scan_counters(code)
    room_left = any(target["status"] in ("current", "waiting") for target in code["targets"])

    # When a phone in WeChat opens the demo scan page
    shot = phone_screenshot(running_stack.info["scan_url"], tmp_path)

    # Then exactly one counter rose by one: a group's while any group has room, else the fallback's
    code = read_code(running_stack, code_id)
    after = scan_counters(code)
    risen = [counter for counter in after if after[counter] != before.get(counter, 0)]
    assert len(risen) == 1 and after[risen[0]] == before.get(risen[0], 0) + 1, (before, after)
    assert (risen[0] != "fallback") == room_left, (risen, code["targets"])
    # ...and the QR on the screen is the URL behind that counter
    assert decoded_qr_texts(shot) == [url_behind(code, risen[0])]
