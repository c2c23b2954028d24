"""Console function: the operator console's single-page app, built by `make console` into static/.

GET /console redirects to /console/; /console/ is index.html (never cached, so a new build shows
at once); /console/assets/* are Vite's content-hashed files (cached for a year, immutable, gzipped
when the browser accepts it); /console/config.json tells the app how to sign in; any other path
under /console/ is a client-side route and gets index.html. No route here needs a token: the app
signs in and sends its token to /admin/* itself. This function never hands out tokens.
"""

from __future__ import annotations

import base64
import gzip
import json
import mimetypes
import os
from functools import cache
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".map": "application/json",
}
COMPRESSIBLE = (".js", ".css", ".html", ".json", ".svg", ".map", ".ttf")
# The app's own files only; styles inline (Element Plus sets style attributes); images drawn in the page
# (data:, blob:); API calls to this origin and, for sign-in, the issuer's https endpoints.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self' https:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def lambda_handler(event, context):
    path = event.get("rawPath") or "/console/"
    if path == "/console":
        return _answer(302, b"", "text/plain; charset=utf-8", {"Location": "/console/", "Cache-Control": "no-cache"})
    relative = path.removeprefix("/console/")
    if relative == "config.json":
        body = json.dumps(sign_in_config(os.environ), ensure_ascii=False).encode()
        return _answer(200, body, "application/json", {"Cache-Control": "no-store"})
    gzip_ok = "gzip" in _header(event, "accept-encoding")
    if relative.startswith("assets/"):
        found = _static_file(relative)
        if found is None:
            return _answer(404, b"not found", "text/plain; charset=utf-8", {"Cache-Control": "no-store"})
        return _file(found, IMMUTABLE, gzip_ok)
    last = relative.rsplit("/", 1)[-1]
    if "." in last:  # a file at the top (favicon.svg): short-cached, or 404, never the app
        found = _static_file(relative)
        if found is None:
            return _answer(404, b"not found", "text/plain; charset=utf-8", {"Cache-Control": "no-store"})
        return _file(found, "public, max-age=3600", gzip_ok)
    index = _static_file("index.html")
    if index is None:
        body = b"The console is not built: run `make console` (or make run / sam build, which build it)."
        return _answer(503, body, "text/plain; charset=utf-8", {"Cache-Control": "no-store"})
    answer = _file(index, "no-cache", gzip_ok)
    answer["headers"]["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return answer


def sign_in_config(env) -> dict:
    """How the app signs in, from the function's settings: the user pool's hosted UI (authorization
    code + PKCE), a configured OIDC issuer (discovered at <issuer>/.well-known/openid-configuration),
    or, on the local stack only, its local sign-in route."""
    local = env.get("CONSOLE_LOCAL_SIGN_IN_URL", "")
    if local:
        return {"mode": "local", "token_url": local}
    client_id, redirect = env.get("CONSOLE_CLIENT_ID", ""), env.get("CONSOLE_REDIRECT_URI", "")
    hosted_ui = env.get("CONSOLE_HOSTED_UI", "").rstrip("/")
    if not client_id or not redirect:
        return {
            "mode": "unconfigured",
            "message": "Set the stack's ConsoleUrl parameter to this console's address and deploy again.",
        }
    common = {"client_id": client_id, "redirect_uri": redirect, "scope": "openid email profile"}
    if hosted_ui:
        return {
            "mode": "oauth",
            **common,
            "authorization_endpoint": f"{hosted_ui}/oauth2/authorize",
            "token_endpoint": f"{hosted_ui}/oauth2/token",
            "logout_url": f"{hosted_ui}/logout",
            "logout_style": "cognito",
        }
    return {"mode": "oidc", **common, "issuer": env.get("CONSOLE_ISSUER", "").rstrip("/")}


def _static_file(relative: str) -> Path | None:
    if not relative or ".." in relative.split("/") or relative.startswith("/") or "\\" in relative:
        return None
    candidate = (STATIC / relative).resolve()
    if STATIC.resolve() not in candidate.parents or not candidate.is_file():
        return None
    return candidate


@cache
def _contents(path: Path, modified: int, compressed: bool) -> bytes:
    """A file's bytes (gzipped once per container), keyed by its mtime so a rebuild shows at once."""
    data = path.read_bytes()
    return gzip.compress(data, 9, mtime=0) if compressed else data


def _file(path: Path, cache_control: str, gzip_ok: bool) -> dict:
    kind = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    compressed = gzip_ok and path.suffix in COMPRESSIBLE
    headers = {"Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    if compressed:
        headers["Content-Encoding"] = "gzip"
    return _answer(200, _contents(path, path.stat().st_mtime_ns, compressed), kind, headers)


def _answer(status: int, body: bytes, content_type: str, headers: dict) -> dict:
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_type, **SECURITY_HEADERS, **headers},
        "body": base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": True,
    }


def _header(event: dict, name: str) -> str:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return ""
