"""Rebuild the poster fonts in layers/siyu/siyu/campaigns/fonts/ (run by hand, never at build time).

    apt-get download fonts-noto-cjk fonts-noto-color-emoji && for f in *.deb; do dpkg-deb -x $f ex; done
    pip install fonttools pillow && python scripts/build_poster_fonts.py ex layers/siyu/siyu/campaigns/fonts

- Noto Sans CJK SC Bold, subset to what nicknames and poster lines use: GB2312, Big5 level 1
  (common traditional characters), Latin, kana, CJK punctuation and fullwidth forms
  (about 10,900 characters, 4.3 MB instead of 20 MB for the collection).
- Noto Color Emoji with its 109 ppem bitmaps shrunk to 40 ppem and 64 colours (4.1 MB instead
  of 11 MB): every emoji, skin tones and sequences included; the renderer scales them to the
  text size.
"""

import contextlib
import io
import json
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont
from PIL import Image

EMOJI_PPEM = 40


def poster_charset() -> set[int]:
    chars = set(range(0x20, 0x7F)) | set(range(0xA0, 0x180))
    chars |= set(range(0x2000, 0x2070)) | set(range(0x2100, 0x2200)) | set(range(0x2460, 0x2500))
    chars |= set(range(0x25A0, 0x2700)) | set(range(0x3000, 0x3100)) | set(range(0xFF00, 0xFFF0))
    for encoding, lead_bytes in (("gb2312", range(0xA1, 0xF8)), ("big5", range(0xA1, 0xC7))):
        for lead in lead_bytes:
            for trail in range(0x40, 0xFF):
                with contextlib.suppress(UnicodeDecodeError):
                    chars.add(ord(bytes([lead, trail]).decode(encoding)))
    return chars


def subset_cjk(collection: Path, out: Path) -> None:
    font = TTCollection(str(collection)).fonts[2]  # Noto Sans CJK SC
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.hinting = False
    options.notdef_outline = True  # keep .notdef: the tests look for it to prove there is no tofu
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(poster_charset()))
    subsetter.subset(font)
    font.save(str(out))


def shrink_emoji(source: Path, out: Path) -> None:
    font = TTFont(str(source))
    strike = font["CBLC"].strikes[0]
    scale = EMOJI_PPEM / strike.bitmapSizeTable.ppemX
    for glyph in font["CBDT"].strikeData[0].values():
        image = Image.open(io.BytesIO(glyph.imageData)).convert("RGBA")
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        small = image.resize(size, Image.LANCZOS).quantize(colors=64, method=Image.FASTOCTREE)
        buffer = io.BytesIO()
        small.save(buffer, "PNG", optimize=True)
        glyph.imageData = buffer.getvalue()
        metrics = glyph.metrics
        metrics.width, metrics.height = size
        metrics.BearingX, metrics.BearingY = round(metrics.BearingX * scale), round(metrics.BearingY * scale)
        metrics.Advance = round(metrics.Advance * scale)
    sizes = strike.bitmapSizeTable
    sizes.ppemX = sizes.ppemY = EMOJI_PPEM
    for line in (sizes.hori, sizes.vert):
        for name in ("ascender", "descender", "widthMax", "caretOffset", "minOriginSB", "minAdvanceSB"):
            setattr(line, name, round(getattr(line, name) * scale))
        for name in ("maxBeforeBL", "minAfterBL"):
            setattr(line, name, round(getattr(line, name) * scale))
    font.save(str(out))


def write_coverage(out_dir: Path) -> None:
    """What each font can draw, as code point ranges: the renderer reads this instead of
    importing fontTools at run time."""
    coverage = {}
    for name in ("NotoSansSC-Bold-subset.otf", "NotoColorEmoji-small.ttf"):
        points = sorted(TTFont(str(out_dir / name), lazy=True).getBestCmap())
        ranges: list[list[int]] = []
        for point in points:
            if ranges and ranges[-1][1] == point - 1:
                ranges[-1][1] = point
            else:
                ranges.append([point, point])
        coverage[name] = ranges
    (out_dir / "coverage.json").write_text(json.dumps(coverage, separators=(",", ":")))


if __name__ == "__main__":
    extracted, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    subset_cjk(extracted / "usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", out_dir / "NotoSansSC-Bold-subset.otf")
    shrink_emoji(extracted / "usr/share/fonts/truetype/noto/NotoColorEmoji.ttf", out_dir / "NotoColorEmoji-small.ttf")
    write_coverage(out_dir)
