"""Which QR contents are WeChat / WeCom destinations we may show to a scanner."""

from urllib.parse import urlsplit

# Exact hosts only: a look-alike such as weixin.qq.com.evil.cn or evil-weixin.qq.com.cn is refused.
_KIND_BY_HOST = {
    "weixin.qq.com": "wechat_group",
    "u.wechat.com": "wechat_personal",
    "work.weixin.qq.com": "wecom",
}
MAX_URL_LENGTH = 1024


def wechat_url_kind(text: str) -> str | None:
    """The kind of WeChat/WeCom destination `text` is, or None when it is not one.

    Kinds: ``wechat_group`` (weixin.qq.com, e.g. /g/…), ``wechat_personal`` (u.wechat.com),
    ``wecom`` (work.weixin.qq.com).
    """
    if not text or len(text) > MAX_URL_LENGTH or not text.isprintable() or " " in text:
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    # netloc must be the bare host: userinfo (https://weixin.qq.com@evil.cn) or a port never
    # appear in a real WeChat QR.
    if parts.scheme not in ("https", "http") or parts.netloc.lower() != (parts.hostname or "-"):
        return None
    return _KIND_BY_HOST.get(parts.hostname or "")
