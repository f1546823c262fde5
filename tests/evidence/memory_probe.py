"""What handling a photo costs in memory, measured in a process of its own.

    python -m tests.evidence.memory_probe [--ceiling-mb N] [--step inspect|render] FILE [FILE ...]

For every file, the request path's `inspect_upload` and then the job's `render_derivatives` run in
this process; before each, the kernel's peak-RSS mark is reset (/proc/self/clear_refs), so each step
reports what it added on top of what the process already held. One JSON line per file and step:
{"file", "step", "outcome", "peak_mb", "seconds", ...}. The process lowers its own address-space
limit first (1.5 GB above its size at start), so a file that would make an unprotected reader
allocate gigabytes ends as a MemoryError here instead of taking the machine's memory. With
`--ceiling-mb N` each step runs inside `evidence.imaging.memory_ceiling` of N MB, as the photo job does;
`--step` runs only one of the two. Run from the repository root.
Used by tests/evidence/test_metadata_bounds.py and benchmarks/bench_photo_memory.py.
"""

import ctypes
import gc
import io
import json
import os
import resource
import sys
import time
from pathlib import Path

SAFETY_MARGIN = 1536 * 1024 * 1024


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def _reset_peak() -> None:
    """Hand freed memory back to the system, then reset VmHWM to the current RSS (Linux >= 4.0)."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")


def measure(step: str, path: Path, ceiling_mb: int = 0) -> dict:
    from evidence.derivatives import render_derivatives
    from evidence.imaging import (
        DEFAULT_MAX_BYTES,
        DEFAULT_MAX_PIXELS,
        inspect_upload,
        memory_ceiling,
    )

    data = path.read_bytes()
    result: dict = {"file": path.name, "step": step, "file_bytes": len(data)}
    _reset_peak()
    baseline_kb = _status_kb("VmRSS")
    started = time.perf_counter()
    try:
        with memory_ceiling(ceiling_mb * 1024 * 1024):
            if step == "inspect":
                info = inspect_upload(
                    io.BytesIO(data),
                    name=path.name,
                    max_bytes=DEFAULT_MAX_BYTES,
                    max_pixels=DEFAULT_MAX_PIXELS,
                )
                result.update(size=[info.width, info.height], has_exif=info.has_exif, format=info.format)
            else:
                derivatives = render_derivatives(io.BytesIO(data))
                result.update(size=list(derivatives.preview_size))
        result["outcome"] = "accepted"
    except Exception as exc:  # noqa: BLE001 - the outcome is the measurement
        code = getattr(exc, "code", None)
        result["outcome"] = f"rejected: {code}" if code else f"error: {type(exc).__name__}"
    result["seconds"] = round(time.perf_counter() - started, 3)
    result["baseline_mb"] = round(baseline_kb / 1024, 1)
    result["peak_mb"] = round((_status_kb("VmHWM") - baseline_kb) / 1024, 1)
    return result


def main(arguments: list[str]) -> None:
    ceiling_mb, steps = 0, ("inspect", "render")
    while arguments[:1] in (["--ceiling-mb"], ["--step"]):
        if arguments[0] == "--ceiling-mb":
            ceiling_mb = int(arguments[1])
        else:
            steps = (arguments[1],)
        arguments = arguments[2:]
    repo = Path(__file__).resolve().parents[2]
    sys.path[:0] = [str(repo / "backend"), str(repo)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    import evidence.derivatives

    evidence.derivatives.load_hashing()  # before the limit, as the photo job does before its ceiling

    address_space = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (address_space + SAFETY_MARGIN, resource.RLIM_INFINITY))
    for path in arguments:
        for step in steps:
            print(json.dumps(measure(step, Path(path), ceiling_mb)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
