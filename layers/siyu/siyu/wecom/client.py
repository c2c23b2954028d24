"""WeCom's server API (``/cgi-bin/...``), through one base URL setting.

- **The access token** is cached in the container and in the table with its expiry (WeCom gives
  7200 s). When it runs out, exactly one caller refreshes it (a conditional write takes the refresh
  lease); the others wait for the new one. WeCom answering 40014 (invalid) or 42001 (expired)
  drops the cached token and retries once with a fresh one.
- **Rate limits and busy answers** (-1, 45009, 45033, 45011) are retried with exponential backoff;
  every errcode is logged with the path (never the token or secret).
- An answer WeCom refuses becomes ``WecomApiError`` (errcode and errmsg); WeCom out of reach
  becomes ``siyu.core.errors.Unavailable``.

The base URL is ``WECOM_API_BASE_URL`` (https://qyapi.weixin.qq.com); the local stack points it
at its WeCom emulator.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from siyu.core.clock import utcnow
from siyu.core.errors import Unavailable
from siyu.core.ids import run_id

logger = logging.getLogger("siyu.wecom")

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
TOKEN_ERRORS = frozenset({40014, 42001, 40082})  # invalid / expired access token
BUSY_ERRORS = frozenset({-1, 45009, 45033, 45011})  # system busy, over the rate or concurrency limit
INVALID_CREDENTIAL = 40001
MAX_ATTEMPTS = 4
REFRESH_LEASE = timedelta(seconds=10)
TOKEN_MARGIN = timedelta(minutes=5)  # a token this close to its expiry is refreshed
MAX_IMAGE_BYTES = 4 * 1024 * 1024
HTTP_TIMEOUT = 5.0

Http = Callable[[urllib.request.Request, float], bytes]


class WecomApiError(Exception):
    """WeCom answered a non-zero errcode."""

    def __init__(self, path: str, errcode: int, errmsg: str):
        super().__init__(f"WeCom {path} answered errcode {errcode}: {errmsg}")
        self.path, self.errcode, self.errmsg = path, errcode, errmsg


class TokenCache(Protocol):
    """The shared access-token cache (``WecomTable`` keeps it in the table)."""

    def cached_token(self) -> tuple[str, datetime] | None: ...

    def claim_refresh(self, owner: str, now: datetime, lease: timedelta, needed_until: datetime) -> bool: ...

    def release_refresh(self, owner: str) -> None: ...

    def store_token(self, token: str, expires_at: datetime, owner: str) -> None: ...

    def drop_token(self, token: str) -> None: ...


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """WeCom's API never redirects: a 3xx comes back as an HTTPError instead of being followed
    (to wherever it points, the Lambda runtime API on 127.0.0.1 included)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def urlopen(request: urllib.request.Request, timeout: float) -> bytes:
    with _OPENER.open(request, timeout=timeout) as answer:  # https or the emulator, never redirected
        body: bytes = answer.read(MAX_IMAGE_BYTES + 1)
        return body


def base_url() -> str:
    return os.environ.get("WECOM_API_BASE_URL", "").rstrip("/") or DEFAULT_BASE_URL


@dataclass
class WecomClient:
    corp_id: str
    secret: str = field(repr=False)
    tokens: TokenCache
    base: str = field(default_factory=base_url)
    http: Http = urlopen
    clock: Callable[[], datetime] = utcnow
    sleep: Callable[[float], None] = time.sleep
    backoff: float = 0.5
    _token: tuple[str, datetime] | None = field(default=None, repr=False)

    # -- calls ---------------------------------------------------------------------------

    def get(self, path: str, query: Mapping[str, str] | None = None) -> dict[str, Any]:
        return self._call(path, dict(query or {}), None)

    def post(self, path: str, body: Mapping[str, Any], query: Mapping[str, str] | None = None) -> dict[str, Any]:
        return self._call(path, dict(query or {}), body)

    def fetch_image(self, url: str) -> bytes:
        """The QR image WeCom serves for a way (fetched once, when the way is made)."""
        if urllib.parse.urlsplit(url).scheme not in ("https", "http"):
            raise WecomApiError("qr_code", -2, f"not an image URL: {url[:100]!r}")
        body = self._send(urllib.request.Request(url, method="GET"), "qr_code")
        if len(body) > MAX_IMAGE_BYTES:
            raise WecomApiError("qr_code", -2, "the QR image is larger than 4 MB")
        return body

    def upload_media(self, kind: str, filename: str, data: bytes) -> str:
        """A temporary media (``media/upload``, kept 3 days by WeCom): its media_id."""
        boundary = "siyu" + run_id()
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="media"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        body = head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
        answer = self._call(
            "/cgi-bin/media/upload", {"type": kind}, None, (body, f"multipart/form-data; boundary={boundary}")
        )
        return str(answer["media_id"])

    def check_credentials(self) -> None:
        """Ask for a token with these credentials (WecomApiError 40001 when WeCom refuses them)."""
        self._fetch_token()

    def _call(
        self,
        path: str,
        query: dict[str, str],
        body: Mapping[str, Any] | None,
        raw: tuple[bytes, str] | None = None,
    ) -> dict[str, Any]:
        refreshed = False
        answer: dict[str, Any] = {}
        for attempt in range(MAX_ATTEMPTS):
            token = self.access_token()
            answer = self._json(path, {**query, "access_token": token}, body, raw)
            errcode = int(answer.get("errcode", 0) or 0)
            if errcode == 0:
                return answer
            logger.warning("WeCom %s answered errcode %s: %s", path, errcode, answer.get("errmsg", ""))
            if errcode in TOKEN_ERRORS and not refreshed:
                refreshed = True
                self._token = None
                self.tokens.drop_token(token)
                continue
            if errcode in BUSY_ERRORS and attempt + 1 < MAX_ATTEMPTS:
                self.sleep(self.backoff * 2**attempt)
                continue
            break
        raise WecomApiError(path, int(answer.get("errcode", -1)), str(answer.get("errmsg", "")))

    # -- the access token -----------------------------------------------------------------

    def access_token(self) -> str:
        now = self.clock()
        if self._token and self._token[1] - TOKEN_MARGIN > now:
            return self._token[0]
        cached = self.tokens.cached_token()
        if cached and cached[1] - TOKEN_MARGIN > now:
            self._token = cached
            return cached[0]
        owner = run_id()
        deadline = now + REFRESH_LEASE
        while True:
            moment = self.clock()
            if self.tokens.claim_refresh(owner, moment, REFRESH_LEASE, moment + TOKEN_MARGIN):
                try:
                    token, expires_at = self._fetch_token()
                except BaseException:
                    self.tokens.release_refresh(owner)
                    raise
                self.tokens.store_token(token, expires_at, owner)
                self._token = (token, expires_at)
                return token
            self.sleep(0.2)  # someone else is refreshing: wait for their token
            cached = self.tokens.cached_token()
            if cached and cached[1] - TOKEN_MARGIN > self.clock():
                self._token = cached
                return cached[0]
            if self.clock() > deadline:
                raise Unavailable("WeCom's access token is being refreshed elsewhere and did not arrive; try again")

    def _fetch_token(self) -> tuple[str, datetime]:
        answer = self._json("/cgi-bin/gettoken", {"corpid": self.corp_id, "corpsecret": self.secret}, None)
        errcode = int(answer.get("errcode", 0) or 0)
        if errcode != 0 or "access_token" not in answer:
            logger.warning("WeCom /cgi-bin/gettoken answered errcode %s: %s", errcode, answer.get("errmsg", ""))
            raise WecomApiError("/cgi-bin/gettoken", errcode or -1, str(answer.get("errmsg", "no access_token")))
        lifetime = int(answer.get("expires_in", 7200))
        return str(answer["access_token"]), self.clock() + timedelta(seconds=lifetime)

    # -- HTTP ----------------------------------------------------------------------------

    def _json(
        self, path: str, query: Mapping[str, str], body: Mapping[str, Any] | None, raw: tuple[bytes, str] | None = None
    ) -> dict[str, Any]:
        url = f"{self.base}{path}?{urllib.parse.urlencode(query)}"
        data: bytes | None
        data, content_type = raw or (None, "")
        if body is not None:
            data, content_type = json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8"
        request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
        if data is not None:
            request.add_header("Content-Type", content_type)
        answered = self._send(request, path)
        try:
            answer = json.loads(answered)
        except ValueError:
            raise Unavailable(f"WeCom {path} answered something that is not JSON; try again later") from None
        if not isinstance(answer, dict):
            raise Unavailable(f"WeCom {path} answered something that is not a JSON object; try again later")
        return answer

    def _send(self, request: urllib.request.Request, path: str) -> bytes:
        """One HTTP exchange, retried with backoff when WeCom is out of reach (never logs the URL:
        it carries the token or the secret). A call that makes something (a way, a task, a message)
        is sent again only when it surely never reached WeCom (refused connection, unknown host): after
        a timeout or a 5xx WeCom may have made it, and a second one would be a duplicate."""
        repeatable = request.get_method() == "GET" or not makes_something(path)
        for attempt in range(MAX_ATTEMPTS):
            try:
                return self.http(request, HTTP_TIMEOUT)
            except urllib.error.HTTPError as error:
                if error.code < 500:  # WeCom answers 200 even to errors: this is not WeCom's API
                    raise WecomApiError(path, -error.code, f"HTTP {error.code} (is the base URL WeCom's?)") from None
                logger.warning("WeCom %s answered HTTP %s", path, error.code)
                if not repeatable:
                    break
            except (urllib.error.URLError, OSError, TimeoutError) as error:
                logger.warning("WeCom %s could not be reached (%s)", path, type(error).__name__)
                if not repeatable and not _never_sent(error):
                    break
            if attempt + 1 < MAX_ATTEMPTS:
                self.sleep(self.backoff * 2**attempt)
        raise Unavailable(f"WeCom ({path}) could not be reached; try again later")


def makes_something(path: str) -> bool:
    """Calls that are not safe to repeat blindly: each one makes a way, a task, a message or a file."""
    name = path.rsplit("/", 1)[-1]
    return name.startswith("add_") or name in MAKERS


MAKERS = frozenset({"send", "send_welcome_msg", "upload", "uploadimg", "remind_groupmsg_send"})


def _never_sent(error: BaseException) -> bool:
    """The request cannot have reached WeCom: the connection was refused or the host is unknown."""
    reason = getattr(error, "reason", error)
    return isinstance(reason, ConnectionRefusedError | socket.gaierror)
