"""Re-rendering a target's URL as a clean PNG QR for the landing page.

Rendered once, when the operator uploads the screenshot (admin function), and stored with the
target: the scan function only inlines the stored bytes and needs no QR library at all.
"""

import functools
import io

import segno

# Long-press recognition in WeChat wants a sharp raster image of a few hundred pixels.
TARGET_PIXELS = 480


@functools.lru_cache(maxsize=512)
def qr_png(url: str) -> bytes:
    qr = segno.make_qr(url, error="m")
    modules = qr.symbol_size(scale=1, border=4)[0]
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=max(4, TARGET_PIXELS // modules), border=4)
    return buffer.getvalue()


# Print files: quartile error correction survives a scuffed parcel card; whole-pixel modules
# stay sharp at any printer's resampling.
PRINT_SIZES = (128, 4096)


def print_png(url: str, size: int) -> bytes:
    """A print-ready PNG about `size` pixels square (whole pixels per module, never larger)."""
    qr = segno.make_qr(url, error="q")
    modules = qr.symbol_size(scale=1, border=4)[0]
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=max(1, size // modules), border=4)
    return buffer.getvalue()


def print_svg(url: str) -> bytes:
    """The same QR as a vector SVG (scales to any print size)."""
    qr = segno.make_qr(url, error="q")
    buffer = io.BytesIO()
    qr.save(buffer, kind="svg", scale=10, border=4, xmldecl=True, title=url)
    return buffer.getvalue()
