"""What the WeCom e2e tests share to drive the stack and the WeCom emulator over HTTP: JSON in and
out, and waiting for what arrives through a queue."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any


def post_json(url: str, body: dict) -> tuple[int, Any]:
    """POST a JSON body: (status, the JSON answer, or its text when it is an error page)."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.loads(answer.read())


def wait_for(check: Callable[[], Any], seconds: float = 20) -> Any:
    """`check()`'s first truthy answer within `seconds`; AssertionError when none came."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"not within {seconds} s")


def get_from(url: str, address: str, headers: dict | None = None) -> tuple[int, str]:
    """GET as a client of its own network address (any 127.x.y.z reaches the local stack): the
    stack's per-client limit sees another phone, as it would another scanner's address."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30, source_address=(address, 0))
    try:
        connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers or {})
        answer = connection.getresponse()
        return answer.status, answer.read().decode()
    finally:
        connection.close()
