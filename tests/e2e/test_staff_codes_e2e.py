"""Staff codes, grouped codes, channels and statistics over HTTP against the running local
stack, as an operator's client and scanners' phones (with their cookies) use them."""

from __future__ import annotations

import csv
import io
import time
import urllib.error
import urllib.request
from http.cookies import SimpleCookie

import zxingcpp
from PIL import Image

from tests.helpers import WECHAT_UA, b64, new_group_screenshot, new_staff_screenshot, qr_data_uri

CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
)


class Phone:
    """A scanner's browser: keeps the cookies the scan pages set."""

    def __init__(self, user_agent: str = WECHAT_UA):
        self.user_agent = user_agent
        self.cookies: dict[str, str] = {}

    def open(self, url: str, method: str = "GET") -> tuple[int, str]:
        headers = {"User-Agent": self.user_agent}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        request = urllib.request.Request(url, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                self._keep(answer.headers.get_all("Set-Cookie") or [])
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def _keep(self, set_cookies: list[str]) -> None:
        for header in set_cookies:
            cookie = SimpleCookie(header)
            self.cookies.update({name: morsel.value for name, morsel in cookie.items()})


def raw_get(stack, path: str) -> tuple[int, str, bytes]:
    request = urllib.request.Request(
        stack.info["api_url"] + path, headers={"Authorization": f"Bearer {stack.info['admin_token']}"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.status, answer.headers["Content-Type"], answer.read()


def test_staff_code_with_channels_caps_returning_scanners_and_statistics(running_stack, api):
    # Given a staff code: 小王 capped at 1 new contact a day, 小李 uncapped; and a parcel-card channel
    status, code = api("POST", "/admin/codes", {"name": "e2e staff", "kind": "staff"})
    assert status == 201 and code["kind"] == "staff" and code["strategy"] == "round_robin"
    staff_urls = {}
    for name, fields in (("小王", {"daily_cap": 1}), ("小李", {})):
        url, image = new_staff_screenshot(name)
        status, target = api(
            "POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(image), "staff_name": name, **fields}
        )
        assert status == 201, target
        staff_urls[name] = url
    status, parcel = api("POST", f"/admin/codes/{code['id']}/channels", {"name": "包裹卡"})
    assert status == 201 and parcel["scan_url"].endswith(f"/s/{code['id']}?ch={parcel['id']}")

    def who(page: str) -> str | None:
        return next((n for n, u in staff_urls.items() if qr_data_uri(u) in page), None)

    # When four phones scan the parcel card, and the first one scans again twice
    phones = [Phone() for _ in range(4)]
    first = [who(phone.open(parcel["scan_url"])[1]) for phone in phones]
    again = [who(phones[0].open(parcel["scan_url"])[1]) for _ in range(2)]
    # ...a browser outside WeChat opens the plain code, and a link checker sends HEAD and a bot GET
    status, outside = Phone(CHROME_UA).open(code["scan_url"])
    assert status == 200 and "请在微信中打开" in outside and who(outside) == "小李"
    assert Phone().open(code["scan_url"], method="HEAD")[0] == 200
    assert Phone("Mozilla/5.0 (compatible; bingbot/2.0)").open(code["scan_url"])[0] == 200

    # Then round robin gave 小王 one (his cap), 小李 the rest; the returning phone kept its staff member
    assert first == ["小王", "小李", "小李", "小李"] and again == ["小王", "小王"]
    assert "您的专属顾问：小王" in phones[0].open(parcel["scan_url"])[1]
    status, read = api("GET", f"/admin/codes/{code['id']}")
    assert {t["staff_name"]: (t["scans"], t["assigned_today"]) for t in read["targets"]} == {
        "小王": (1, 1),
        "小李": (4, 4),
    }

    # ...and the statistics attribute the parcel card, count people once, and skip the bots: within 10 s
    # of the last scan, with no further traffic (the scan container's flusher writes them)
    deadline = time.monotonic() + 10
    while True:
        status, stats = api("GET", f"/admin/codes/{code['id']}/stats")
        today = {(r["dimension"], r["key"]): r for r in stats["rows"] if r["date"] == stats["to"]}
        whole = today[("code", code["id"])]
        if whole["views"] >= 8 or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert (whole["views"], whole["unique_visitors"], whole["wechat"], whole["other_browsers"]) == (8, 5, 7, 1)
    card = today[("channel", parcel["id"])]
    assert (card["views"], card["unique_visitors"], card["assigned"]) == (7, 4, 4)
    status, content_type, data = raw_get(running_stack, f"/admin/codes/{code['id']}/stats.csv")
    assert status == 200 and content_type.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [{k: "" if v is None else str(v) for k, v in row.items()} for row in stats["rows"]]

    # ...and the parcel card's print file decodes to the channel's scan URL
    status, content_type, png = raw_get(running_stack, f"/admin/codes/{code['id']}/channels/{parcel['id']}/qr.png")
    with Image.open(io.BytesIO(png)) as image:
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [parcel["scan_url"]]


def test_grouped_code_pick_routes_to_the_options_pool_and_becomes_a_tag(api):
    options = [{"label": "敏感肌", "tag": "skin:sensitive"}, {"label": "油皮", "tag": "skin:oily"}]
    status, code = api("POST", "/admin/codes", {"name": "e2e grouped", "kind": "grouped", "options": options})
    assert status == 201, code
    urls = {}
    for option in code["options"]:
        url, image = new_group_screenshot(option["label"])
        body = {"image_base64": b64(image), "option_id": option["id"]}
        assert api("POST", f"/admin/codes/{code['id']}/targets", body)[0] == 201
        urls[option["label"]] = url

    phone = Phone()
    status, choices = phone.open(code["scan_url"])
    assert status == 200 and "敏感肌" in choices and "油皮" in choices and "data:image/png" not in choices
    oily = next(o for o in code["options"] if o["label"] == "油皮")
    status, picked = phone.open(oily["scan_url"])
    assert qr_data_uri(urls["油皮"]) in picked and qr_data_uri(urls["敏感肌"]) not in picked

    status, visitor = api("GET", f"/admin/visitors/{phone.cookies['siyu_vid']}")
    assert status == 200 and visitor["codes"][0]["tags"] == ["skin:oily"]
    deadline = time.monotonic() + 10  # the statistics are written within 10 s of the last scan
    while True:
        status, stats = api("GET", f"/admin/codes/{code['id']}/stats")
        picks = {r["key"]: r["views"] for r in stats["rows"] if r["dimension"] == "option"}
        if picks or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert picks == {oily["id"]: 1}


def test_the_local_stack_seeds_a_staff_and_a_grouped_demo_code(running_stack):
    status, staff_page = Phone().open(running_stack.info["staff_scan_url"])
    assert status == 200 and "您的专属顾问" in staff_page
    status, grouped_page = Phone().open(running_stack.info["grouped_scan_url"])
    assert status == 200 and "上海" in grouped_page and "北京" in grouped_page
