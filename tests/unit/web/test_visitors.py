import pytest

from siyu.web.visitors import is_bot, is_wechat
from tests.helpers import WECHAT_UA

SAFARI = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile Safari/604.1"
WECOM = "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 Chrome/116 Mobile wxwork/4.1.10 MicroMessenger/7.0.1"


@pytest.mark.parametrize(("ua", "wechat"), [(WECHAT_UA, True), (WECOM, True), (SAFARI, False)])
def test_wechat_browsers(ua, wechat):
    assert is_wechat(ua) is wechat and not is_bot(ua)


@pytest.mark.parametrize(
    "ua",
    [
        "",
        "curl/8.5.0",
        "Python-urllib/3.11",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; Baiduspider/2.0)",
        "facebookexternalhit/1.1",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/120.0 Safari/537.36",
    ],
)
def test_bots_are_recognised(ua):
    assert is_bot(ua)
