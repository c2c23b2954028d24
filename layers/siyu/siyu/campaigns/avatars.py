"""What the join accepts as an avatar, checked before any decoding: the file's first bytes (the
magic numbers of JPEG, PNG and WebP) and its size. Pillow's header read (posters.avatar_jpeg)
then checks the declared pixels before a single pixel is decoded."""

from __future__ import annotations

MAX_AVATAR_BYTES = 4 * 1024 * 1024  # a photo posted by a browser reaches Lambda base64-encoded: 4 MB fits 6 MB
MAX_AVATAR_PIXELS = 8_000_000  # 8 MP: a phone photo; more is only work for the decoder
AVATAR_FORMATS = ("JPEG", "PNG", "WEBP")  # Pillow's names


def avatar_format(data: bytes) -> str | None:
    """JPEG, PNG or WEBP from the file's magic bytes, or None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None
