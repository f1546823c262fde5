"""The near-duplicate threshold, decided from measurements rather than folklore.

A reused photo usually comes back re-compressed (WeChat forwards at ~1080 px, q~70), resized,
brightened in an editor, or with its EXIF stripped. Each must stay within NEAR_DUPLICATE_THRESHOLD of
the original, while photos of different scenes must stay far above it. Hashes come from the
production path (`render_derivatives`), on synthetic photos from tests/evidence/photos.py.

Observed pHash distances (run by hand with the same transforms, before fixing the constants):

    transform                  60 scenes at 2000x1500       16 scenes at 4000x3000
    JPEG q60 / q30             0 (56), 2 (4)       max 2    0 (16)              max 0
    resize 50%                 0 (57), 2 (3)       max 2    0 (16)              max 0
    WeChat-like 1080px q70     0 (57), 2 (3)       max 2    0 (16)              max 0
    brightness +10%            0 (31), 2 (27), 4 (2) max 4  0 (10), 2 (6)      max 2
    brightness -10%            0 (53), 2 (7)       max 2    0 (15), 2 (1)       max 2
    EXIF stripped, re-encoded  0 (56), 2 (4)       max 2    0 (16)              max 0
    contrast +15%              0 (37), 2 (23)      max 2    0 (8), 2 (8)        max 2
    rotated 2 degrees          2..12, mean 5.0              2..10, mean 5.1
    cropped 5% each side       4..20, mean 10.6             4..16, mean 10.4
    cropped 10% each side      12..30, mean 20.5            14..28, mean 21.0
    mirrored                   28..36, mean 32.3            28..36, mean 32.4
    different scenes           1770 pairs: min 18, 1st percentile 22, median 32, max 44
                               (120 pairs at 4000x3000: min 22, median 32)

imagehash's pHash thresholds 64 DCT coefficients at their median, so every hash has 32 bits set and
every distance is even. The required transforms reach 4 (brightness +10% on small scenes), which a
threshold of 3 (4 bands of 16 bits) would miss; 7 (8 bands of 8 bits) holds every one of them with
room for a slight rotation, and sits far below the closest unrelated pair (18). Crops and mirror
images are beyond any pHash threshold: this catches re-sent photos, not deliberately altered ones.

The price of 8-bit bands: 112 of 3160 unrelated pairs (3.5 %) shared at least one band, against 0 for
16-bit bands, so a band lookup returns a few percent of the compared set; narrow it by district and
period before comparing, and confirm candidates with `hamming`.
"""

import io
import itertools

import pytest
from PIL import Image, ImageEnhance, ImageOps

from evidence.derivatives import HASH_BANDS, NEAR_DUPLICATE_THRESHOLD, hamming, hash_bands, render_derivatives
from tests.evidence.photos import jpeg, make_exif, real_looking_photo, strip_jpeg_metadata

# Size matters for the transforms (resizing a 12 MP photo is not resizing a 3 MP one), so both appear.
SCENES = [(seed, (2000, 1500)) for seed in range(6)] + [(100, (4000, 3000))]
# Many more scenes, smaller, only to show different photos stay apart.
EXTRA_SCENES = [(seed, (1000, 750)) for seed in range(200, 224)]


def phash_of(data: bytes) -> int:
    return render_derivatives(io.BytesIO(data)).phash


def decoded(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


TRANSFORMS = {
    "jpeg_quality_60": lambda original: jpeg(decoded(original), quality=60),
    "jpeg_quality_30": lambda original: jpeg(decoded(original), quality=30),
    "resized_50_percent": lambda original: jpeg(_half(decoded(original)), quality=85),
    "wechat_forward_1080_q70": lambda original: jpeg(
        ImageOps.contain(decoded(original), (1080, 1080)), quality=70
    ),
    "brightness_plus_10": lambda original: jpeg(
        ImageEnhance.Brightness(decoded(original)).enhance(1.10), quality=90
    ),
    "brightness_minus_10": lambda original: jpeg(
        ImageEnhance.Brightness(decoded(original)).enhance(0.90), quality=90
    ),
    "exif_stripped_lossless": strip_jpeg_metadata,
    "exif_stripped_reencoded": lambda original: jpeg(decoded(original), quality=92),
}


def _half(im: Image.Image) -> Image.Image:
    return im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS)


@pytest.fixture(scope="module")
def measured() -> dict:
    """Every scene's hash, and (original, copy) hash pairs for every transform of the main scenes."""
    originals: list[int] = []
    copies: dict[str, list[tuple[int, int]]] = {name: [] for name in TRANSFORMS}
    exif = make_exif(latitude=(34, 45, 30.5), longitude=(113, 37, 12.0))
    for seed, size in SCENES:
        original = jpeg(real_looking_photo(seed, size), quality=92, exif=exif)
        original_hash = phash_of(original)
        originals.append(original_hash)
        for name, transform in TRANSFORMS.items():
            copies[name].append((original_hash, phash_of(transform(original))))
    for seed, size in EXTRA_SCENES:
        originals.append(phash_of(jpeg(real_looking_photo(seed, size), quality=92)))
    return {"originals": originals, "copies": copies}


@pytest.mark.parametrize("transform", list(TRANSFORMS))
def test_reused_photo_stays_within_the_threshold(measured, transform):
    distances = [hamming(original, copy) for original, copy in measured["copies"][transform]]

    assert max(distances) <= NEAR_DUPLICATE_THRESHOLD, distances


@pytest.mark.parametrize("transform", list(TRANSFORMS))
def test_reused_photo_is_found_by_a_band_lookup(measured, transform):
    # What the database will do: equality on some band finds the original from the copy.
    for original, copy in measured["copies"][transform]:
        assert set(enumerate(hash_bands(original))) & set(enumerate(hash_bands(copy)))


def test_different_scenes_are_far_apart(measured):
    pairs = [hamming(a, b) for a, b in itertools.combinations(measured["originals"], 2)]

    assert len(pairs) == 465
    # The closest unrelated pair seen in 1770 pairs was 18; 2x the threshold leaves a clear gap.
    assert min(pairs) > 2 * NEAR_DUPLICATE_THRESHOLD, sorted(pairs)[:10]


def test_threshold_is_the_pigeonhole_partner_of_the_band_count():
    assert HASH_BANDS == NEAR_DUPLICATE_THRESHOLD + 1
    assert 64 % HASH_BANDS == 0
