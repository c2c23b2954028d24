"""Shared test helpers: the fixtures folder, synthetic uploads, and API Gateway events built
from the sample events in events/ (the same files `sam local invoke -e` would use)."""

from __future__ import annotations

import base64
import copy
import io
import json
import random
from datetime import datetime
from pathlib import Path

from PIL import Image

from local_stack.demo import demo_group_url, group_qr_screenshot
from siyu.live_codes.qr_image import qr_png

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "qr"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
EVENTS = ROOT / "events"

GOOD = sorted(name for name, spec in MANIFEST.items() if "url" in spec)
BAD = sorted(name for name, spec in MANIFEST.items() if "reject" in spec)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def new_group_screenshot(label: str = "test group") -> tuple[str, bytes]:
    url = demo_group_url()
    return url, group_qr_screenshot(url, label)


def new_staff_screenshot(name: str = "staff") -> tuple[str, bytes]:
    """A staff member's personal WeChat contact QR (u.wechat.com), as a phone screenshot."""
    url = "https://u.wechat.com/" + demo_group_url().rsplit("/", 1)[1]
    return url, group_qr_screenshot(url, name)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# What a scanner's phone sends: WeChat's in-app browser on an iPhone.
WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/4G Language/zh_CN"
)


def qr_data_uri(url: str) -> str:
    """How the landing page inlines the QR of `url` (the re-render is deterministic per URL)."""
    return "data:image/png;base64," + b64(qr_png(url))


def sample_event(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def scan_event(
    code_id: str,
    query: dict | None = None,
    visitor_id: str | None = None,
    method: str = "GET",
    user_agent: str | None = None,
    cookies: list[str] | None = None,
    source_ip: str | None = None,
) -> dict:
    """A scan as API Gateway hands it over: optional ?ch= / ?o=, the visitor cookie (or every cookie a
    browser sends: `cookies`, "name=value" each), HEAD, another browser. Each event comes from a phone
    of its own (a random address) unless `source_ip` pins one: one address is held to the per-client limit."""
    event = sample_event("scan_function_scan")
    event["requestContext"]["http"]["sourceIp"] = source_ip or f"198.18.{random.randrange(256)}.{random.randrange(256)}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/s/{code_id}"
    event["pathParameters"] = {"code_id": code_id}
    event["requestContext"]["http"]["method"] = method
    if query:
        event["queryStringParameters"] = query
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    if visitor_id:
        event["cookies"] = [f"siyu_vid={visitor_id}"]
    if cookies:
        event["cookies"] = list(cookies)
    if user_agent is not None:
        event["headers"]["user-agent"] = user_agent
    return event


def visitor_id_of(page: dict) -> str | None:
    """The visitor id a scan page set as its cookie (None when it set none)."""
    for cookie in page.get("cookies") or []:
        name, _, rest = cookie.partition("=")
        if name == "siyu_vid":
            return rest.split(";", 1)[0]
    return None


def browser_cookies(*pages: dict) -> list[str]:
    """The cookies a browser sends after seeing `pages` (in order): "name=value" each."""
    jar: dict[str, str] = {}
    for page in pages:
        for cookie in page.get("cookies") or []:
            name, _, rest = cookie.partition("=")
            jar[name] = rest.split(";", 1)[0]
    return [f"{name}={value}" for name, value in jar.items()]


def admin_event(method: str, path: str, body: dict | None = None, query: dict | None = None) -> dict:
    event = copy.deepcopy(sample_event("admin_api_function_create_code"))
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["pathParameters"] = {"proxy": path.removeprefix("/admin/")}
    event["body"] = None if body is None else json.dumps(body)
    if query:
        event["queryStringParameters"] = query
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    return event


class Clock:
    """A clock a test sets by hand (`clock.now = ...`), for the services that take one."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now
