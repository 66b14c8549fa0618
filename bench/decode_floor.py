"""The machine's speed today, for benchmarks to report their figures against.

The floor is the median time of decoding one benchmark photo and scaling it to a 400 px
thumbnail (gallery.analysis.decode_image) on one core: the machine's speed moves 2–3x between
days and with what else runs, and a figure divided by the floor moved in the same run does not.
"""

import statistics
import time
from pathlib import Path

from gallery.analysis import decode_image
from gallery.colors import pin_native_threads

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


def benchmark_photos(folder: Path, *, limit: int | None = None) -> list[Path]:
    """The first `limit` photos of `folder` by name; exits saying how to make them when there are none."""
    paths = sorted(path for path in folder.glob("*") if path.suffix.lower() in PHOTO_SUFFIXES)[:limit]
    if not paths:
        raise SystemExit(f"no photos in {folder}: .venv/bin/python bench/make_photos.py {folder} --count 4000")
    return paths


def decode_floor_ms(photos: Path, *, count: int = 200) -> float:
    pin_native_threads()
    files = [path.read_bytes() for path in benchmark_photos(photos, limit=count)]
    decode_image(files[0], max_pixels=64_000_000)
    timings = []
    for data in files:
        started = time.perf_counter()
        decode_image(data, max_pixels=64_000_000)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000
