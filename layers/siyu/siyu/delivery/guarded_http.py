"""One HTTP exchange with a receiver outside the stack, guarded against being turned inwards.

- The URL passes ``addresses.url_refusal`` (https, except locally), then the host name is resolved
  once and **every** address it resolves to must pass ``addresses.address_refusal``; the connection
  goes to that checked address (no second lookup a rebinding DNS server could answer differently).
  For https the TLS handshake still names the host (SNI) and checks its certificate, and the
  ``Host`` header is the host's name.
- No redirect is followed: a 3xx answer is a failed delivery that says where it pointed.
- One deadline for the whole exchange (lookup, connect, handshake, request, answer): each socket
  operation waits at most what is left of it, so a receiver that drips its answer a byte at a time
  cannot hold the sender longer than ``timeout`` in all.
- At most ``max_answer`` bytes of the answer are read; the connection is closed after them.

Everything that goes wrong is an ``ExchangeFailed`` whose text says why, without the URL's query
(a WeCom robot's key is there).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from siyu.delivery.addresses import address_refusal, runs_locally, url_refusal

Resolver = Callable[..., list[tuple[Any, ...]]]
MAX_HEADER_BYTES = 16 * 1024


class ExchangeFailed(Exception):
    """The exchange did not happen or did not end well; the text says why."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes  # at most max_answer bytes of it
    truncated: bool = False


def shown(url: str) -> str:
    """The URL as logs and delivery records may show it: no query, no credentials."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "an invalid URL"
    return f"{parts.scheme}://{host}{port}{parts.path}"[:200]


def exchange(
    method: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    max_answer: int,
    local: bool | None = None,
    resolve: Resolver | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Answer:
    local = runs_locally() if local is None else local
    deadline = clock() + timeout
    refusal = url_refusal(url, local)
    if refusal:
        raise ExchangeFailed(f"refused to send to {shown(url)}: {refusal}")
    parts = urlsplit(url)
    host, secure = parts.hostname or "", parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    addresses = _resolve(host, port, resolve or socket.getaddrinfo, deadline - clock())
    for address in addresses:
        if refusal := address_refusal(str(address[4][0]), local):
            raise ExchangeFailed(f"refused to send to {shown(url)}: {host} resolves to {refusal}")
    connection = _connect(addresses, deadline, clock, shown(url))
    try:
        if secure:
            connection.settimeout(_left(deadline, clock, shown(url)))
            connection = ssl.create_default_context().wrap_socket(connection, server_hostname=host)
        connection.settimeout(_left(deadline, clock, shown(url)))
        connection.sendall(
            _request(method, parts.path or "/", parts.query, _host_header(host, port, secure), body, headers)
        )
        raw, truncated = _read(connection, deadline, clock, max_answer, shown(url))
    except ExchangeFailed:
        raise
    except ssl.SSLError as error:
        raise ExchangeFailed(f"TLS with {shown(url)} failed: {error.reason or error}") from None
    except TimeoutError:
        raise ExchangeFailed(f"{shown(url)} did not answer within {timeout:g} s") from None
    except OSError as error:
        raise ExchangeFailed(f"could not reach {shown(url)}: {error.strerror or error}") from None
    finally:
        connection.close()
    return _answer(raw, truncated, max_answer, shown(url))


def _left(deadline: float, clock: Callable[[], float], where: str) -> float:
    left = deadline - clock()
    if left <= 0:
        raise ExchangeFailed(f"{where} did not answer in time")
    return left


def _resolve(host: str, port: int, resolve: Resolver, within: float) -> list[tuple[Any, ...]]:
    """The host's addresses, looked up once (in a thread, so the deadline holds for DNS too)."""
    found: list[Any] = []

    def lookup() -> None:
        try:
            found.append(resolve(host, port, 0, socket.SOCK_STREAM))
        except (OSError, UnicodeError) as error:
            found.append(error)

    worker = threading.Thread(target=lookup, daemon=True, name="resolve")
    worker.start()
    worker.join(max(within, 0))
    if not found:
        raise ExchangeFailed(f"looking up {host} took too long")
    if isinstance(found[0], BaseException) or not found[0]:
        raise ExchangeFailed(f"could not look up {host}: {found[0] or 'no address'}")
    return list(found[0])


def _connect(
    addresses: list[tuple[Any, ...]], deadline: float, clock: Callable[[], float], where: str
) -> socket.socket:
    problem: OSError | None = None
    for family, kind, protocol, _name, address in addresses:
        connection = socket.socket(family, kind, protocol)
        try:
            connection.settimeout(_left(deadline, clock, where))
            connection.connect(address)
            return connection
        except TimeoutError:
            connection.close()
            raise ExchangeFailed(f"{where} did not answer in time") from None
        except OSError as error:
            connection.close()
            problem = error
    raise ExchangeFailed(f"could not reach {where}: {getattr(problem, 'strerror', None) or problem}")


def _host_header(host: str, port: int, secure: bool) -> str:
    name = f"[{host}]" if ":" in host else host.encode("idna").decode("ascii")
    return name if port == (443 if secure else 80) else f"{name}:{port}"


def _request(method: str, path: str, query: str, host: str, body: bytes, headers: Mapping[str, str]) -> bytes:
    target = path + (f"?{query}" if query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Connection: close", "User-Agent: siyu"]
    lines.append(f"Content-Length: {len(body)}")
    for name, value in headers.items():
        if any(c in f"{name}{value}" for c in "\r\n\0"):
            raise ExchangeFailed(f"header {name[:40]!r} has a line break")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + body


def _read(
    connection: socket.socket, deadline: float, clock: Callable[[], float], max_answer: int, where: str
) -> tuple[bytes, bool]:
    """The raw answer: until the message is complete, the peer closes, or the cap is passed."""
    raw = bytearray()
    limit = max_answer + MAX_HEADER_BYTES
    while True:
        connection.settimeout(_left(deadline, clock, where))
        chunk = connection.recv(min(65536, limit + 1 - len(raw)))
        if not chunk:
            return bytes(raw), False
        raw += chunk
        if len(raw) > limit:
            return bytes(raw[:limit]), True
        if _complete(bytes(raw)):
            return bytes(raw), False


def _split(raw: bytes) -> tuple[int, dict[str, str], bytes] | None:
    """The final answer's status, headers and body so far (interim 1xx answers skipped), or None
    while its header is incomplete."""
    while True:
        head, separator, body = raw.partition(b"\r\n\r\n")
        if not separator:
            return None
        lines = head.decode("latin-1").split("\r\n")
        fields = lines[0].split(" ", 2)
        if len(fields) < 2 or not fields[0].startswith("HTTP/") or not (fields[1].isascii() and fields[1].isdigit()):
            raise ExchangeFailed("the answer is not HTTP")
        if not 100 <= int(fields[1]) < 200:
            break
        raw = body
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(fields[1]), headers, body


def _complete(raw: bytes) -> bool:
    split = _split(raw)
    if split is None:
        return False
    status, headers, body = split
    if status in (204, 304):
        return True
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return body.endswith(b"0\r\n\r\n")
    length = headers.get("content-length", "")
    return length.isascii() and length.isdigit() and len(body) >= int(length)


def _answer(raw: bytes, truncated: bool, max_answer: int, where: str) -> Answer:
    split = _split(raw)
    if split is None:
        raise ExchangeFailed(f"{where} answered no complete HTTP header")
    status, headers, body = split
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    return Answer(status, body[:max_answer], truncated or len(body) > max_answer)


def _dechunk(body: bytes) -> bytes:
    """The data of a chunked body, as much of it as arrived."""
    data, rest = bytearray(), body
    while True:
        size_line, separator, rest = rest.partition(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        except ValueError:
            break
        if not separator or size == 0:
            break
        data += rest[:size]
        rest = rest[size + 2 :]
    return bytes(data)
