"""Phone-like JPEG photos for the demo: a drawn activity scene with the EXIF a phone camera writes
(make, model, DateTimeOriginal with its offset, GPS position). Each seed draws a different scene, so
perceptual hashes differ; the same seed gives the same bytes (the demo's duplicate uses that)."""

import io
import random
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

import numpy as np
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont, TiffImagePlugin

SIZE = (1280, 960)  # 4:3 like a phone camera; small, so `make demo` stays fast
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/System/Library/Fonts/PingFang.ttc",
)
CAMERAS = (("HUAWEI", "P60"), ("Xiaomi", "13"), ("OPPO", "Reno10"), ("vivo", "X90"), ("Apple", "iPhone 14"))


def _font(size: int) -> tuple[ImageFont.ImageFont | ImageFont.FreeTypeFont, bool]:
    """A CJK font when the system has one (Debian's fonts-noto-cjk), else Pillow's own (Latin only)."""
    for path in CJK_FONTS:
        try:
            return ImageFont.truetype(path, size), True
        except OSError:
            continue
    return ImageFont.load_default(size=size), False


def _scene(seed: int, banner: str) -> Image.Image:
    rng = random.Random(seed)  # noqa: S311 - drawing a picture, not a secret
    width, height = SIZE
    horizon = int(height * rng.uniform(0.35, 0.55))
    sky_top = np.array([rng.randint(90, 160), rng.randint(140, 200), rng.randint(200, 250)], dtype=np.float32)
    sky_low = np.array([220, 230, 240], dtype=np.float32)
    ground = np.array([rng.randint(90, 150), rng.randint(90, 140), rng.randint(80, 120)], dtype=np.float32)
    rows = np.empty((height, 3), dtype=np.float32)
    t = np.linspace(0, 1, horizon, dtype=np.float32)[:, None]
    rows[:horizon] = sky_top * (1 - t) + sky_low * t
    rows[horizon:] = ground
    pixels = np.repeat(rows[:, None, :], width, axis=1)
    image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)

    # Buildings with windows along the horizon
    x = -rng.randint(0, 120)
    while x < width:
        w, h = rng.randint(140, 360), rng.randint(180, horizon - 40)
        tone = rng.randint(150, 225)
        draw.rectangle(
            (x, horizon - h, x + w, horizon),
            fill=(tone, tone - rng.randint(0, 25), tone - rng.randint(0, 40)),
        )
        for wx in range(x + 18, x + w - 30, 46):
            for wy in range(horizon - h + 20, horizon - 30, 54):
                shade = rng.randint(60, 120)
                draw.rectangle((wx, wy, wx + 24, wy + 30), fill=(shade, shade + 20, shade + 45))
        x += w + rng.randint(10, 60)

    # The red banner of the activity
    font, cjk = _font(int(height * 0.05))
    text = banner if cjk else "Civilization Practice"
    left, top = int(width * rng.uniform(0.08, 0.25)), horizon - int(height * rng.uniform(0.22, 0.3))
    box = draw.textbbox((0, 0), text, font=font)
    draw.rectangle((left, top, left + box[2] + 60, top + box[3] + 36), fill=(200, 22, 29))
    draw.text((left + 30, top + 14), text, fill=(255, 236, 170), font=font)

    # People in the foreground
    for _ in range(rng.randint(14, 30)):
        px, py = rng.randint(0, width), rng.randint(horizon + 40, height - 60)
        scale = 0.5 + (py - horizon) / (height - horizon)
        body = (rng.randint(20, 230), rng.randint(20, 230), rng.randint(20, 230))
        bw, bh, head = int(60 * scale), int(150 * scale), int(26 * scale)
        draw.rectangle((px, py, px + bw, py + bh), fill=body)
        draw.ellipse((px + bw // 2 - head, py - 2 * head, px + bw // 2 + head, py), fill=(232, 196, 160))

    # Sensor grain
    grain = np.random.default_rng(seed).integers(-10, 11, size=(height, width, 1), dtype=np.int16)
    noisy = np.asarray(image, dtype=np.int16) + grain
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


def _dms(value: Decimal) -> tuple[TiffImagePlugin.IFDRational, ...]:
    value = abs(Decimal(value))
    degrees = int(value)
    minutes_full = (value - degrees) * 60
    minutes = int(minutes_full)
    seconds = Fraction(str(round((minutes_full - minutes) * 60, 2))).limit_denominator(100)
    return (
        TiffImagePlugin.IFDRational(degrees, 1),
        TiffImagePlugin.IFDRational(minutes, 1),
        TiffImagePlugin.IFDRational(seconds.numerator, seconds.denominator),
    )


def activity_photo(
    *,
    seed: int,
    banner: str,
    taken_at: datetime | None,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
) -> bytes:
    """A JPEG as a phone would send it; without `taken_at` it carries no EXIF at all (a screenshot or
    a forwarded picture, which the pipeline flags)."""
    image = _scene(seed, banner)
    out = io.BytesIO()
    if taken_at is None:
        image.save(out, format="JPEG", quality=85)
        return out.getvalue()
    exif = Image.Exif()
    make, model = CAMERAS[seed % len(CAMERAS)]
    exif[0x010F], exif[0x0110] = make, model
    local = timezone.localtime(taken_at)
    details = exif.get_ifd(0x8769)
    details[0x9003] = local.strftime("%Y:%m:%d %H:%M:%S")  # DateTimeOriginal
    details[0x9011] = local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:]  # OffsetTimeOriginal
    if latitude is not None and longitude is not None:
        gps = exif.get_ifd(0x8825)
        gps[1], gps[2] = ("N" if latitude >= 0 else "S"), _dms(latitude)
        gps[3], gps[4] = ("E" if longitude >= 0 else "W"), _dms(longitude)
    image.save(out, format="JPEG", quality=85, exif=exif.tobytes())
    return out.getvalue()
