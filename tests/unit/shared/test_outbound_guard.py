"""The one guarded sender: where outbound calls may go (pure rules, property-tested) and how one
exchange behaves against hostile receivers (local servers: a redirect inwards, a slow drip, a huge
answer, DNS names that point inside)."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siyu.delivery import sender
from siyu.delivery.addresses import address_refusal, url_refusal
from siyu.delivery.guarded_http import ExchangeFailed, exchange
from siyu.delivery.sender import DeliveryFailed
from siyu.wecom import client as wecom_client

INSIDE = [
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "224.0.0.0/4",
    "0.0.0.0/8",
    "240.0.0.0/4",
]
INSIDE_V6 = ["::1/128", "fe80::/10", "fc00::/7", "fec0::/10", "ff00::/8", "::/128"]
PUBLIC = ["8.8.8.8", "1.1.1.1", "203.119.0.1", "114.114.114.114", "2400:3200::1", "2001:4860:4860::8888"]


def _in(network: str) -> st.SearchStrategy[str]:
    net = ipaddress.ip_network(network)
    return st.integers(0, net.num_addresses - 1).map(lambda i: str(net[i]))


@given(st.sampled_from(INSIDE).flatmap(_in))
def test_every_inside_ipv4_address_is_refused_and_so_are_its_ipv6_forms(address):
    assert address_refusal(address) is not None
    assert address_refusal(f"::ffff:{address}") is not None  # IPv4-mapped
    nat64 = ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) + int(ipaddress.IPv4Address(address)))
    assert address_refusal(str(nat64)) is not None


@given(st.sampled_from(INSIDE_V6).flatmap(_in))
def test_every_inside_ipv6_address_is_refused(address):
    if address == "::1":
        assert address_refusal(address, local=True) is None
    assert address_refusal(address) is not None


@given(st.sampled_from(PUBLIC), st.booleans())
def test_public_addresses_pass_locally_or_not(address, local):
    assert address_refusal(address, local) is None
    assert address_refusal(f"::ffff:{address}" if "." in address else address, local) is None


def test_loopback_passes_only_when_the_stack_runs_locally_and_nothing_else_inside_does():
    assert address_refusal("127.0.0.1", local=True) is None
    assert address_refusal("::ffff:127.0.0.1", local=True) is None
    assert "loopback" in (address_refusal("127.0.0.1") or "")
    for address in ("10.1.2.3", "169.254.169.254", "100.64.0.1", "224.0.0.251", "0.0.0.0", "fd00::1"):
        assert address_refusal(address, local=True) is not None, address


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://hooks.example.com/x", "https"),
        ("https://127.0.0.1/x", "loopback"),
        ("https://[::1]:9001/x", "loopback"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://10.0.0.8/hook", "private"),
        ("https://100.100.100.200/", "carrier-grade"),
        ("https://[::ffff:192.168.1.1]/", "private"),
        ("https://localhost:9001/2018-06-01/runtime/invocation/next", "localhost"),
        ("https://user:pw@hooks.example.com/", "password"),
        ("https:///nohost", "host"),
        ("ftp://hooks.example.com/", "https"),
        ("https://hooks.example.com:99999/", "valid"),
    ],
)
def test_urls_an_operator_cannot_register(url, reason):
    refusal = url_refusal(url)
    assert refusal is not None and reason in refusal


def test_urls_that_pass_the_static_check():
    assert url_refusal("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc") is None
    assert url_refusal("https://8.8.8.8/hook") is None
    assert url_refusal("http://127.0.0.1:8080/hook", local=True) is None
    assert url_refusal("http://hooks.example.com/", local=True) is None


# -- exchanges with local servers ------------------------------------------------------------------


class Server:
    """A local HTTP server whose one POST handler is given; it records what arrived."""

    def __init__(self, answer):
        self.requests: list[tuple[str, dict]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                answer(self)

            def log_message(self, *args):
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        self.port = self._http.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self):
        self._http.shutdown()
        self._http.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(answer):
        servers.append(Server(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _ok(handler):
    handler.send_response(200)
    handler.send_header("Content-Length", "12")
    handler.end_headers()
    handler.wfile.write(b'{"errcode":0}'[:12])


def test_a_redirect_is_not_followed_not_even_to_the_lambda_runtime_api(serve):
    inner = serve(_ok)  # stands for 127.0.0.1:9001

    def redirect(handler):
        handler.send_response(307)
        handler.send_header("Location", f"{inner.url}/2018-06-01/runtime/invocation/next")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    outer = serve(redirect)
    with pytest.raises(DeliveryFailed, match="redirect"):
        sender.post(f"{outer.url}/hook", b"{}", {})
    assert len(outer.requests) == 1 and inner.requests == []


def test_the_wecom_client_does_not_follow_redirects_either(serve):
    inner = serve(_ok)

    def redirect(handler):
        handler.send_response(302)
        handler.send_header("Location", f"{inner.url}/2018-06-01/runtime/invocation/next")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    outer = serve(redirect)
    request = urllib.request.Request(f"{outer.url}/cgi-bin/gettoken", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        wecom_client.urlopen(request, 2)
    assert refused.value.code == 302 and inner.requests == []


def test_loopback_is_refused_unless_the_local_stack_says_it_runs_locally(serve, monkeypatch):
    server = serve(_ok)
    assert sender.post(f"{server.url}/hook", b"{}", {}) == b'{"errcode":0'  # SIYU_RUNS_LOCALLY=1 (conftest)
    monkeypatch.delenv("SIYU_RUNS_LOCALLY")
    with pytest.raises(DeliveryFailed, match="https"):
        sender.post(f"{server.url}/hook", b"{}", {})
    assert len(server.requests) == 1


def test_a_name_that_resolves_inside_is_refused_before_any_connection(monkeypatch):
    monkeypatch.delenv("SIYU_RUNS_LOCALLY")
    looked_up, connected = [], []

    def resolve(host, port, *args):
        looked_up.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(socket.socket, "connect", lambda *a: connected.append(a))
    with pytest.raises(DeliveryFailed, match="metadata.internal resolves to a link-local"):
        sender.post("https://metadata.internal/latest", b"{}", {})
    assert looked_up == ["metadata.internal"] and connected == []


def test_one_inside_address_among_public_ones_is_enough_to_refuse():
    def resolve(host, port, *args):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", port)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::ffff:10.0.0.1", port, 0, 0)),
        ]

    with pytest.raises(ExchangeFailed, match="private"):
        exchange("POST", "https://mixed.example.com/", b"", {}, timeout=2, max_answer=10, local=False, resolve=resolve)


def test_the_connection_goes_to_the_checked_address_with_the_names_host_header(serve):
    server = serve(_ok)
    lookups = []

    def resolve(host, port, *args):
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    url = f"http://receiver.test:{server.port}/hook?key=secret"
    answer = exchange("POST", url, b"{}", {}, timeout=2, max_answer=100, local=True, resolve=resolve)
    assert answer.status == 200 and lookups == ["receiver.test"]  # looked up once, not again by a library
    path, headers = server.requests[0]
    assert path == "/hook?key=secret" and headers["host"] == f"receiver.test:{server.port}"


def test_a_slow_drip_answer_is_cut_at_the_overall_deadline(serve):
    def drip(handler):
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        handler.wfile.flush()
        for _ in range(100):  # a header byte every 0.1 s: no single read ever waits long
            handler.wfile.write(b"X")
            handler.wfile.flush()
            time.sleep(0.1)

    server = serve(drip)
    started = time.monotonic()
    with pytest.raises(ExchangeFailed, match="in time|within"):
        exchange("POST", f"{server.url}/", b"{}", {}, timeout=1.0, max_answer=1000, local=True)
    assert time.monotonic() - started < 1.5


def test_a_huge_answer_is_read_only_up_to_the_cap(serve):
    def huge(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(100 * 1024 * 1024))
        handler.end_headers()
        block = b"x" * 65536
        try:
            for _ in range(1600):
                handler.wfile.write(block)
        except OSError:
            pass  # the sender hung up after its cap

    server = serve(huge)
    started = time.monotonic()
    answer = exchange("POST", f"{server.url}/", b"{}", {}, timeout=5, max_answer=64 * 1024, local=True)
    assert answer.status == 200 and answer.truncated and len(answer.body) <= 64 * 1024
    assert time.monotonic() - started < 2
    assert len(sender.post(f"{server.url}/", b"{}", {})) == sender.ANSWER_BYTES


def test_a_chunked_answer_is_read_whole(serve):
    def chunked(handler):
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        handler.wfile.write(b'7\r\n{"errco\r\n7\r\nde":0}\r\n0\r\n\r\n')
        handler.wfile.flush()
        time.sleep(1)  # keeps the connection open: the sender must see the end itself

    server = serve(chunked)
    started = time.monotonic()
    sender.send_robot(f"{server.url}/robot", {"msgtype": "text"})
    assert time.monotonic() - started < 0.9


def test_an_interim_100_continue_is_skipped(serve):
    def interim(handler):
        handler.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        handler.wfile.flush()

    server = serve(interim)
    answer = exchange("POST", f"{server.url}/", b"{}", {}, timeout=2, max_answer=100, local=True)
    assert (answer.status, answer.body) == (200, b"ok")


def test_an_error_status_is_a_failed_delivery_without_the_query(serve):
    def fail(handler):
        handler.send_response(500)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    server = serve(fail)
    with pytest.raises(DeliveryFailed) as failed:
        sender.post(f"{server.url}/cgi-bin/webhook/send?key=robot-secret", b"{}", {})
    assert "HTTP 500" in str(failed.value) and "robot-secret" not in str(failed.value)


def test_a_status_line_with_non_ascii_digits_is_a_failed_exchange_not_a_crash():
    from siyu.delivery import guarded_http

    with pytest.raises(guarded_http.ExchangeFailed):
        guarded_http._split(b"HTTP/1.1 \xb2\xb2\xb2 OK\r\nContent-Length: 0\r\n\r\n")
