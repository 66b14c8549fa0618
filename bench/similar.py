"""Benchmark of "more like this" (gallery.similar) on a seeded MariaDB catalogue, in this process.

    .venv/bin/python bench/seed_catalogue.py --count 100000 --photos /tmp/scroller-photos \\
        --database-url mysql://root@127.0.0.1:3306/scroller_page_bench_100k
    .venv/bin/python bench/similar.py --database-url mysql://root@127.0.0.1:3306/scroller_page_bench_100k

Each run asks for the images most like a different public image, as a logged-in owner sees
them (hash distances and palette distances against the whole library snapshot, then one query
that reads the winners with the viewer's visibility rule). The first call loads the snapshot and is
reported apart. Prints median and p95, each beside the floor (JPEG decode + 400 px thumbnail, one core).
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
    parser.add_argument("--limit", type=int, default=12, help="images asked for (default 12, as the page does)")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--photos", type=Path, default=Path("/tmp/scroller-photos"), help="for the floor")
    arguments = parser.parse_args()
    os.environ["DATABASE_URL"] = arguments.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scroller.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from bench.decode_floor import decode_floor_ms
    from gallery import selectors
    from gallery.library.snapshot import library_snapshot
    from gallery.similar.selectors import similar_images

    viewer = get_user_model().objects.get(username="bench-00")
    floor = decode_floor_ms(arguments.photos)
    started = time.perf_counter()
    snapshot = library_snapshot()
    load_seconds = time.perf_counter() - started
    sources = [int(image_id) for image_id in snapshot.ids[snapshot.public][:: max(1, len(snapshot.ids) // 211)]]
    timings = []
    for run in range(arguments.runs):
        started = time.perf_counter()
        image = selectors.get_visible_image(viewer=viewer, image_id=sources[run % len(sources)])
        found = similar_images(viewer=viewer, image=image, limit=arguments.limit)
        timings.append(time.perf_counter() - started)
        assert len(found) == arguments.limit
    median, p95 = statistics.median(timings) * 1000, statistics.quantiles(timings, n=20)[-1] * 1000
    print(
        f"{len(snapshot.ids):,} living images; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
        f"snapshot loaded in {load_seconds * 1000:.0f} ms"
    )
    print(
        f"similar images, limit {arguments.limit}, {arguments.runs} runs: median {median:.1f} ms "
        f"({median / floor:.1f} x floor), p95 {p95:.1f} ms ({p95 / floor:.1f} x floor); floor {floor:.2f} ms"
    )
    print(f"reproduce: cd {shlex.quote(os.getcwd())} && {shlex.join([sys.executable, *sys.argv])}")


if __name__ == "__main__":
    main()
