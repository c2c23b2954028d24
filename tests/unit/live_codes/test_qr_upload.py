"""Reading uploaded screenshots: every good fixture decodes to its URL, every hostile one is
refused with a message that says what is wrong."""

import io

import pytest
from PIL import Image

from siyu.core.errors import SiyuError
from siyu.live_codes.qr_upload import MAX_UPLOAD_BYTES, read_qr_screenshot
from siyu.web.http_status import http_status
from tests.helpers import BAD, GOOD, MANIFEST, fixture_bytes, new_group_screenshot, png


@pytest.mark.parametrize("name", GOOD)
def test_good_fixture_decodes_to_manifest_url(name):
    upload = read_qr_screenshot(fixture_bytes(name))
    assert upload.url == MANIFEST[name]["url"]
    assert upload.kind == MANIFEST[name]["kind"]


@pytest.mark.parametrize("name", BAD)
def test_bad_fixture_is_refused_with_its_reason(name):
    with pytest.raises(SiyuError) as refused:
        read_qr_screenshot(fixture_bytes(name))
    assert 400 <= http_status(refused.value) < 500
    assert MANIFEST[name]["reject"].lower() in refused.value.message.lower()


def test_oversized_file_is_refused_before_decoding():
    with pytest.raises(SiyuError) as refused:
        read_qr_screenshot(b"\x89PNG\r\n\x1a\n" + b"\0" * MAX_UPLOAD_BYTES)
    assert http_status(refused.value) == 413 and "too large" in refused.value.message


def test_gif_and_empty_are_refused():
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    with pytest.raises(SiyuError, match="unsupported image type: GIF"):
        read_qr_screenshot(gif.getvalue())
    with pytest.raises(SiyuError, match="not an image"):
        read_qr_screenshot(b"")


def test_transparent_png_and_jpeg_screenshots_are_read():
    url, screenshot = new_group_screenshot()
    image = Image.open(io.BytesIO(screenshot)).convert("RGBA")
    # Make the white background transparent: the QR must still be found.
    image.putdata([(0, 0, 0, 0) if p[:3] == (255, 255, 255) else p for p in image.getdata()])
    assert read_qr_screenshot(png(image)).url == url
    jpeg = io.BytesIO()
    Image.open(io.BytesIO(screenshot)).save(jpeg, format="JPEG", quality=70)
    assert read_qr_screenshot(jpeg.getvalue()).url == url


def test_pixel_bomb_below_pillow_guard_is_refused_from_the_header():
    bomb = io.BytesIO()
    Image.new("1", (6000, 6000)).save(bomb, format="PNG")  # 36 MP: small file, huge bitmap
    with pytest.raises(SiyuError, match="decompression bomb") as refused:
        read_qr_screenshot(bomb.getvalue())
    assert http_status(refused.value) == 413
