import pytest

from siyu.live_codes.wechat_urls import wechat_url_kind


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://weixin.qq.com/g/WK59PFkl0JfI2yyVlbPegB", "wechat_group"),
        ("http://weixin.qq.com/r/abc", "wechat_group"),
        ("https://u.wechat.com/PnRNbzoc51FeogdvbzDp8mFm", "wechat_personal"),
        ("https://work.weixin.qq.com/gm/abc123", "wecom"),
        ("https://WEIXIN.QQ.COM/g/abc", "wechat_group"),
    ],
)
def test_wechat_hosts_are_accepted_with_their_kind(url, kind):
    assert wechat_url_kind(url) == kind


@pytest.mark.parametrize(
    "url",
    [
        "https://weixin.qq.com.evil.cn/g/abc",  # look-alike suffix
        "https://evilweixin.qq.com/g/abc",
        "https://evil.weixin.qq.com/g/abc",  # subdomains are not WeChat QR hosts
        "https://weixin.qq.com@evil.cn/g/abc",  # userinfo trick
        "https://weixin.qq.com:8443/g/abc",
        "https://weixin.qq.com./g/abc",
        "ftp://weixin.qq.com/g/abc",
        "javascript:alert(1)//weixin.qq.com",
        "https://example.com/login?next=weixin.qq.com",
        "weixin.qq.com/g/abc",
        "https://weixin.qq.com/g/a b",
        "https://weixin.qq.com/g/\x00",
        "https://[::1/",
        "",
        "https://weixin.qq.com/g/" + "a" * 2000,
    ],
)
def test_everything_else_is_refused(url):
    assert wechat_url_kind(url) is None
