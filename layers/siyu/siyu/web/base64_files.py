"""Files sent inside JSON as base64 (uploads through the admin API, avatars through the public
join), decoded the same lenient way everywhere, with the same 4xx when they cannot be."""

from __future__ import annotations

import base64
import binascii

from siyu.core.errors import InvalidInput, TooLarge


def decode_base64_file(text: str, max_bytes: int, field: str = "image_base64", hint: str = "") -> bytes:
    """The file's bytes, or TooLarge when larger than `max_bytes`, or InvalidInput
    naming `field` when it is not base64. Accepts what real tools produce: a data: URI as
    browsers make it, line-wrapped output of `base64`, and the URL-safe alphabet."""
    text = text.strip()
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    text = "".join(text.split()).replace("-", "+").replace("_", "/")
    if len(text) > (max_bytes * 4) // 3 + 4:
        raise TooLarge(f"image too large: the limit is {max_bytes // 1024 // 1024} MB{hint}")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{field} is not valid base64; send the file's bytes base64-encoded") from None
