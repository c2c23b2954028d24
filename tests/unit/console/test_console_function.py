"""The console function: the single-page app's files with the right caching, its sign-in settings,
and nothing outside its static folder."""

from __future__ import annotations

import base64
import gzip
import importlib.util
import json

import pytest

from tests.helpers import ROOT

spec = importlib.util.spec_from_file_location("console_app", ROOT / "functions" / "console" / "app.py")
console = importlib.util.module_from_spec(spec)
spec.loader.exec_module(console)

INDEX = b"<!doctype html><html><body><div id=app></div></body></html>"
ASSET = b"console.log('hello');" * 50


@pytest.fixture
def static(tmp_path, monkeypatch):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_bytes(INDEX)
    (tmp_path / "assets" / "index-Ab12Cd34.js").write_bytes(ASSET)
    (tmp_path / "favicon.svg").write_bytes(b"<svg/>")
    (tmp_path.parent / "secret.txt").write_text("not served")
    monkeypatch.setattr(console, "STATIC", tmp_path)
    for name in [n for n in list(__import__("os").environ) if n.startswith("CONSOLE_")]:
        monkeypatch.delenv(name)
    return tmp_path


def get(path: str, accept_encoding: str = "") -> dict:
    headers = {"accept-encoding": accept_encoding} if accept_encoding else {}
    return console.lambda_handler({"rawPath": path, "headers": headers}, None)


def body(answer: dict) -> bytes:
    data = base64.b64decode(answer["body"]) if answer["isBase64Encoded"] else answer["body"].encode()
    return gzip.decompress(data) if answer["headers"].get("Content-Encoding") == "gzip" else data


def test_the_bare_path_redirects_to_the_folder(static):
    answer = get("/console")
    assert answer["statusCode"] == 302 and answer["headers"]["Location"] == "/console/"


def test_the_index_is_never_cached(static):
    answer = get("/console/")
    assert answer["statusCode"] == 200 and body(answer) == INDEX
    assert answer["headers"]["Content-Type"].startswith("text/html")
    assert answer["headers"]["Cache-Control"] == "no-cache"
    policy = answer["headers"]["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy


def test_hashed_assets_are_immutable_and_gzipped_when_accepted(static):
    plain = get("/console/assets/index-Ab12Cd34.js")
    assert plain["statusCode"] == 200 and body(plain) == ASSET and "Content-Encoding" not in plain["headers"]
    assert plain["headers"]["Content-Type"].startswith("text/javascript")
    assert plain["headers"]["Cache-Control"] == "public, max-age=31536000, immutable"
    zipped = get("/console/assets/index-Ab12Cd34.js", "gzip, deflate, br")
    assert zipped["headers"]["Content-Encoding"] == "gzip" and body(zipped) == ASSET
    assert len(base64.b64decode(zipped["body"])) < len(ASSET) / 5


@pytest.mark.parametrize(
    "path",
    [
        "/console/assets/missing-0000.js",
        "/console/assets/../../secret.txt",
        "/console/assets/%2e%2e/x",
        "/console/x.png",
    ],
)
def test_unknown_files_are_404_not_the_app(static, path):
    answer = get(path)
    assert answer["statusCode"] == 404 and b"not served" not in body(answer)


@pytest.mark.parametrize("path", ["/console/codes", "/console/codes/abc123", "/console/sop/p1"])
def test_client_side_routes_get_the_app(static, path):
    answer = get(path)
    assert answer["statusCode"] == 200 and body(answer) == INDEX


def test_a_file_at_the_top_is_served_with_its_type(static):
    answer = get("/console/favicon.svg")
    assert answer["statusCode"] == 200 and answer["headers"]["Content-Type"] == "image/svg+xml"


def test_an_unbuilt_console_says_how_to_build_it(static):
    (static / "index.html").unlink()
    answer = get("/console/")
    assert answer["statusCode"] == 503 and b"make console" in body(answer)


def config(monkeypatch, **env) -> dict:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    answer = get("/console/config.json")
    assert answer["headers"]["Cache-Control"] == "no-store"
    return json.loads(body(answer))


def test_the_user_pool_signs_in_through_its_hosted_ui_with_pkce(static, monkeypatch):
    found = config(
        monkeypatch,
        CONSOLE_CLIENT_ID="abc123",
        CONSOLE_HOSTED_UI="https://siyu-x.auth.us-east-1.amazoncognito.com",
        CONSOLE_REDIRECT_URI="https://api.example.com/console/",
    )
    assert found["mode"] == "oauth" and found["client_id"] == "abc123"
    assert found["authorization_endpoint"] == "https://siyu-x.auth.us-east-1.amazoncognito.com/oauth2/authorize"
    assert found["token_endpoint"].endswith("/oauth2/token") and found["logout_url"].endswith("/logout")
    assert found["redirect_uri"] == "https://api.example.com/console/" and "openid" in found["scope"]


def test_an_oidc_issuer_is_discovered_by_the_app(static, monkeypatch):
    found = config(
        monkeypatch,
        CONSOLE_CLIENT_ID="siyu",
        CONSOLE_ISSUER="https://id.example.cn/",
        CONSOLE_REDIRECT_URI="https://qr.example.cn/console/",
    )
    assert found == {
        "mode": "oidc",
        "client_id": "siyu",
        "redirect_uri": "https://qr.example.cn/console/",
        "scope": "openid email profile",
        "issuer": "https://id.example.cn",
    }


def test_without_the_console_url_sign_in_says_what_to_set(static, monkeypatch):
    found = config(monkeypatch, CONSOLE_CLIENT_ID="abc123", CONSOLE_HOSTED_UI="https://x.auth.example.com")
    assert found["mode"] == "unconfigured" and "ConsoleUrl" in found["message"]


def test_the_config_never_carries_a_token(static, monkeypatch):
    found = config(monkeypatch, CONSOLE_LOCAL_SIGN_IN_URL="/_local/console/sign-in")
    assert found == {"mode": "local", "token_url": "/_local/console/sign-in"}
