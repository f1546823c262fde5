"""Metadata cannot make a photo expensive: the crafted files of the bad-file corpus, measured in a
process of their own, cost what the same photo without them costs; odd EXIF never escapes as an error.
"""

import io
import json
import os
import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from evidence.derivatives import render_derivatives
from evidence.imaging import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    ImageRejected,
    inspect_upload,
)
from evidence.metadata import EXIF_MAX_BYTES, IFD_MAX_ENTRIES, read_exif, without_metadata
from tests.evidence.photos import (
    CRAFTED_METADATA,
    crafted_metadata_photos,
    jpeg,
    jpeg_with_segments,
    make_exif,
    real_looking_photo,
    tiff_amplifier,
)

REPO = Path(__file__).resolve().parents[2]
ZHENGZHOU = {"latitude": (34, 45, 30.5), "longitude": (113, 37, 12.0)}

# An 800 × 600 photo costs about 10-20 MB to inspect and render. pillow-heif decodes a HEIF's XMP
# to text before we can take it (about 55 MB for a 15 MB packet): the bound leaves room for that,
# and is far below what the unbounded readers took (0.35 to 64 GB for these files).
PEAK_MB = 100


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> dict[tuple[str, str], dict]:
    folder = tmp_path_factory.mktemp("crafted")
    names = {}
    for key, (name, data) in crafted_metadata_photos(real_looking_photo(7, (800, 600))).items():
        path = folder / f"{key}-{name}"
        path.write_bytes(data)
        names[path.name] = key
    completed = subprocess.run(
        [sys.executable, "-m", "tests.evidence.memory_probe", *sorted(str(p) for p in folder.iterdir())],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = [json.loads(line) for line in completed.stdout.splitlines()]
    return {(names[result["file"]], result["step"]): result for result in results}


@pytest.mark.parametrize("crafted", CRAFTED_METADATA)
def test_crafted_metadata_costs_no_more_than_the_photo(measured, crafted):
    inspected, rendered = measured[(crafted, "inspect")], measured[(crafted, "render")]

    assert (inspected["outcome"], rendered["outcome"]) == ("accepted", "accepted")
    assert inspected["size"] == rendered["size"] == [800, 600]
    assert inspected["has_exif"] is False  # metadata over the bounds counts as none (and is flagged)
    assert inspected["peak_mb"] < PEAK_MB, inspected
    assert rendered["peak_mb"] < PEAK_MB, rendered


# --- the bounded reader --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scene() -> Image.Image:
    return real_looking_photo(5, (200, 150))


def test_exif_still_read_as_before(scene):
    data = jpeg(scene, exif=make_exif(orientation=6, **ZHENGZHOU))

    view, metadata = without_metadata(io.BytesIO(data))
    fields = read_exif(metadata.exif)

    assert fields.present
    assert fields.orientation == 6
    assert fields.taken_at == b"2025:03:14 09:26:53\x00"
    assert fields.latitude == pytest.approx((34, 45, 30.5))
    assert fields.latitude_ref == b"N\x00"
    # The decoder sees the pixels and nothing else.
    with Image.open(view) as im:
        assert "exif" not in im.info
        im.load()
        assert im.size == (200, 150)


@pytest.mark.parametrize(
    "block",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"XX*\x00\x08\x00\x00\x00", id="bad-byte-order"),
        pytest.param(b"II*\x00\xff\xff\xff\x7f", id="first-directory-outside"),
        pytest.param(b"II*\x00\x08\x00\x00\x00" + struct.pack("<H", IFD_MAX_ENTRIES + 1), id="too-many-tags"),
        pytest.param(tiff_amplifier(EXIF_MAX_BYTES + 1), id="over-the-size-cap"),
        pytest.param(b"II*\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00", id="no-tags"),
    ],
)
def test_unreadable_or_oversized_exif_counts_as_none(block):
    assert read_exif(block).present is False


def test_values_are_read_only_within_their_bounds():
    # Orientation declared as 70,000 SHORTs, a GPS latitude of 10 rationals pointing past the end,
    # an Exif directory that points at itself.
    entries = [
        struct.pack("<HHLL", 0x0112, 3, 70000, 8),
        struct.pack("<HHLL", 0x8769, 4, 1, 8),
        struct.pack("<HHLL", 0x8825, 4, 1, 8),
        struct.pack("<HHLL", 2, 5, 10, 0x7FFFFFF0),
    ]
    block = b"II*\x00\x08\x00\x00\x00" + struct.pack("<H", len(entries)) + b"".join(entries) + b"\x00" * 4

    fields = read_exif(block)

    assert fields.present
    assert (fields.orientation, fields.taken_at, fields.latitude) == (None, None, None)


def test_odd_exif_never_escapes_as_an_error(scene):
    """Random damage to a phone's EXIF: each file is accepted or refused with a reason, never a crash.
    (Pillow's own EXIF writer raised TypeError and struct.error on some of these, which left the photo
    job failing and the photo stuck in processing.)"""
    data = jpeg(scene, exif=make_exif(orientation=6, **ZHENGZHOU))
    start = data.index(b"Exif\x00\x00") + 6
    end = start + int.from_bytes(data[start - 8 : start - 6], "big") - 8
    rng = random.Random(20251127)
    for _ in range(200):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            damaged[rng.randrange(start, end)] = rng.randrange(256)
        for step in (
            lambda blob: inspect_upload(
                io.BytesIO(blob), name="x.jpg", max_bytes=DEFAULT_MAX_BYTES, max_pixels=DEFAULT_MAX_PIXELS
            ),
            lambda blob: render_derivatives(io.BytesIO(blob)),
        ):
            try:
                step(bytes(damaged))
            except ImageRejected:
                pass


def test_a_segment_the_walk_drops_is_exactly_what_pillow_would_read(scene):
    """Fill bytes, stray bytes and an empty segment before the EXIF: JPEG readers step over them, and so
    does the walk, so the EXIF never reaches the decoder and is still read (bounded) by us."""
    base = jpeg(scene)
    first_end = 4 + int.from_bytes(base[4:6], "big")
    exif_segment = jpeg_with_segments(b"\xff\xd8", [(0xE1, make_exif().tobytes())])[2:]
    data = base[:first_end] + b"\x00\x17\xff\xff" + exif_segment + base[first_end:]

    view, metadata = without_metadata(io.BytesIO(data))

    assert read_exif(metadata.exif).taken_at == b"2025:03:14 09:26:53\x00"
    with Image.open(view) as im:
        assert "exif" not in im.info
        im.load()


def test_the_memory_ceiling_turns_an_overdemanding_photo_into_a_rejection(tmp_path):
    """Under the photo job's ceiling (here 32 MB, EVIDENCE_JOB_MEMORY_MB in production) a photo whose
    pixels need more is refused with a reason; a small one in the same process still goes through."""
    large, small = tmp_path / "large.png", tmp_path / "small.png"
    gradient = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")  # 36 MB decoded
    gradient.save(large)
    gradient.resize((400, 300)).save(small)

    completed = subprocess.run(
        [sys.executable, "-m", "tests.evidence.memory_probe", "--ceiling-mb", "32", str(large), str(small)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    outcomes = [(r["file"], r["step"], r["outcome"]) for r in map(json.loads, completed.stdout.splitlines())]

    assert outcomes == [
        ("large.png", "inspect", "rejected: too_demanding"),
        ("large.png", "render", "rejected: too_demanding"),
        ("small.png", "inspect", "accepted"),
        ("small.png", "render", "accepted"),
    ]


def test_a_process_serving_pages_and_the_api_does_not_load_the_hashing_library():
    """scipy's FFT (17 MB) serves only the photo job's pHash, which loads it just before its memory
    ceiling (evidence.derivatives.load_hashing): a web process, which imports every view, never does."""
    code = (
        "import sys, django; django.setup(); import config.urls, evidence.services; "
        "print('scipy.fftpack' in sys.modules); "
        "from evidence.derivatives import load_hashing; load_hashing(); print('scipy.fftpack' in sys.modules)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO / "backend",
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert completed.stdout.split() == ["False", "True"]
