"""Personal fission posters: a campaign's background, the participant's avatar and nickname,
and a QR of their referral URL, as a ~750x1334 JPEG.

Only the poster function and the admin API import this (Pillow is heavy; the scan path never pays
for them). Text is drawn with the fonts shipped in the layer: Noto Sans CJK SC (a subset:
GB2312, common traditional characters, Latin, kana) and Noto Color Emoji, chosen per grapheme,
so a nickname like "小美🌸Lily" has no tofu boxes. A character neither font has is drawn as a
middle dot and reported, never as the missing-glyph box.
"""

from __future__ import annotations

import functools
import io
import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import segno
from PIL import Image, ImageDraw, ImageFont, ImageOps

from siyu.campaigns.avatars import MAX_AVATAR_PIXELS, avatar_format
from siyu.campaigns.rules import VS16, ZWJ, clean_text, is_tag

FONTS = Path(__file__).with_name("fonts")
TEXT_FONT = FONTS / "NotoSansSC-Bold-subset.otf"
EMOJI_FONT = FONTS / "NotoColorEmoji-small.ttf"
EMOJI_PPEM = 40  # the only bitmap size the emoji font has
POSTER_SIZE = (750, 1334)
JPEG_QUALITY = 88
MISSING = "·"
ELLIPSIS = "…"
MAX_IMAGE_PIXELS = 40_000_000  # a background larger than this is refused, not decoded (avatars: 8 MP)
# Pillow's own bomb guard: it warns past this and refuses past twice this, whatever the caller checks.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

KEYCAP = "\u20e3"


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    size: int


@dataclass(frozen=True)
class TextSpec:
    x: int
    y: int
    size: int = 32
    color: str = "#333333"
    max_width: int = 600
    align: str = "center"  # left | center | right: where x is
    text: str = ""  # fixed lines; a nickname spec leaves it empty


@dataclass(frozen=True)
class PosterLayout:
    """Where things go on the poster (pixels on a 750x1334 canvas)."""

    qr: Box = Box(225, 880, 300)
    avatar: Box | None = Box(315, 120, 120)
    nickname: TextSpec | None = TextSpec(375, 270, 40, "#222222", 640)
    texts: tuple[TextSpec, ...] = ()
    background_color: str = "#FFF4E6"


def layout_from(fields: dict[str, Any]) -> PosterLayout:
    """A campaign's stored poster fields as a layout (missing parts take the defaults)."""
    default = PosterLayout()
    return PosterLayout(
        qr=Box(**fields["qr"]) if fields.get("qr") else default.qr,
        avatar=Box(**fields["avatar"]) if fields.get("avatar") else default.avatar,
        nickname=TextSpec(**fields["nickname"]) if fields.get("nickname") else default.nickname,
        texts=tuple(TextSpec(**t) for t in fields.get("texts", ())),
        background_color=fields.get("background_color", default.background_color),
    )


@dataclass(frozen=True)
class RenderedText:
    drawn: str  # what was drawn, after truncation and substitutions
    missing: tuple[str, ...] = ()  # characters neither font has (drawn as MISSING)
    width: int = 0


@dataclass
class PosterResult:
    jpeg: bytes
    texts: list[RenderedText] = field(default_factory=list)


# -- fonts and graphemes -----------------------------------------------------------------------


@functools.cache
def text_font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(TEXT_FONT), size)


@functools.cache
def _emoji_font() -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(EMOJI_FONT), EMOJI_PPEM)


@functools.cache
def _cmap(path: Path) -> frozenset[int]:
    """The code points a font has, from coverage.json (written with the fonts by
    scripts/build_poster_fonts.py; a test checks it against the fonts themselves)."""
    ranges = json.loads((FONTS / "coverage.json").read_text())[path.name]
    return frozenset(point for first, last in ranges for point in range(first, last + 1))


def text_font_has(char: str) -> bool:
    return ord(char) in _cmap(TEXT_FONT)


def emoji_font_has(char: str) -> bool:
    return ord(char) in _cmap(EMOJI_FONT)


def graphemes(text: str) -> list[str]:
    """Split text into what a reader sees as one character: an emoji with its skin tone,
    variation selector, keycap or zero-width-joined partners stays whole; flags are pairs."""
    clusters: list[str] = []
    for char in text:
        if clusters:
            last = clusters[-1]
            joins = last.endswith(ZWJ) or char in (ZWJ, VS16, KEYCAP) or 0x1F3FB <= ord(char) <= 0x1F3FF
            joins = joins or is_tag(char)
            flag_pair = _regional(char) and len(last) == 1 and _regional(last)
            if joins or flag_pair or unicodedata.combining(char):
                clusters[-1] = last + char
                continue
        clusters.append(char)
    return clusters


def _regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def is_emoji(cluster: str) -> bool:
    first = cluster[0]
    if not emoji_font_has(first):
        return False
    # Digits, # and * are in the emoji font too: they are emoji only as keycaps or with VS16.
    return VS16 in cluster or KEYCAP in cluster or not text_font_has(first) or ord(first) >= 0x1F000


# -- drawing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Piece:
    kind: str  # text | emoji
    value: str
    width: int


def _pieces(text: str, size: int) -> tuple[list[_Piece], list[str]]:
    pieces: list[_Piece] = []
    missing: list[str] = []
    font = text_font(size)
    for cluster in graphemes(text):
        if is_emoji(cluster):
            pieces.append(_Piece("emoji", cluster, _emoji_image(cluster, size).width))
            continue
        if not text_font_has(cluster[0]):
            missing.append(cluster)
            cluster = MISSING
        if pieces and pieces[-1].kind == "text":
            value = pieces[-1].value + cluster
            pieces[-1] = _Piece("text", value, round(font.getlength(value)))
        else:
            pieces.append(_Piece("text", cluster, round(font.getlength(cluster))))
    return pieces, missing


def _fit(pieces: list[_Piece], size: int, max_width: int) -> list[_Piece]:
    """Cut at the last grapheme that fits and end with an ellipsis."""
    if sum(p.width for p in pieces) <= max_width:
        return pieces
    font = text_font(size)
    room = max_width - round(font.getlength(ELLIPSIS))
    fitted: list[_Piece] = []
    used = 0
    for piece in pieces:
        if used + piece.width <= room:
            fitted.append(piece)
            used += piece.width
            continue
        if piece.kind == "text":
            head = ""
            for cluster in graphemes(piece.value):
                if used + font.getlength(head + cluster) > room:
                    break
                head += cluster
            if head:
                fitted.append(_Piece("text", head, round(font.getlength(head))))
        break
    if fitted and fitted[-1].kind == "text":
        value = fitted[-1].value + ELLIPSIS
        fitted[-1] = _Piece("text", value, round(font.getlength(value)))
    else:
        fitted.append(_Piece("text", ELLIPSIS, round(font.getlength(ELLIPSIS))))
    return fitted


@functools.lru_cache(maxsize=512)
def _emoji_image(cluster: str, size: int) -> Image.Image:
    """One emoji as an RGBA image `size` pixels tall (drawn at the font's only size, scaled)."""
    font = _emoji_font()
    left, top, right, bottom = font.getbbox(cluster, mode="RGBA")
    # FreeType bounding boxes are whole pixels (Pillow types them float, for its other fonts).
    canvas = Image.new("RGBA", (max(1, int(right - left)), max(1, int(bottom - top))))
    ImageDraw.Draw(canvas).text((-left, -top), cluster, font=font, embedded_color=True)
    height = round(size * 1.05)
    width = max(1, round(canvas.width * height / canvas.height))
    return canvas.resize((width, height), Image.Resampling.LANCZOS)


def draw_text(image: Image.Image, spec: TextSpec, text: str) -> RenderedText:
    """Draw one line of text (CJK, Latin, emoji) at `spec`, shortened with … to fit."""
    text = clean_text(text)
    pieces, missing = _pieces(text, spec.size)
    pieces = _fit(pieces, spec.size, spec.max_width)
    width = sum(p.width for p in pieces)
    x = {"left": spec.x, "right": spec.x - width}.get(spec.align, spec.x - width // 2)
    draw = ImageDraw.Draw(image)
    font = text_font(spec.size)
    ascent, _ = font.getmetrics()
    for piece in pieces:
        if piece.kind == "emoji":
            emoji = _emoji_image(piece.value, spec.size)
            top = spec.y + ascent - round(spec.size * 0.92)
            image.paste(emoji, (x, top), emoji)
        else:
            draw.text((x, spec.y), piece.value, font=font, fill=spec.color)
        x += piece.width
    return RenderedText("".join(p.value for p in pieces), tuple(missing), width)


def qr_image(data: str, size: int) -> Image.Image:
    """A QR of `data`, `size` pixels square, with a quiet zone, crisp (nearest-neighbour)."""
    # segno, the scan path's encoder: one QR library in the layer, drawn here with Pillow.
    rows = list(segno.make_qr(data, error="m").matrix_iter(scale=1, border=2))
    modules = len(rows)
    pixels = bytes(0 if dark else 255 for row in rows for dark in row)
    small = Image.frombytes("L", (modules, modules), pixels)
    scale = max(1, size // modules)
    sharp = small.resize((modules * scale, modules * scale), Image.Resampling.NEAREST)
    return sharp if sharp.width == size else sharp.resize((size, size), Image.Resampling.NEAREST)


def open_image(data: bytes) -> Image.Image:
    """Decode an uploaded image, refusing decompression bombs and anything Pillow cannot read."""
    try:
        image: Image.Image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:  # Pillow's own limit, when it is the lower one
        raise ValueError(f"the image has too many pixels ({error})") from None
    if image.width * image.height > MAX_IMAGE_PIXELS:
        raise ValueError(f"the image is {image.width}x{image.height}; at most {MAX_IMAGE_PIXELS:,} pixels")
    image = ImageOps.exif_transpose(image)
    image.load()
    return image


def avatar_jpeg(data: bytes, size: int = 256) -> bytes:
    """An uploaded avatar, checked, cropped square and re-encoded (no EXIF, no surprises left
    in the file), or ValueError saying why it cannot be used. JPEG, PNG or WebP only (by its
    magic bytes), at most MAX_AVATAR_PIXELS as its header declares them, before any decoding."""
    kind = avatar_format(data)
    if kind is None:
        raise ValueError("the avatar is not a JPEG, PNG or WebP photo; choose one of those")
    try:
        image: Image.Image = Image.open(io.BytesIO(data), formats=[kind])  # the header only
        width, height = image.size
        if width * height > MAX_AVATAR_PIXELS:
            raise ValueError(
                f"the avatar is {width}x{height}; at most {MAX_AVATAR_PIXELS // 1_000_000} megapixels, "
                "choose a smaller photo"
            )
        if kind == "JPEG":
            image.draft("RGB", (size * 2, size * 2))  # let the JPEG decoder scale down while it decodes
        image = ImageOps.exif_transpose(image)
        image.load()
    except Image.DecompressionBombError as error:
        raise ValueError(f"the avatar has too many pixels ({error})") from None
    except (OSError, SyntaxError) as error:  # what Pillow raises on files that are no image
        raise ValueError("the avatar is not a readable JPEG, PNG or WebP photo") from error
    square = ImageOps.fit(image.convert("RGB"), (size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    square.save(out, "JPEG", quality=90)
    return out.getvalue()


def round_avatar(avatar: Image.Image | None, size: int, nickname: str) -> Image.Image:
    """The avatar cropped to a circle; without one, the nickname's first character on a disc."""
    mask = Image.new("L", (size * 2, size * 2), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, size * 2 - 1, size * 2 - 1), fill=255)
    mask = mask.resize((size, size), Image.Resampling.LANCZOS)
    if avatar is not None:
        face = ImageOps.fit(avatar.convert("RGB"), (size, size), Image.Resampling.LANCZOS)
    else:
        face = Image.new("RGB", (size, size), "#F2994A")
        initial = next(iter(graphemes(clean_text(nickname))), "?")
        spec = TextSpec(size // 2, round(size * 0.18), round(size * 0.5), "#FFFFFF", size, "center")
        draw_text(face, spec, initial)
    circle = Image.new("RGBA", (size, size))
    circle.paste(face, (0, 0), mask)
    return circle


def background_image(layout: PosterLayout, background: Image.Image | None) -> Image.Image:
    if background is None:
        return Image.new("RGB", POSTER_SIZE, layout.background_color)
    if background.size == POSTER_SIZE:  # uploads are stored fitted already
        return background.convert("RGB")
    return ImageOps.fit(background.convert("RGB"), POSTER_SIZE, Image.Resampling.LANCZOS)


def render_poster(
    layout: PosterLayout,
    background: Image.Image,
    nickname: str,
    referral_url: str,
    avatar: Image.Image | None = None,
) -> PosterResult:
    """The poster as JPEG bytes. `background` is already POSTER_SIZE (see background_image;
    callers cache it per campaign)."""
    poster = background.copy()
    texts: list[RenderedText] = []
    if layout.avatar is not None:
        face = round_avatar(avatar, layout.avatar.size, nickname)
        poster.paste(face, (layout.avatar.x, layout.avatar.y), face)
    if layout.nickname is not None:
        texts.append(draw_text(poster, layout.nickname, nickname))
    for spec in layout.texts:
        texts.append(draw_text(poster, spec, spec.text))
    qr = qr_image(referral_url, layout.qr.size)
    pad = max(8, layout.qr.size // 25)
    quiet_zone = Image.new("RGB", (qr.width + 2 * pad, qr.height + 2 * pad), "white")
    poster.paste(quiet_zone, (layout.qr.x - pad, layout.qr.y - pad))
    poster.paste(qr, (layout.qr.x, layout.qr.y))
    out = io.BytesIO()
    poster.save(out, "JPEG", quality=JPEG_QUALITY)
    return PosterResult(out.getvalue(), texts)
