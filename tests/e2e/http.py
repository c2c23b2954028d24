"""What the WeCom e2e tests share to drive the stack and the WeCom emulator over HTTP: JSON in and
out, and waiting for what arrives through a queue."""

from __future__ import annotations

import json
import time
import urllib.error
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
