"""Where an outbound call may go: the rules every receiver URL and every address it resolves to
must pass. Pure (no I/O): the sender applies them to the addresses DNS gave it, the admin API to
the URL an operator typed.

A receiver is a brand's server on the internet. Never this machine (the Lambda runtime API listens
on 127.0.0.1:9001), the instance metadata service (169.254.169.254), a private network, the
carrier-grade NAT range (100.64.0.0/10) or a multicast group, whatever name points there: IPv6
forms of the same addresses (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4
``2002::/16``) are judged by the IPv4 address they carry. Plain http is refused too, except when the
stack runs locally (``SIYU_RUNS_LOCALLY=1``, set by the local stack only), where receivers are
test servers on loopback; even then, private and link-local addresses stay refused.
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

RUNS_LOCALLY = "SIYU_RUNS_LOCALLY"
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def runs_locally() -> bool:
    """True only when the local stack said so (never guessed from a URL or a host name)."""
    return os.environ.get(RUNS_LOCALLY) == "1"


def address_refusal(address: str, local: bool = False) -> str | None:
    """Why a receiver may not be at `address` (an IP address as DNS gives it), or None."""
    try:
        ip: IpAddress = ipaddress.ip_address(address.split("%", 1)[0])  # a zone id (fe80::1%eth0) aside
    except ValueError:
        return f"{address[:60]!r} is not an IP address"
    ip = _embedded_ipv4(ip)
    if ip.is_loopback:
        return None if local else "a loopback address (this machine)"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_link_local:
        return "a link-local address (such as the instance metadata service)"
    if ip.is_multicast:
        return "a multicast address"
    if ip.version == 4 and ip in _SHARED:
        return "a carrier-grade NAT address (100.64.0.0/10)"
    if ip.is_private:
        return "a private network address"
    if ip.version == 6 and ip.is_site_local:  # fec0::/10: deprecated, still routed inside some networks
        return "a site-local address"
    if ip.is_reserved or not ip.is_global:
        return "an address that is not on the public internet"
    return None


def _embedded_ipv4(ip: IpAddress) -> IpAddress:
    """The IPv4 address an IPv6 address stands for, where it stands for one."""
    if isinstance(ip, ipaddress.IPv4Address):
        return ip
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    return ip


def url_refusal(url: str, local: bool = False) -> str | None:
    """Why `url` may not be a receiver, judged without DNS (scheme, host, a literal address), or None.
    The sender judges the resolved addresses again before it connects."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "it is not a valid URL"
    if parts.scheme != "https" and not (local and parts.scheme == "http"):
        return "it must be an https:// URL"
    host = parts.hostname
    if not host:
        return "it has no host name"
    if parts.username is not None or parts.password is not None:
        return "it must not carry a user name or password"
    if port == 0:
        return "port 0 is not a port"
    if host == "localhost" or host.endswith(".localhost"):
        return None if local else "its host is this machine (localhost)"
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None  # a name: judged by what it resolves to, when sending
    refusal = address_refusal(host, local)
    return f"its host is {refusal}" if refusal else None
