"""Time of a palette search (GET /api/images/?colors=H1:W1,H2:W2) on a seeded MariaDB catalogue.

    .venv/bin/python bench/make_photos.py /tmp/scroller-photos --count 200
    .venv/bin/python bench/seed_catalogue.py --count 100000 --database-url mysql://root@127.0.0.1:3306/scroller_bench_100k
    .venv/bin/python bench/palette_search.py --database-url mysql://root@127.0.0.1:3306/scroller_bench_100k

Each request goes through Django's test client (the view, the selector, the JSON), in this
process, as an anonymous visitor: two colours at random hues with weights drawn from a few
typical proportions. The first request reads the process's palette index (gallery.palette_search.index);
its time is printed apart, the others use the index kept in memory.

Two floors, measured in the same run: the machine's (decoding one benchmark photo into a
400 px thumbnail, bench/decode_floor.py, before and after the searches) and a page's, interleaved
with the searches: reading 50 images at random by id and turning them into the API's JSON, which
any page of results costs. Prints p50/p95/p99, the ratios to both floors, the load average and the
command that reproduces the figures.
"""

import argparse
import json
import os
import random
import shlex
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WARMUP = 10
WEIGHTS = [(60, 20), (40, 40), (30, 10), (50, 25), (20, 20)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="mysql://... of a catalogue seeded by seed_catalogue.py")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--photos", type=Path, default=Path("/tmp/scroller-photos"), help="for the machine's floor")
    arguments = parser.parse_args()

    os.environ["DATABASE_URL"] = arguments.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scroller.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth.models import AnonymousUser
    from django.test import Client

    from bench.decode_floor import decode_floor_ms
    from gallery.models import Image
    from gallery.palette_search.index import palette_index
    from gallery.serializers import image_to_dict

    def floor_page(image_ids: list[int]) -> None:
        found = Image.objects.select_related("owner").defer("thumbnail").in_bulk(image_ids)
        json.dumps([image_to_dict(image, viewer=AnonymousUser(), detail=True) for image in found.values()])

    client = Client(HTTP_HOST="localhost")
    rng = random.Random(arguments.seed)
    queries = [
        f"/api/images/?colors={rng.randrange(360)}:{first},{rng.randrange(360)}:{second}"
        for first, second in (rng.choice(WEIGHTS) for _ in range(arguments.queries + WARMUP))
    ]
    highest_id = Image.objects.order_by("-pk").values_list("pk", flat=True)[0]
    decode_before = decode_floor_ms(arguments.photos)
    started = time.perf_counter()
    loaded = palette_index()
    index_seconds = time.perf_counter() - started
    searches: list[float] = []
    floors: list[float] = []
    found: list[int] = []
    for index, query in enumerate(queries):
        search_time, count = timed(client, query)
        start = time.perf_counter()
        floor_page(rng.sample(range(1, highest_id + 1), 50))
        floor_time = time.perf_counter() - start
        if index >= WARMUP:
            searches.append(search_time)
            floors.append(floor_time)
            found.append(count)

    decode_floor = statistics.median([decode_before, decode_floor_ms(arguments.photos)])
    print(f"{Image.objects.count():,} images in {arguments.database_url}; {arguments.queries} two-colour queries")
    print(
        f"palette index: read in {index_seconds:.2f} s on first use, {len(loaded.hues):,} colour rows, "
        f"{loaded.nbytes / 2**20:.1f} MiB"
    )
    print(f"{'':<22}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}")
    for name, durations in (("palette search", searches), ("floor: page of 50", floors)):
        p50, p95, p99 = (percentile(durations, percent) * 1000 for percent in (50, 95, 99))
        print(f"{name:<22}{p50:>8.1f}{p95:>8.1f}{p99:>8.1f}")
    print(f"floor: decode + 400 px thumbnail {decode_floor:.1f} ms (median of the floors before and after)")
    search_p50, search_p95 = (percentile(searches, percent) * 1000 for percent in (50, 95))
    print(f"ratio to the decode floor: p50 {search_p50 / decode_floor:.2f}, p95 {search_p95 / decode_floor:.2f}")
    print(f"p95 ratio to the page floor: {percentile(searches, 95) / percentile(floors, 95):.2f}")
    print(f"load average during the run: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    print(f"results per search: median {statistics.median(found):.0f} (page of 50)")
    print(f"reproduce: cd {shlex.quote(os.getcwd())} && {shlex.join([sys.executable, *sys.argv])}")


def timed(client, url: str) -> tuple[float, int]:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        sys.exit(f"{url} answered {response.status_code}: {response.content[:200]!r}")
    return elapsed, len(response.json()["results"])


def percentile(values: list[float], percent: int) -> float:
    return statistics.quantiles(values, n=100)[percent - 1]


if __name__ == "__main__":
    main()
