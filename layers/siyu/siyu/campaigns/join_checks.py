"""The join form's request checks, before anything is read or written (pure, no I/O): a POST from
another site is refused (a cross-site auto-submitted form would make the victim a participant).
Browsers say where a POST came from in `Origin` and `Sec-Fetch-Site`; WeChat's older WebViews send
neither, and are accepted (their cookies are SameSite=Lax: a cross-site POST carries none, and a
POST never replaces a visitor cookie)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit


def cross_site_refusal(headers: Mapping[str, str], own_hosts: Iterable[str]) -> str | None:
    """Why this POST is refused as coming from another site, or None. `headers` lower-cased (as API
    Gateway's HTTP API gives them); `own_hosts` the host names (with port) the pages are served on."""
    if headers.get("sec-fetch-site", "").strip().lower() == "cross-site":
        return "the form was sent from another site (Sec-Fetch-Site: cross-site); open the campaign page and join there"
    origin = headers.get("origin")
    if origin is None:
        return None
    hosts = {h.strip().lower() for h in own_hosts if h}
    parts = urlsplit(origin.strip().lower())
    if parts.scheme in ("http", "https") and parts.netloc and parts.netloc in hosts:
        return None
    return f"the form was sent from another site (Origin {origin[:80]!r}); open the campaign page and join there"


def host_of(url: str) -> str:
    """The host (and port) of a base URL such as a campaign's scan_base_url ('' if none)."""
    return urlsplit(url).netloc.lower()
