"""Benchmark of photomosaics (gallery.mosaic) on a seeded MariaDB catalogue, in this process.

    .venv/bin/python bench/seed_catalogue.py --count 10000 --photos /tmp/scroller-photos \\
        --database-url mysql://root@127.0.0.1:3306/scroller_page_bench_10k
    .venv/bin/python bench/mosaic.py --database-url mysql://root@127.0.0.1:3306/scroller_page_bench_10k

Each run makes a mosaic of a different public image for a logged-in owner (the mosaic cache is
emptied first, so every run builds one): the image read, the snapshot's freshness check, cell
colours, the k-d tree search and assignment, reading the chosen tiles' pixels, and the JPEG.
The first run also loads the library snapshot and builds the viewer's k-d tree; it is reported
apart. Prints median and p95, and each beside the floor (JPEG decode + 400 px thumbnail, one core).
"""

import argparse
import os
import shlex
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a MariaDB catalogue made by bench/seed_catalogue.py")
    parser.add_argument("--cells", type=int, default=64, help="grid width (default 64)")
    parser.add_argument("--cell-px", type=int, default=16)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--photos", type=Path, default=Path("/tmp/scroller-photos"), help="for the floor")
    arguments = parser.parse_args()
    os.environ["DATABASE_URL"] = arguments.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scroller.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import caches

    from bench.decode_floor import decode_floor_ms
    from gallery import selectors
    from gallery.library.snapshot import library_snapshot
    from gallery.mosaic.services import CACHE_ALIAS, get_mosaic

    viewer = get_user_model().objects.get(username="bench-00")
    floor = decode_floor_ms(arguments.photos)
    snapshot_started = time.perf_counter()
    snapshot = library_snapshot()
    snapshot_seconds = time.perf_counter() - snapshot_started
    sources = [int(image_id) for image_id in snapshot.ids[snapshot.public][:: max(1, len(snapshot.ids) // 97)]]
    timings, sizes = [], []
    for run in range(arguments.runs + 1):
        caches[CACHE_ALIAS].clear()
        started = time.perf_counter()
        image = selectors.get_visible_image(viewer=viewer, image_id=sources[run % len(sources)], with_thumbnail=True)
        mosaic = get_mosaic(viewer=viewer, image=image, columns=arguments.cells, cell_px=arguments.cell_px)
        elapsed = time.perf_counter() - started
        if run == 0:
            first = elapsed
            continue
        timings.append(elapsed)
        sizes.append((len(mosaic.jpeg), mosaic.cells, len(mosaic.tile_ids)))
    median, p95 = statistics.median(timings) * 1000, statistics.quantiles(timings, n=20)[-1] * 1000
    print(
        f"{len(snapshot.ids):,} living images; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
        f"snapshot {snapshot.nbytes / 1e6:.1f} MB, loaded in {snapshot_seconds * 1000:.0f} ms"
    )
    print(f"first mosaic (k-d tree for the viewer built): {first * 1000:.0f} ms")
    print(
        f"{arguments.cells}-cell-wide mosaic, {arguments.cell_px} px cells, {arguments.runs} runs: "
        f"median {median:.0f} ms ({median / floor:.1f} x floor), p95 {p95:.0f} ms ({p95 / floor:.1f} x floor); "
        f"floor {floor:.2f} ms"
    )
    jpeg, cells, used = (
        statistics.median(size[0] for size in sizes),
        sizes[0][1],
        statistics.median(s[2] for s in sizes),
    )
    print(f"median JPEG {jpeg / 1024:.0f} KiB, {cells} cells from {used:.0f} distinct images")
    print(f"reproduce: cd {shlex.quote(os.getcwd())} && {shlex.join([sys.executable, *sys.argv])}")


if __name__ == "__main__":
    main()
