"""The local stack over HTTP, as an operator's client and a scanner's phone use it."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from local_stack.demo import call
from tests.e2e.http import get_from
from tests.helpers import WECHAT_UA, b64, fixture_bytes, new_group_screenshot, qr_data_uri


def get(url: str, headers: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"User-Agent": WECHAT_UA, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_stack_json_describes_the_running_stack(running_stack):
    info = running_stack.info
    assert info["api_url"] == f"http://127.0.0.1:{running_stack.port}"
    assert info["scan_url"].startswith(info["api_url"] + "/s/")
    status, page = get(info["scan_url"])
    assert status == 200 and "data:image/png;base64," in page and "长按识别二维码加入群聊" in page


def test_every_admin_route_answers_401_without_a_valid_token(running_stack, api):
    status, document = api("GET", "/admin/openapi.json")
    assert status == 200
    stranger_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({"sub": "x", "exp": int(time.time()) + 60}, stranger_key, algorithm="RS256")
    routes = [("GET", "/admin/openapi.json")] + [
        (method.upper(), path.replace("{code_id}", "abc").replace("{target_id}", "def"))
        for path, methods in document["paths"].items()
        for method in methods
    ]
    assert len(routes) >= 10
    for method, path in routes:
        for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": f"Bearer {forged}"}):
            request = urllib.request.Request(running_stack.info["api_url"] + path, method=method, headers=headers)
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=10)
            assert refused.value.code == 401, (method, path, headers)


def test_group_code_end_to_end(running_stack, api):
    status, code = api("POST", "/admin/codes", {"name": "e2e", "switch_threshold": 2})
    assert status == 201 and code["scan_url"] == f"{running_stack.info['api_url']}/s/{code['id']}"
    first = fixture_bytes("good/group_0.png")
    status, target = api("POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(first)})
    assert status == 201 and target["url"] == "https://weixin.qq.com/g/WK59PFkl0JfI2yyVlbPegB"
    second_url, second = new_group_screenshot()
    assert api("POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(second)})[0] == 201
    status, refused = api(
        "POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(fixture_bytes("bad/two_qr_codes.png"))}
    )
    assert status == 422 and "more than one QR code" in refused["message"]

    pages = [get(code["scan_url"])[1] for _ in range(5)]
    assert [qr_data_uri(target["url"]) in p for p in pages] == [True, True, False, False, False]
    assert [qr_data_uri(second_url) in p for p in pages] == [False, False, True, True, False]

    status, read = api("GET", f"/admin/codes/{code['id']}")
    assert [t["scans"] for t in read["targets"]] == [2, 2] and read["fallback_scans"] == 1
    assert api("PATCH", f"/admin/codes/{code['id']}", {"switch_threshold": 10})[0] == 200
    assert api("POST", f"/admin/codes/{code['id']}/archive")[0] == 200
    time.sleep(3.1)  # the scan function re-reads settings after SCAN_CACHE_SECONDS (3 s in the template)
    status, ended = get(code["scan_url"])
    assert status == 200 and "已结束" in ended
    status, missing = get(f"{running_stack.info['api_url']}/s/nosuchcode")
    assert status == 404 and "二维码不存在" in missing


def test_concurrent_scans_over_http_all_get_pages(running_stack, api):
    status, code = api("POST", "/admin/codes", {"name": "burst", "switch_threshold": 100})
    urls = []
    for _ in range(2):
        url, image = new_group_screenshot()
        api("POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(image)})
        urls.append(url)
    # 8 at a time: concurrent, yet within what the one-call-at-a-time emulator answers inside the
    # scan path's half-second timeout on a loaded 2-core CI box.
    with ThreadPoolExecutor(max_workers=8) as pool:
        phones = [f"127.0.{1 + n // 200}.{1 + n % 200}" for n in range(250)]  # 250 scanners, each its own address
        answers = list(pool.map(lambda phone: get_from(code["scan_url"], phone, {"User-Agent": WECHAT_UA}), phones))
    assert all(status == 200 for status, _ in answers)
    # Storage is the truth: each target counted exactly its threshold, never more. (Pages cannot
    # be: a count that outlives the scan path's 0.5 s timeout under this load is served the
    # container's last good target instead, while storage may still have counted it.)
    status, read = api("GET", f"/admin/codes/{code['id']}")
    assert [t["scans"] for t in read["targets"]] == [100, 100]
    assert all(any(qr_data_uri(url) in page for _, page in answers) for url in urls)


def test_unknown_local_schedule_says_which_exist(running_stack):
    request = urllib.request.Request(running_stack.info["api_url"] + "/_local/schedules/NoSuchFunction", method="POST")
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=10)
    assert answer.value.code == 404 and "scheduled functions" in json.loads(answer.value.read())["message"]


def test_data_and_token_survive_a_restart_and_ctrl_c_stops_cleanly(fresh_stack):
    stack = fresh_stack
    info = stack.start()
    status, code = call(info["api_url"], info["admin_token"], "POST", "/admin/codes", {"name": "keep me"})
    _, image = new_group_screenshot()
    call(
        info["api_url"], info["admin_token"], "POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(image)}
    )
    get(code["scan_url"])
    assert stack.stop() == 0 and "stopped" in stack.log.read_text()

    again = stack.start()
    status, read = call(again["api_url"], info["admin_token"], "GET", f"/admin/codes/{code['id']}")
    assert status == 200 and read["name"] == "keep me" and read["targets"][0]["scans"] == 1
    assert again["demo_code_id"] == info["demo_code_id"]  # the demo is not created twice
    status, link = call(
        again["api_url"],
        info["admin_token"],
        "GET",
        f"/admin/codes/{code['id']}/targets/{read['targets'][0]['id']}/image",
    )
    with urllib.request.urlopen(link["url"], timeout=10) as original:
        assert original.read() == image  # the original upload came back too
    assert stack.stop() == 0


def post_raw(url: str, body: bytes, content_type: str, headers: dict | None = None) -> tuple[int, str, str]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": content_type, "User-Agent": WECHAT_UA, **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.headers.get("Content-Type", ""), answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode("utf-8", "replace")


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"\xff\xfe\xfd not utf-8 {", "application/json"),
        (b"\xc3\x28 nickname=\xff", "text/plain; charset=utf-8"),
        (b"nickname=A", "multipart/form-data"),
        (b'{"a":' * 3000 + b"1" + b"}" * 3000, "application/json"),
    ],
)
def test_bodies_a_client_got_wrong_get_a_4xx_on_public_and_admin_routes(running_stack, body, content_type):
    info = running_stack.info
    campaign = info["campaign_url"]
    status, kind, text = post_raw(campaign + "/join", body, content_type, {"Accept": "application/json"})
    assert 400 <= status < 500 and "message" in json.loads(text), (status, text)
    status, kind, page = post_raw(campaign + "/join", body, content_type, {"Accept": "text/html"})
    assert 400 <= status < 500 and kind.startswith("text/html") and "<form" in page
    auth = {"Authorization": f"Bearer {info['admin_token']}"}
    status, kind, text = post_raw(info["api_url"] + "/admin/codes", body, content_type, auth)
    assert 400 <= status < 500 and kind.startswith("application/json") and json.loads(text)["message"], (status, text)
    assert get(info["scan_url"])[0] == 200  # and the gateway goes on serving


def test_a_body_over_api_gateways_10_mb_is_refused_with_413(running_stack):
    info = running_stack.info
    status, kind, text = post_raw(info["campaign_url"] + "/join", b"x" * (10 * 1024 * 1024 + 1), "application/json")
    assert status == 413 and kind.startswith("application/json") and json.loads(text)["message"]


def test_a_broken_chunked_body_is_a_400_and_a_too_big_event_a_413(running_stack):
    import socket

    host, port = "127.0.0.1", running_stack.port
    with socket.create_connection((host, port), timeout=30) as connection:
        connection.sendall(
            b"POST /c/x/join HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: application/json\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n"
        )
        assert connection.recv(100).split(b"\r\n")[0].split(b" ")[1] == b"400"
    # 5 MB of bytes arrive base64-encoded: past Lambda's 6 MB event, as on AWS nothing reaches the function
    campaign = running_stack.info["campaign_url"]
    status, kind, text = post_raw(campaign + "/join", b"\x89" * (5 * 1024 * 1024), "application/octet-stream")
    assert status == 413 and json.loads(text)["message"]


def test_one_laptop_cannot_drain_a_code_whatever_its_headers(running_stack, api):
    """The attack replayed over HTTP: cookie-less requests with ever-changing User-Agents and forged
    X-Forwarded-For from one address. They all get a group QR; only 10 move the code (the hourly
    per-client limit), so real scanners never see "groups full"."""
    status, code = api("POST", "/admin/codes", {"name": "drain me", "switch_threshold": 5})
    urls = []
    for _ in range(3):
        url, image = new_group_screenshot()
        api("POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(image)})
        urls.append(url)
    for n in range(20):
        headers = {"User-Agent": f"{WECHAT_UA} build/{n}", "X-Forwarded-For": f"10.1.2.{n}", "X-Real-IP": f"10.9.9.{n}"}
        status, page = get(code["scan_url"], headers)
        assert status == 200 and any(qr_data_uri(url) in page for url in urls)
    _, read = api("GET", f"/admin/codes/{code['id']}")
    assert [t["scans"] for t in read["targets"]] == [5, 5, 0] and read["fallback_scans"] == 0
    status, page = get_from(code["scan_url"], "127.0.9.9", {"User-Agent": WECHAT_UA})  # another scanner
    assert status == 200 and qr_data_uri(urls[2]) in page


def test_the_aws_emulators_recorder_counts_one_write_for_a_first_time_scan(running_stack, api):
    """Anyone can count a scan's AWS calls on `make run`: moto's recorder at `emulator_url`."""
    emulator = running_stack.info["emulator_url"]
    status, code = api("POST", "/admin/codes", {"name": "recorded", "switch_threshold": 100})
    _, image = new_group_screenshot()
    api("POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(image)})
    get_from(code["scan_url"], "127.0.7.1", {"User-Agent": WECHAT_UA})  # the container has read the code
    urllib.request.urlopen(f"{emulator}/moto-api/recorder/reset-recording", data=b"", timeout=10).close()
    urllib.request.urlopen(f"{emulator}/moto-api/recorder/start-recording", data=b"", timeout=10).close()
    try:
        assert get_from(code["scan_url"], "127.0.7.2", {"User-Agent": WECHAT_UA})[0] == 200  # a first-time scanner
    finally:
        urllib.request.urlopen(f"{emulator}/moto-api/recorder/stop-recording", data=b"", timeout=10).close()
    with urllib.request.urlopen(f"{emulator}/moto-api/recorder/download-recording", timeout=10) as answer:
        calls = [json.loads(line) for line in answer.read().decode().splitlines() if line.strip()]
    for call_ in calls:  # bodies are recorded base64-encoded
        call_["body"] = base64.b64decode(call_["body"]).decode() if call_.get("body_encoded") else call_["body"] or ""
    kinds = [c["headers"].get("X-Amz-Target", "").split(".")[-1] for c in calls]
    writes = [  # this scan's own writes (scheduled jobs and the statistics flusher run beside it)
        c["body"]
        for c, kind in zip(calls, kinds, strict=True)
        if kind in ("UpdateItem", "PutItem", "TransactWriteItems", "BatchWriteItem") and "STATS#" not in c["body"]
    ]
    assert len(writes) == 1 and f"CODE#{code['id']}" in writes[0], kinds  # the counter shard, nothing else
