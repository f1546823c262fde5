"""Evidence photo processing: how long a 12 MP phone photo takes, and what a decompression bomb costs.

    .venv/bin/python benchmarks/bench_photos.py [--runs 15] [--no-heic]
    .venv/bin/python benchmarks/bench_photos.py --tiny    # seconds: does it still run?

Targets: render_derivatives < 0.5 s for a 12 MP JPEG; a decompression bomb refused in < 1 s and
< 100 MB peak RSS. Each bomb is handled in a fresh process so its peak memory is its own
(resource.getrusage(RUSAGE_CHILDREN).ru_maxrss, kilobytes on Linux). Prints a markdown table.
"""

import argparse
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_DIR / "backend"), str(REPO_DIR), str(REPO_DIR / "benchmarks")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from bench_common import add_tiny_option  # noqa: E402
from PIL import Image  # noqa: E402

from evidence.derivatives import render_derivatives  # noqa: E402
from evidence.imaging import (  # noqa: E402
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    ImageRejected,
    inspect_upload,
)
from tests.evidence.photos import encode, jpeg, make_exif, png_bomb, real_looking_photo  # noqa: E402

EXIF = make_exif(latitude=(34, 45, 30.5), longitude=(113, 37, 12.0), orientation=1)


def median_seconds(function, runs: int) -> tuple[float, float]:
    """(first call, median of the following `runs` calls)."""
    started = time.perf_counter()
    function()
    first = time.perf_counter() - started
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        timings.append(time.perf_counter() - started)
    return first, statistics.median(timings)


def inspect(data: bytes, name: str) -> None:
    inspect_upload(io.BytesIO(data), name=name, max_bytes=DEFAULT_MAX_BYTES, max_pixels=DEFAULT_MAX_PIXELS)


def bomb_child(path: str, mode: str) -> None:
    """In a fresh interpreter: handle the bomb, print time, outcome and memory as JSON."""
    data = Path(path).read_bytes()
    baseline_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    timings, outcome = [], "accepted"
    for _ in range(5 if mode == "inspect" else 1):
        started = time.perf_counter()
        if mode == "inspect":
            try:
                inspect(data, "bomb.png")
            except ImageRejected as rejected:
                outcome = f"rejected as {rejected.code}"
        else:  # what the bomb does to code that simply opens and loads it
            with Image.open(io.BytesIO(data)) as im:
                im.load()
            outcome = "decoded"
        timings.append(time.perf_counter() - started)
    print(json.dumps({"seconds": statistics.median(timings), "outcome": outcome, "baseline_kb": baseline_kb}))


# Linux carries the peak RSS of the process image that calls execve() over into the new program, so a
# child spawned straight from this (by then large) process would report our peak, not its own. A tiny
# launcher, started with -S, forks the measured child from a small address space and reports its
# RUSAGE_CHILDREN.
LAUNCHER = """
import json, resource, subprocess, sys
out = subprocess.run([sys.executable, *sys.argv[1:]], check=True, capture_output=True, text=True).stdout
result = json.loads(out.strip().splitlines()[-1])
result["peak_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps(result))
"""


def run_bomb(width: int, height: int, mode: str = "inspect") -> dict:
    data = png_bomb(width, height)
    with tempfile.NamedTemporaryFile(suffix=".png", delete=False) as handle:
        handle.write(data)
    try:
        completed = subprocess.run(
            [sys.executable, "-S", "-c", LAUNCHER, __file__, "--bomb-child", handle.name, "--mode", mode],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        os.unlink(handle.name)
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result["file_bytes"] = len(data)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--no-heic", action="store_true", help="skip the 12 MP HEIC rows (a few seconds to encode)"
    )
    parser.add_argument("--bomb-child", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="inspect", help=argparse.SUPPRESS)
    add_tiny_option(parser)
    args = parser.parse_args()
    if args.bomb_child:
        bomb_child(args.bomb_child, args.mode)
        return
    if args.tiny:  # one run of each, the bombs included; a 12 MP HEIC takes seconds to encode
        args.runs, args.no_heic = 1, True

    scene = real_looking_photo(2025, (4000, 3000))
    photo = jpeg(scene, quality=92, exif=EXIF)
    rows = []

    first, median = median_seconds(lambda: inspect(photo, "IMG_0001.jpg"), args.runs)
    rows.append(("inspect_upload, 12 MP JPEG", f"{median * 1000:.0f} ms", f"{first * 1000:.0f} ms", "", ""))
    first, median = median_seconds(lambda: render_derivatives(io.BytesIO(photo)), args.runs)
    verdict = "pass" if median < 0.5 else "FAIL"
    rows.append(
        (
            "render_derivatives, 12 MP JPEG",
            f"{median * 1000:.0f} ms",
            f"{first * 1000:.0f} ms",
            "< 0.5 s",
            verdict,
        )
    )

    if not args.no_heic:
        # x265's fastest preset keeps the set-up short; it is the decoding that is measured.
        heic = encode(scene, "HEIF", quality=80, exif=EXIF.tobytes(), enc_params={"preset": "ultrafast"})
        heic_runs = max(3, args.runs // 3)
        first, median = median_seconds(lambda: inspect(heic, "IMG_0001.HEIC"), heic_runs)
        rows.append(
            ("inspect_upload, 12 MP HEIC", f"{median * 1000:.0f} ms", f"{first * 1000:.0f} ms", "", "")
        )
        first, median = median_seconds(lambda: render_derivatives(io.BytesIO(heic)), heic_runs)
        rows.append(
            ("render_derivatives, 12 MP HEIC", f"{median * 1000:.0f} ms", f"{first * 1000:.0f} ms", "", "")
        )

    bombs = [
        ("PNG bomb 30000x30000 (900 MP, Pillow's own guard fires)", run_bomb(30000, 30000), True),
        ("PNG bomb 10000x8000 (80 MP, under Pillow's guard; our max_pixels)", run_bomb(10000, 8000), True),
        (
            "for contrast: the 80 MP bomb opened and loaded with no limit",
            run_bomb(10000, 8000, "decode"),
            False,
        ),
    ]
    for label, result, targeted in bombs:
        seconds, peak_mb, baseline_mb = (
            result["seconds"],
            result["peak_kb"] / 1024,
            result["baseline_kb"] / 1024,
        )
        rows.append(
            (
                f"{label}, {result['file_bytes'] / 1024:.0f} KB file: {result['outcome']}",
                f"{seconds * 1000:.2f} ms",
                "",
                "< 1 s" if targeted else "",
                ("pass" if seconds < 1 and result["outcome"].endswith("too_many_pixels") else "FAIL")
                if targeted
                else "",
            )
        )
        rows.append(
            (
                f"... peak RSS of that process ({baseline_mb:.0f} MB after imports; "
                f"+{peak_mb - baseline_mb:.0f} MB while handling it)",
                f"{peak_mb:.0f} MB",
                "",
                "< 100 MB" if targeted else "",
                ("pass" if peak_mb < 100 else "FAIL") if targeted else "",
            )
        )

    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}; "
        f"12 MP JPEG of {len(photo) / 1e6:.1f} MB; median of {args.runs} runs after one first call.\n"
    )
    print("| Measurement | Median | First call | Target | Result |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
