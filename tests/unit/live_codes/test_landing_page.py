import base64
import io
import re

import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from siyu.live_codes import landing_page
from siyu.live_codes.qr_image import qr_png


def decoded(png_bytes: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png_bytes)))]


@settings(max_examples=30, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", min_size=1, max_size=300))
def test_rendered_qr_decodes_to_exactly_the_url(path):
    url = f"https://weixin.qq.com/g/{path}"
    image = qr_png(url)
    assert image.startswith(b"\x89PNG")
    assert decoded(image) == [url]


def test_target_page_inlines_a_png_qr_and_escapes_operator_text():
    url = "https://weixin.qq.com/g/abc"
    page = landing_page.target_page("<script>x</script>福利群", "长按识别二维码加入群聊", qr_png(url))
    body = page["body"]
    assert page["statusCode"] == 200 and page["headers"]["Cache-Control"] == "no-store"
    assert "<script>" not in body and "&lt;script&gt;" in body
    src = re.search(r'src="data:image/png;base64,([^"]+)"', body).group(1)
    assert decoded(base64.b64decode(src)) == [url]
    assert "长按识别二维码加入群聊" in body


def test_fallback_page_is_200_with_optional_backup_qr():
    without = landing_page.fallback_page("t", "群已满", None)
    assert without["statusCode"] == 200 and "<img" not in without["body"] and "群已满" in without["body"]
    backup = "https://u.wechat.com/abc"
    page = landing_page.fallback_page("t", "群已满", qr_png(backup))
    src = re.search(r'src="data:image/png;base64,([^"]+)"', page["body"]).group(1)
    assert decoded(base64.b64decode(src)) == [backup]


def test_not_found_is_a_friendly_404_and_busy_refreshes_itself():
    assert landing_page.not_found_page()["statusCode"] == 404
    busy = landing_page.busy_page()
    assert busy["statusCode"] == 200 and 'http-equiv="refresh"' in busy["body"]
