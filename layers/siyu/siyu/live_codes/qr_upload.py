"""Reading an operator's uploaded QR screenshot: refuse anything that is not exactly one
WeChat/WeCom QR. Heavy (Pillow + zxing-cpp): imported by the admin function only."""

from __future__ import annotations

import io
from dataclasses import dataclass

import zxingcpp
from PIL import Image

from siyu.core.errors import SiyuError, TooLarge, UnsupportedMediaType, UploadRefused
from siyu.live_codes.qr_image import qr_png
from siyu.live_codes.wechat_urls import wechat_url_kind

MAX_UPLOAD_BYTES = 4 * 1024 * 1024
# Real phone screenshots are under 5 million pixels; anything far above is a decompression bomb.
MAX_PIXELS = 25_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

# The set zxing-cpp would make of BarcodeFormat.QRCode itself (its stub takes only the set).
_QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)

_ACCEPTED = {b"\x89PNG\r\n\x1a\n": ("PNG", "image/png", "png"), b"\xff\xd8\xff": ("JPEG", "image/jpeg", "jpg")}


@dataclass(frozen=True)
class UploadedQr:
    url: str
    kind: str
    content_type: str
    extension: str


def read_qr_screenshot(data: bytes) -> UploadedQr:
    """The one WeChat/WeCom URL in a PNG or JPEG screenshot, or UploadRefused saying why not."""
    if not data:
        raise UploadRefused("not an image: the upload is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise TooLarge(
            f"image too large: {len(data) / 1024 / 1024:.1f} MB, the limit is "
            f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB; send a plain screenshot of the QR"
        )
    image_format, content_type, extension = _sniff(data)
    image = _decode_image(data, image_format)
    url = _single_qr_text(image)
    kind = wechat_url_kind(url)
    if kind is None:
        raise UploadRefused(
            f"QR content is not a WeChat/WeCom URL (it reads {url[:120]!r}); upload the QR that "
            "WeChat shows for the group (weixin.qq.com), staff (u.wechat.com) or WeCom (work.weixin.qq.com)"
        )
    return UploadedQr(url=url, kind=kind, content_type=content_type, extension=extension)


def scannable_qr_png(url: str) -> bytes:
    """The clean PNG the landing page shows for `url`, proven to decode back to exactly `url`."""
    image = qr_png(url)
    decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(image)), formats=_QR_ONLY)]
    if decoded != [url]:
        raise UploadRefused(f"could not re-render this QR so that it scans back to {url!r}; please report it")
    return image


def _sniff(data: bytes) -> tuple[str, str, str]:
    for magic, accepted in _ACCEPTED.items():
        if data.startswith(magic):
            return accepted
    head = data[:2048].lower()
    if b"<svg" in head or b"<?xml" in head:
        raise UnsupportedMediaType("unsupported image type: SVG is not accepted; send a PNG or JPEG screenshot")
    try:
        with Image.open(io.BytesIO(data)) as other:
            found = other.format
    except Exception:
        raise UnsupportedMediaType(
            "not an image: the file is neither PNG nor JPEG; send a PNG or JPEG screenshot of the QR"
        ) from None
    raise UnsupportedMediaType(f"unsupported image type: {found}; send a PNG or JPEG screenshot")


def _decode_image(data: bytes, image_format: str) -> Image.Image:
    try:
        image: Image.Image = Image.open(io.BytesIO(data), formats=[image_format])
        width, height = image.size  # read from the header, before any pixel is decompressed
        if width * height > MAX_PIXELS:
            raise TooLarge(_too_many_pixels(f"{width}×{height} pixels"))
        image.load()
    except SiyuError:
        raise
    except Image.DecompressionBombError:
        raise TooLarge(_too_many_pixels()) from None
    except Exception:
        raise UploadRefused(
            "corrupt image: the file is damaged or incomplete; take the screenshot again and re-upload"
        ) from None
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        # QR on a transparent background: flatten onto white, or the dark modules vanish.
        flattened = Image.new("RGB", image.size, "white")
        flattened.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        image = flattened
    return image.convert("L")


def _too_many_pixels(size: str = "far too many pixels") -> str:
    return (
        f"image too large (decompression bomb): {size}, the limit is "
        f"{MAX_PIXELS // 1_000_000} million; send a normal phone screenshot"
    )


def _single_qr_text(image: Image.Image) -> str:
    found = zxingcpp.read_barcodes(image, formats=_QR_ONLY, try_rotate=True, try_downscale=True)
    texts = list(dict.fromkeys(r.text for r in found if r.valid and r.text))
    if not texts:
        raise UploadRefused("no QR code found in the image; upload a sharp screenshot where the whole QR is visible")
    if len(texts) > 1:
        raise UploadRefused(f"more than one QR code in the image ({len(texts)} found); crop it to the single group QR")
    return texts[0]
