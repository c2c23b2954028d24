"""Sending WeCom's callbacks to the stack: the event XML, encrypted and signed as WeCom's
回调配置 / 加解密方案 pages say (developer.work.weixin.qq.com/document/path/90930, 90968), POSTed to
the corp's callback URL; the URL verification GET with an encrypted echostr.

WeCom sends a callback again when the receiver did not answer in time: here every answer but
HTTP 200 is tried again at once, up to 3 attempts in all, and every attempt is recorded.
"""

from __future__ import annotations

import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from local_stack.wecom import crypto
from local_stack.wecom.model import Event

ATTEMPTS = 3
TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class CallbackConfig:
    url: str  # the stack's callback URL, e.g. http://127.0.0.1:3000/wecom/callback
    token: str
    encoding_aes_key: str  # 43 characters


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _element(name: str, value: Any) -> str:
    if isinstance(value, list):
        inner = "".join(f"<Item>{_cdata(str(item))}</Item>" for item in value)
    elif isinstance(value, int):
        inner = str(value)
    else:
        inner = _cdata(str(value))
    return f"<{name}>{inner}</{name}>"


def event_xml(event: Event) -> str:
    return "<xml>" + "".join(_element(name, value) for name, value in event.fields) + "</xml>"


def _signed_query(config: CallbackConfig, encrypted: str, **extra: str) -> str:
    timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
    signature = crypto.signature(config.token, timestamp, nonce, encrypted)
    query = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce, **extra}
    return urllib.parse.urlencode(query)


def _request(request: urllib.request.Request) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
            return {"status": answer.status, "body": answer.read().decode(errors="replace")}
    except urllib.error.HTTPError as error:
        return {"status": error.code, "body": error.read().decode(errors="replace")}
    except (urllib.error.URLError, OSError) as error:
        return {"status": 0, "body": f"not delivered: {error}"}


def _join(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


def send(config: CallbackConfig, event: Event) -> list[dict[str, Any]]:
    """POST one event, again until it is answered 200 (3 attempts at most): every attempt's answer."""
    plaintext = event_xml(event)
    attempts: list[dict[str, Any]] = []
    for attempt in range(1, ATTEMPTS + 1):
        encrypted = crypto.encrypt(config.encoding_aes_key, plaintext, event.corp_id)
        body = (
            f"<xml><ToUserName>{_cdata(event.corp_id)}</ToUserName><Encrypt>{_cdata(encrypted)}</Encrypt>"
            "<AgentID><![CDATA[]]></AgentID></xml>"
        )
        url = _join(config.url, _signed_query(config, encrypted))
        request = urllib.request.Request(url, body.encode(), {"Content-Type": "text/xml"}, method="POST")
        answer = _request(request)
        attempts.append({"event": event.name, "attempt": attempt, **answer})
        if answer["status"] == 200:
            break
    return attempts


def verify(config: CallbackConfig, corp_id: str) -> dict[str, Any]:
    """WeCom's URL verification: GET with an encrypted random echostr, answered by its plaintext."""
    echo = str(secrets.randbelow(10**19))
    encrypted = crypto.encrypt(config.encoding_aes_key, echo, corp_id)
    url = _join(config.url, _signed_query(config, encrypted, echostr=encrypted))
    answer = _request(urllib.request.Request(url, method="GET"))
    return {"ok": answer["status"] == 200 and answer["body"].strip() == echo, **answer}
