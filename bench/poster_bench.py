"""Poster benchmark (a report, not a test): renders per second on one core, and the ratio to
Pillow alone opening the same background and encoding the same JPEG, measured in the same run.

    ours     = one participant's poster: background (decoded once per campaign and cached, as
               the poster function does), round avatar, nickname in CJK + colour emoji, QR of the
               referral URL, fixed lines, JPEG encode
    ours+bg  = the same, decoding the background every time (a cold container's first poster)
    baseline = Image.open(background JPEG) + load + save as JPEG at the same quality

Goal: ours / baseline <= 3. Single thread, so the figures are per core. Always exits 0.

Run: make bench   (or .venv/bin/python bench/poster_bench.py)
"""

from __future__ import annotations

import io
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "siyu")]

from PIL import Image, ImageDraw, ImageFilter  # noqa: E402

from siyu.campaigns import posters  # noqa: E402

ROUNDS = 9
PER_ROUND = 60
NICKNAMES = ["小美🌸Lily", "王大锤👍🏽", "陳小姐❤️", "Zoë ☕ 咖啡", "超长的昵称" * 6, "森の猫🐱🐱"]
LAYOUT = posters.PosterLayout(
    texts=(
        posters.TextSpec(375, 420, 52, "#C0392B", 680, "center", "老带新领好礼"),
        posters.TextSpec(375, 800, 30, "#555555", 680, "center", "长按识别二维码，和我一起参加"),
    )
)


def background_jpeg() -> bytes:
    """A photo-like 750x1334 background (gradients, shapes, blur: JPEG has real work to do)."""
    image = Image.new("RGB", posters.POSTER_SIZE)
    draw = ImageDraw.Draw(image)
    for y in range(posters.POSTER_SIZE[1]):
        draw.line([(0, y), (750, y)], fill=(255 - y // 8, 180 + y // 20, 120 + y // 12))
    for n in range(40):
        x, y = (n * 97) % 750, (n * 211) % 1334
        draw.ellipse((x, y, x + 120, y + 120), fill=((n * 50) % 255, (n * 80) % 255, (n * 30) % 255))
    image = image.filter(ImageFilter.GaussianBlur(3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def avatar_image() -> Image.Image:
    photo = Image.new("RGB", (256, 256), "#2E86DE")
    ImageDraw.Draw(photo).ellipse((60, 40, 196, 176), fill="#F5CBA7")
    return photo


def per_second(action, count: int) -> float:
    start = time.perf_counter()
    for n in range(count):
        action(n)
    return count / (time.perf_counter() - start)


def main() -> None:
    background_bytes = background_jpeg()
    cached_background = posters.background_image(LAYOUT, posters.open_image(background_bytes))
    avatar = avatar_image()

    def baseline(n):
        image = Image.open(io.BytesIO(background_bytes))
        image.load()
        image.save(io.BytesIO(), "JPEG", quality=posters.JPEG_QUALITY)

    def ours(n):
        url = f"https://qr.example.cn/s/abc123xyz?r=camp01.p{n:010d}"
        posters.render_poster(LAYOUT, cached_background, NICKNAMES[n % len(NICKNAMES)], url, avatar)

    def ours_cold_background(n):
        background = posters.background_image(LAYOUT, posters.open_image(background_bytes))
        url = f"https://qr.example.cn/s/abc123xyz?r=camp01.p{n:010d}"
        posters.render_poster(LAYOUT, background, NICKNAMES[n % len(NICKNAMES)], url, avatar)

    for action in (baseline, ours, ours_cold_background):  # warm up: fonts, emoji cache
        action(0)
    rates = {"baseline": [], "ours": [], "ours+bg": []}
    for _ in range(ROUNDS):  # interleaved rounds: drift on a shared machine hits all three alike
        rates["baseline"].append(per_second(baseline, PER_ROUND))
        rates["ours"].append(per_second(ours, PER_ROUND))
        rates["ours+bg"].append(per_second(ours_cold_background, PER_ROUND))
    median = {k: statistics.median(v) for k, v in rates.items()}
    size = len(posters.render_poster(LAYOUT, cached_background, NICKNAMES[0], "https://x/s/a?r=b.c", avatar).jpeg)

    print(f"poster benchmark  ({platform.python_implementation()} {platform.python_version()}, one thread)")
    print(f"  background JPEG {len(background_bytes) / 1024:.0f} KB, poster JPEG {size / 1024:.0f} KB, 750x1334")
    for name in ("baseline", "ours", "ours+bg"):
        print(f"  {name:9} {median[name]:7.1f} posters/s   {1000 / median[name]:6.2f} ms each")
    ratio = median["baseline"] / median["ours"]
    cold = median["baseline"] / median["ours+bg"]
    print(f"  ratio ours / baseline (time per poster)     {ratio:.2f}x   goal <= 3")
    print(f"  ratio ours+bg / baseline                    {cold:.2f}x")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory (maxrss)                        {peak:.0f} MB")


if __name__ == "__main__":
    main()
