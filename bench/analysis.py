"""Benchmark of the per-file image pipeline (gallery.analysis), single process, native threads pinned.

Make the photos first (bench/make_photos.py: 512 px JPEG crops of real photos):

    .venv/bin/python bench/make_photos.py /tmp/scroller-photos --count 4000
    .venv/bin/python bench/analysis.py --photos /tmp/scroller-photos

Prints the median and p90 per image of each stage of `analyse_image` (decode + scale, which
includes hashing the file; colours; encode + xz) and of their sum, and the mean stored thumbnail
size. `--clock cpu` counts only the
CPU time of this thread, which keeps other busy processes on the machine out of the figures.

The floor, timed on the same photo just before each measurement: a plain Pillow JPEG decode at
the draft scale that still gives 400 px, and a bilinear scale to 400 px, the least any ingest
must do. The total is also printed as a ratio to it, which moves far less than the absolute
figure when the machine's speed does.
"""

import argparse
import hashlib
import io
import os
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image

from gallery.analysis import decode_image, tile_sample
from gallery.colors import dominant_colors, pin_native_threads
from gallery.mosaic.tiles import mosaic_tile
from gallery.similar.phash import perceptual_hash
from gallery.thumbnails import THUMBNAIL_MAX_SIDE, encode_thumbnail

MAX_PIXELS = 64_000_000
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif"}
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.thread_time}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--photos",
        type=Path,
        default=Path("/tmp/scroller-photos"),
        help="folder of photos (default /tmp/scroller-photos)",
    )
    parser.add_argument("--limit", type=int, help="only the first this many photos, in name order (default: all)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall", help="wall time, or this thread's CPU time")
    arguments = parser.parse_args()

    pin_native_threads()
    paths = sorted(path for path in arguments.photos.iterdir() if path.suffix.lower() in PHOTO_SUFFIXES)[
        : arguments.limit
    ]
    if not paths:
        sys.exit(f"no photos in {arguments.photos}")

    clock = CLOCKS[arguments.clock]
    stages: dict[str, list[float]] = {
        "decode + scale": [],
        "colours": [],
        "encode + xz": [],
        "tile + phash": [],
        "total": [],
        "floor": [],
    }
    stored_sizes = []
    # The first images pay for imports and lazily built tables; they are not what is being measured.
    for data in [paths[0].read_bytes()] * 5:
        measure_one(data, clock=clock)
    for path in paths:
        data = path.read_bytes()
        stages["floor"].append(measure_floor(data, clock=clock))
        timings, stored_size = measure_one(data, clock=clock)
        for stage, seconds in timings.items():
            stages[stage].append(seconds)
        stored_sizes.append(stored_size)

    print(
        f"{len(paths)} photos from {arguments.photos}, {arguments.clock} clock, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"{'stage':<16}{'median ms':>10}{'p90 ms':>10}")
    for stage, durations in stages.items():
        print(f"{stage:<16}{statistics.median(durations) * 1000:>10.2f}{percentile(durations, 90) * 1000:>10.2f}")
    ratio = statistics.median(stages["total"]) / statistics.median(stages["floor"])
    print(f"median total / median floor: {ratio:.2f}")
    print(f"mean stored thumbnail: {statistics.fmean(stored_sizes) / 1024:.2f} KiB")
    print(f"reproduce: cd {shlex.quote(os.getcwd())} && {shlex.join([sys.executable, *sys.argv])}")


def measure_one(data: bytes, *, clock: Callable[[], float]) -> tuple[dict[str, float], int]:
    """The stages of gallery.analysis.analyse_image, timed one by one."""
    start = clock()
    hashlib.sha256(data).hexdigest()
    decoded = decode_image(data, max_pixels=MAX_PIXELS)
    decoded_at = clock()
    dominant_colors(decoded.thumbnail)
    colored_at = clock()
    stored = encode_thumbnail(decoded.thumbnail)
    encoded_at = clock()
    mosaic_tile(tile_sample(decoded.thumbnail))
    perceptual_hash(decoded.thumbnail)
    described_at = clock()
    timings = {
        "decode + scale": decoded_at - start,
        "colours": colored_at - decoded_at,
        "encode + xz": encoded_at - colored_at,
        "tile + phash": described_at - encoded_at,
        "total": described_at - start,
    }
    return timings, len(stored)


def measure_floor(data: bytes, *, clock: Callable[[], float]) -> float:
    start = clock()
    with Image.open(io.BytesIO(data)) as image:
        image.draft("RGB", (THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE))
        image.thumbnail((THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE), Image.Resampling.BILINEAR)
    return clock() - start


def percentile(values: list[float], percent: int) -> float:
    return statistics.quantiles(values, n=100)[percent - 1]


if __name__ == "__main__":
    main()
