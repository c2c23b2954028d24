"""The HTML shell every public page shares (scan landing pages, campaign pages): one mobile
page with inline CSS, answered as an API Gateway (HTTP API v2) response."""

from __future__ import annotations

from html import escape
from typing import Any

_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    # Every scan must reach us to be counted and to see the current target.
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'",
}

_STYLE = """
body{margin:0;font-family:-apple-system,BlinkMacSystemFont,"PingFang SC","Microsoft YaHei",sans-serif;
background:#f2f3f5;color:#1f2329;display:flex;justify-content:center}
main{box-sizing:border-box;width:100%;max-width:480px;min-height:100vh;padding:32px 20px;
text-align:center;background:#fff}
h1{font-size:22px;margin:8px 0 12px;line-height:1.4}
p{font-size:16px;line-height:1.6;margin:8px 0;white-space:pre-line}
.qr{width:72vw;max-width:300px;height:auto;margin:20px auto 8px;display:block;image-rendering:pixelated}
.hint{color:#07c160;font-weight:600}
.muted{color:#8a8f99;font-size:14px}
.choice{display:block;margin:12px 0;padding:14px 16px;border-radius:10px;background:#f0faf4;
color:#1f2329;text-decoration:none;text-align:left;border:1px solid #c7ecd6}
.choice b{display:block;font-size:17px}.choice span{color:#5c6370;font-size:14px}
.staff{font-size:17px;margin:4px 0}
.notice{background:#fff7e6;color:#ad6800;border-radius:8px;padding:10px 12px;font-size:14px;text-align:left}
"""


def page(status: int, title: str, body: str, extra_head: str = "", csp: str | None = None) -> dict[str, Any]:
    """An HTML page as an API Gateway response (campaign pages pass their own CSP)."""
    html = (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1,maximum-scale=1">'
        f"<title>{escape(title)}</title>{extra_head}<style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    headers = dict(_HEADERS)
    if csp:
        headers["Content-Security-Policy"] = csp
    return {"statusCode": status, "headers": headers, "body": html}
