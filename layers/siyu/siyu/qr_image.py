"""Re-rendering a stored URL as a clean PNG QR for the landing page.

segno is pure Python with its own PNG writer: no Pillow on the scan path.
"""

import base64
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


def qr_data_uri(url: str) -> str:
    return "data:image/png;base64," + base64.b64encode(qr_png(url)).decode("ascii")
