"""Posters without AWS: the QR decodes to the referral URL, Chinese and emoji never render as
tofu, long names are shortened, hostile images are refused."""

import io
import json

import pytest
import zxingcpp
from fontTools.ttLib import TTFont
from PIL import Image, ImageChops, ImageFile, ImageFont

from siyu.campaigns import posters

URL = "https://qr.example.cn/s/abc123?r=camp01.alice1"
NICKNAMES = ["小美🌸Lily", "王大锤👍🏽", "陳小姐❤️🇨🇳", "👩\u200d👩\u200d👧一家人", "Zoë ☕ 咖啡", "森の猫🐱"]


def render(nickname: str, **layout) -> posters.PosterResult:
    chosen = posters.PosterLayout(**layout)
    return posters.render_poster(chosen, posters.background_image(chosen, None), nickname, URL)


def test_the_poster_is_a_phone_sized_jpeg_whose_qr_decodes_to_the_referral_url():
    result = render("小美🌸Lily")
    image = Image.open(io.BytesIO(result.jpeg))
    assert image.format == "JPEG" and image.size == posters.POSTER_SIZE
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [URL]


@pytest.mark.parametrize("size", [160, 220, 400])
def test_the_qr_decodes_at_every_allowed_size(size):
    image = Image.open(io.BytesIO(render("x", qr=posters.Box(100, 700, size)).jpeg))
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [URL]


def test_the_coverage_file_matches_the_fonts_shipped():
    coverage = json.loads((posters.FONTS / "coverage.json").read_text())
    for name in ("NotoSansSC-Bold-subset.otf", "NotoColorEmoji-small.ttf"):
        expected = set(TTFont(str(posters.FONTS / name), lazy=True).getBestCmap())
        assert {p for first, last in coverage[name] for p in range(first, last + 1)} == expected


@pytest.mark.parametrize("nickname", NICKNAMES)
def test_chinese_and_emoji_nicknames_have_no_missing_glyphs(nickname):
    (drawn, *_) = render(nickname).texts
    assert drawn.missing == () and posters.MISSING not in drawn.drawn
    for cluster in posters.graphemes(drawn.drawn):
        assert posters.is_emoji(cluster) or posters.text_font_has(cluster[0]), cluster


@pytest.mark.parametrize("char", list("小美陳貓森のZ"))
def test_text_glyphs_are_not_the_missing_glyph_box(char):
    font = ImageFont.truetype(str(posters.TEXT_FONT), 48)
    tofu = font.getmask("\ue000")  # a private-use code point: the font's .notdef box
    drawn = font.getmask(char)
    assert drawn.size != tofu.size or bytes(drawn) != bytes(tofu)


@pytest.mark.parametrize("emoji", ["🌸", "👍🏽", "❤️", "🇨🇳", "🥰", "🫠"])  # (Noto draws families in grey)
def test_emoji_render_in_colour(emoji):
    image = posters._emoji_image(emoji, 40).convert("RGB")
    r, g, b = (ImageChops.difference(image.getchannel(c), image.getchannel("G")) for c in "RGB")
    assert max(r.getextrema()[1], b.getextrema()[1]) > 40  # colour, not a grey box


def test_a_nickname_neither_font_has_is_reported_not_drawn_as_tofu():
    (drawn, *_) = render("王𠀀明").texts  # U+20000, CJK extension B: outside the subset
    assert drawn.missing == ("𠀀",) and drawn.drawn == f"王{posters.MISSING}明"


def test_a_very_long_nickname_is_shortened_with_an_ellipsis_to_fit():
    (drawn, *_) = render("超长的昵称" * 30 + "🌸" * 20).texts
    assert drawn.drawn.endswith(posters.ELLIPSIS) and drawn.width <= posters.PosterLayout().nickname.max_width


def test_an_avatar_is_drawn_in_a_circle_and_without_one_the_initial():
    face = Image.new("RGB", (300, 200), "#2E86DE")
    with_avatar = posters.round_avatar(face, 120, "Alice")
    assert with_avatar.getpixel((60, 60))[:3] == (46, 134, 222) and with_avatar.getpixel((2, 2))[3] == 0
    initial = posters.round_avatar(None, 120, "小美")
    assert initial.getpixel((2, 2))[3] == 0 and initial.getpixel((60, 20))[3] == 255


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50],
    ids=["empty", "text", "truncated-png"],
)
def test_hostile_avatars_are_refused_with_a_reason(data):
    with pytest.raises(ValueError, match="JPEG, PNG or WebP"):
        posters.avatar_jpeg(data)


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    bomb = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(bomb, "PNG")  # 100 M pixels in a few kB
    with pytest.raises(ValueError, match="pixels"):
        posters.avatar_jpeg(bomb.getvalue())


def test_an_avatar_is_re_encoded_square():
    photo = io.BytesIO()
    Image.new("RGB", (640, 480), "red").save(photo, "PNG")
    avatar = Image.open(io.BytesIO(posters.avatar_jpeg(photo.getvalue())))
    assert avatar.format == "JPEG" and avatar.size == (256, 256)


@pytest.mark.parametrize("kind", ["GIF", "BMP", "TIFF", "ICO"])
def test_only_jpeg_png_and_webp_avatars_are_accepted(kind):
    data = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(data, kind)
    with pytest.raises(ValueError, match="not a JPEG, PNG or WebP"):
        posters.avatar_jpeg(data.getvalue())


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "WEBP"])
def test_an_avatar_over_8_megapixels_is_refused_from_its_header_without_decoding(kind, monkeypatch):
    """The attack: a 6000x6000 PNG cost 0.5-0.8 s of CPU per join, 4 parallel ones 1.4 GB."""
    big = io.BytesIO()
    Image.new("L", (4000, 2001)).save(big, kind)  # 8,004,000 pixels
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self) or None)
    with pytest.raises(ValueError, match="at most 8 megapixels"):
        posters.avatar_jpeg(big.getvalue())
    assert decoded == []


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "WEBP"])
def test_jpeg_png_and_webp_avatars_up_to_8_megapixels_are_taken(kind):
    photo = io.BytesIO()
    Image.new("RGB", (4000, 2000), "teal").save(photo, kind)
    assert Image.open(io.BytesIO(posters.avatar_jpeg(photo.getvalue()))).size == (256, 256)
