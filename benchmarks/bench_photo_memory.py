"""Peak memory of one photo, whatever its metadata: the request path and the job, each in a fresh process.

    .venv/bin/python benchmarks/bench_photo_memory.py [--quick | --tiny]

For each photo, `inspect_upload` (what a submission request does per photo) and `render_derivatives`
(what the photo job does) run in a fresh interpreter of their own (tests/evidence/memory_probe.py),
which reports how far that step raised the process's peak RSS above what it held before (VmHWM,
reset just before the step). The photos: ordinary 12 MP phone photos (JPEG, HEIC, WebP), the largest
photos the limits admit (50 MP), and every file of the crafted-metadata corpus
(tests/evidence/photos.crafted_metadata_photos) wrapped around a 12 MP photo. Goal: no photo raises
the peak by more than 300 MB. `--quick` skips the 50 MP photos (slow to encode). `--tiny` (CI): 1 MP
photos and three crafted files, to prove the probe still runs; its figures mean nothing. Prints a
markdown table; exits non-zero when the goal is missed.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_DIR / "backend"), str(REPO_DIR), str(REPO_DIR / "benchmarks")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402
from bench_common import add_tiny_option  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from tests.evidence.photos import (  # noqa: E402
    crafted_metadata_photos,
    encode,
    jpeg,
    make_exif,
    real_looking_photo,
)

GOAL_MB = 300
EXIF = make_exif(latitude=(34, 45, 30.5), longitude=(113, 37, 12.0), orientation=6)


def smooth(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Large but compressible (a PNG of a photo this size would pass the 20 MB limit only if smooth)."""
    width, height = size
    xs = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    ys = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    channels = [(xs + ys) / 2, np.broadcast_to(xs, (height, width)), np.broadcast_to(ys, (height, width))]
    if mode == "RGBA":
        channels.append(np.full((height, width), 200, dtype=np.float32))
    return Image.fromarray(np.dstack(channels).astype(np.uint8), mode)


def photos(quick: bool, tiny: bool = False) -> list[tuple[str, str, bytes]]:
    """(label, file name, bytes)."""
    scene = real_looking_photo(2025, (1200, 900) if tiny else (4000, 3000))
    items = [
        ("12 MP phone JPEG (4000 × 3000, EXIF, rotated)", "IMG_0001.jpg", jpeg(scene, quality=92, exif=EXIF)),
        (
            "12 MP HEIC",
            "IMG_0002.heic",
            encode(scene, "HEIF", quality=80, exif=EXIF.tobytes(), enc_params={"preset": "ultrafast"}),
        ),
        ("12 MP WebP", "IMG_0003.webp", encode(scene, "WEBP", quality=80, exif=EXIF.tobytes())),
    ]
    if not quick:
        big = real_looking_photo(2026, (8160, 6120))  # 49.9 MP, the 50 MP limit
        items += [
            ("50 MP JPEG (8160 × 6120)", "big.jpg", jpeg(big, quality=85, exif=EXIF)),
            (
                "24 MP HEIC (an iPhone's default)",
                "24.heic",
                encode(big.resize((5712, 4284)), "HEIF", quality=60, enc_params={"preset": "ultrafast"}),
            ),
            (
                "WebP at its limit (4800 × 3600)",
                "limit.webp",
                encode(big.resize((4800, 3600)), "WEBP", quality=60),
            ),
            ("50 MP WebP (over its limit)", "big.webp", encode(big, "WEBP", quality=60, exif=EXIF.tobytes())),
            ("50 MP PNG with transparency (RGBA)", "big.png", encode(smooth((8160, 6120), "RGBA"), "PNG")),
        ]
    for key, (name, data) in crafted_metadata_photos(scene).items():
        if key.startswith("png-"):
            continue  # a 12 MP PNG of a photo is over the 20 MB limit; below, a smooth one
        items.append((f"crafted: {key} around the 12 MP photo", name, data))
    for key, (name, data) in crafted_metadata_photos(smooth((4000, 3000))).items():
        if key.startswith("png-"):
            items.append((f"crafted: {key} around a 12 MP PNG", name, data))
    return items[:6] if tiny else items


def measure(path: Path, step: str) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "tests.evidence.memory_probe", "--step", step, str(path)],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the 50 MP photos")
    add_tiny_option(parser)
    args = parser.parse_args()
    rows = []
    worst = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for label, name, data in photos(args.quick or args.tiny, tiny=args.tiny):
            path = Path(folder) / name
            path.write_bytes(data)
            results = {step: measure(path, step) for step in ("inspect", "render")}
            worst = max(worst, *(result["peak_mb"] for result in results.values()))
            rows.append((label, len(data), results))
            path.unlink()
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}; "
        f"each step in a fresh process; MB = MiB.\n"
    )
    print("| Photo | File | `inspect_upload` (request) | `render_derivatives` (job) |")
    print("|---|---|---|---|")
    for label, size, results in rows:
        cells = []
        for step in ("inspect", "render"):
            result = results[step]
            outcome = "" if result["outcome"] == "accepted" else f" ({result['outcome']})"
            cells.append(f"+{result['peak_mb']:.0f} MB, {result['seconds'] * 1000:.0f} ms{outcome}")
        print(f"| {label} | {size / 1e6:.1f} MB | {cells[0]} | {cells[1]} |")
    verdict = "pass" if worst <= GOAL_MB else "FAIL"
    print(f"\nLargest rise of the peak: {worst:.0f} MB (goal: at most {GOAL_MB} MB): {verdict}")
    return 0 if worst <= GOAL_MB else 1


if __name__ == "__main__":
    sys.exit(main())
