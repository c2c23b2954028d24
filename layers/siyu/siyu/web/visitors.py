"""Who is scanning, as far as the request tells: WeChat's in-app browser, another browser, or a
bot (link previews, crawlers, uptime checks) whose visits must not fill a group; and the
first-party cookie that recognises a returning scanner (no IP address is ever stored)."""

import hashlib
import hmac
import re
import secrets
from typing import Any

VISITOR_COOKIE = "siyu_vid"
VISITOR_COOKIE_DAYS = 400
VISITOR_ID_LENGTH = 20

_BOT = re.compile(
    r"bot|spider|crawl|slurp|linkpreview|facebookexternalhit|headlesschrome|curl/|wget/|python-requests|"
    r"python-urllib|go-http-client|okhttp|java/|apache-httpclient|pingdom|uptimerobot",
    re.IGNORECASE,
)


def is_wechat(user_agent: str) -> bool:
    """WeChat's and WeCom's in-app browsers (MicroMessenger; wxwork for WeCom)."""
    return "micromessenger" in user_agent.lower() or "wxwork" in user_agent.lower()


def is_bot(user_agent: str) -> bool:
    return not user_agent.strip() or bool(_BOT.search(user_agent))


def cookie_value(cookies: list[str], name: str) -> str | None:
    """The value of cookie `name` from an HTTP API event's ``cookies`` list ("a=b" strings)."""
    for cookie in cookies:
        key, _, value = cookie.strip().partition("=")
        if key == name:
            return value.strip()
    return None


# Path=/: scan pages (/s/) and campaign pages (/c/) see the same visitor.
def visitor_cookie(visitor_id: str, secure: bool = True) -> str:
    attributes = f"Max-Age={VISITOR_COOKIE_DAYS * 86400}; Path=/; HttpOnly; SameSite=Lax"
    return f"{VISITOR_COOKIE}={visitor_id}; {attributes}" + ("; Secure" if secure else "")


def visitor_cookie_for(event: dict[str, Any], visitor_id: str) -> str:
    """The cookie for an API Gateway request: Secure unless it came over plain HTTP (locally)."""
    secure = (event.get("headers") or {}).get("x-forwarded-proto", "https") == "https"
    return visitor_cookie(visitor_id, secure)


def source_ip(event: dict[str, Any]) -> str:
    """The client address API Gateway saw (hashed before any use; never stored)."""
    address: str = (event.get("requestContext") or {}).get("http", {}).get("sourceIp", "")
    return address


def new_visitor_id() -> str:
    return secrets.token_hex(VISITOR_ID_LENGTH // 2)


def is_visitor_id(value: str | None) -> bool:
    return value is not None and len(value) == VISITOR_ID_LENGTH and all(c in "0123456789abcdef" for c in value)


ADDRESS_KEY_LABEL = b"siyu client address hash v1"


def address_key(signing_key: bytes) -> str:
    """The key of client address hashes, derived from the stack's generated signing key (never the
    stack id, which anyone allowed DescribeStacks can read): the same in every function."""
    return hmac.new(signing_key, ADDRESS_KEY_LABEL, hashlib.sha256).hexdigest()


def address_hash(key: str, address: str) -> str:
    """A network address as a keyed hash: rate limits work on it, the address is never stored."""
    return hmac.new(key.encode(), address.encode(), hashlib.sha256).hexdigest()[:24]
