"""Text search latency: p95 of two-word queries on MariaDB catalogues of different sizes, with the floor of the same run.

    .venv/bin/python bench/search.py \\
        --database-url mysql://root@127.0.0.1:3306/scroller_search_bench_10k \\
        --database-url mysql://root@127.0.0.1:3306/scroller_search_bench_100k

Each catalogue is made by bench/seed_catalogue.py then bench/seed_labels.py. For each, in a
process of its own, the same recipe picks two-word queries from the catalogue's own index
(a colour word and a thing, or two things, each on 1-30 % of the images), runs them all once
(that first pass warms the buffer pool and reads the posting lists into the process: its p50 and
p95 are printed too), then times each again --rounds times as the API serves ?q= (gallery.search
.selectors.search_images: the ranked first page of 50 for an anonymous visitor, with its image
rows). The catalogues take turns, ten queries at a time, so that a change in the machine's load
while the benchmark runs falls on every size alike and their ratio compares like with like.
The floor, measured in the same run: the median of a JPEG decode plus 400 px thumbnail on one
core (gallery.analysis.decode_image over the first photos of --photos), and the median round
trip of a primary-key SELECT on each catalogue. The recipe's words meet less often in a smaller
catalogue, so fewer of its queries fill a page there: the p95 of the queries that do is printed
too, and its ratio compares the same work at both sizes. Each line also gives the index's rows and size (data and
indexes of gallery_searchposting and gallery_searchkeyword, from information_schema). Figures are printed beside their ratio to the
decode floor, since this machine's speed moves 2-3x between days.
"""

import argparse
import json
import os
import random
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = 50
# Queries timed on one catalogue before the next takes its turn.
BLOCK = 10
COLOR_WORDS = ("red", "orange", "yellow", "green", "teal", "blue", "purple", "pink", "brown", "black", "white", "grey")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", action="append", default=[], help="a seeded catalogue (repeat for each size)")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--photos", type=Path, default=Path("/tmp/scroller-photos"), help="for the decode floor")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over the queries")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.one and not args.database_url:
        parser.error("give at least one --database-url")
    return args


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def decode_floor_ms(photos: Path) -> float:
    sys.path.insert(0, str(ROOT))
    from bench.decode_floor import decode_floor_ms as floor_of

    return floor_of(photos, count=40)


def pick_queries(*, count: int, seed: int) -> list[str]:
    """Two-word queries from this catalogue's index: terms on 1-30 % of the images, the same recipe at every size."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM gallery_image")
        (images,) = cursor.fetchone()
        cursor.execute(
            "SELECT k.text FROM gallery_searchposting p INNER JOIN gallery_searchkeyword k ON k.id = p.keyword_id "
            "GROUP BY k.text HAVING COUNT(*) BETWEEN %s AND %s",
            [images * 0.01, images * 0.3],
        )
        # Sorted here, not by the database's collation, so that the same catalogue gives the same queries
        # whatever the column's collation.
        terms = sorted(term for (term,) in cursor.fetchall())
    things = [term for term in terms if term not in COLOR_WORDS and not term.startswith(("light ", "dark "))]
    colors = [term for term in terms if term in COLOR_WORDS]
    rng = random.Random(seed)
    return [
        f"{rng.choice(colors)} {rng.choice(things)}" if index % 2 and colors else " ".join(rng.sample(things, 2))
        for index in range(count)
    ]


class Catalogue:
    """One catalogue's searches, served in a process of its own: set up once, then timed a block of queries at a time."""

    def __init__(self, *, database_url: str, count: int, seed: int) -> None:
        os.environ["DATABASE_URL"] = database_url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scroller.settings")
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.contrib.auth.models import AnonymousUser

        from gallery.search.selectors import search_images

        self.search_images = search_images
        self.viewer = AnonymousUser()
        self.seed = seed
        self.queries = pick_queries(count=count, seed=seed)
        self.first_timings = [self.run(query)[0] for query in self.queries]
        self.timings: list[float] = []
        self.hits: list[int] = []

    def run(self, query: str) -> tuple[float, int]:
        started = time.perf_counter()
        found, _ = self.search_images(
            viewer=self.viewer, text=query, hue=None, owner_only=False, after=None, limit=PAGE
        )
        return (time.perf_counter() - started) * 1000, len(found)

    def time_block(self, start: int, stop: int) -> None:
        for query in self.queries[start:stop]:
            timing, hits = self.run(query)
            self.timings.append(timing)
            self.hits.append(hits)

    def summary(self) -> dict:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM gallery_image")
            (images,) = cursor.fetchone()
            cursor.execute("SELECT COUNT(*) FROM gallery_searchposting")
            (rows,) = cursor.fetchone()
            cursor.execute(
                "SELECT SUM(data_length + index_length) FROM information_schema.tables "
                "WHERE table_schema = DATABASE() AND table_name IN ('gallery_searchposting', 'gallery_searchkeyword')"
            )
            (index_bytes,) = cursor.fetchone()
            rng = random.Random(self.seed)
            point = []
            for _ in range(300):
                started = time.perf_counter()
                cursor.execute("SELECT id FROM gallery_image WHERE id = %s", [rng.randint(1, images)])
                cursor.fetchall()
                point.append((time.perf_counter() - started) * 1000)
        full = [timing for timing, count in zip(self.timings, self.hits, strict=True) if count == PAGE]
        return {
            "images": images,
            "index_rows": rows,
            "index_mb": int(index_bytes) / 1e6,
            "queries": len(self.queries),
            "timed": len(self.timings),
            "examples": self.queries[:4],
            "full_pages": sum(1 for count in self.hits if count == PAGE),
            "full_p95": percentile(full or [0.0], 0.95),
            "empty": sum(1 for count in self.hits if count == 0),
            "p50": percentile(self.timings, 0.5),
            "p95": percentile(self.timings, 0.95),
            "p99": percentile(self.timings, 0.99),
            "first_p50": percentile(self.first_timings, 0.5),
            "first_p95": percentile(self.first_timings, 0.95),
            "point_select_ms": statistics.median(point),
        }


def serve_one(*, database_url: str, count: int, seed: int) -> None:
    """The child's side: "ready" once warm, "done" after each block asked for on stdin, the summary as JSON at the end."""
    catalogue = Catalogue(database_url=database_url, count=count, seed=seed)
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "finish":
            break
        start, stop = map(int, line.split())
        catalogue.time_block(start, stop)
        print("done", flush=True)
    print(json.dumps(catalogue.summary()), flush=True)


def measure_interleaved(*, urls: list[str], count: int, seed: int, rounds: int) -> list[dict]:
    """Every catalogue's timed queries, a block at a time in turn, so a change in the machine's load hits every size alike."""
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--one", url, "--queries", str(count), "--seed", str(seed)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for url in urls
    ]
    for child in children:
        _expect(child, "ready")
    for _ in range(rounds):
        for start in range(0, count, BLOCK):
            for child in children:
                _ask(child, f"{start} {min(start + BLOCK, count)}")
                _expect(child, "done")
    results = []
    for child in children:
        _ask(child, "finish")
        assert child.stdout is not None
        results.append(json.loads(child.stdout.readline()))
        if child.wait() != 0:
            raise SystemExit(f"a catalogue's process failed (exit {child.returncode})")
    return results


def _ask(child: subprocess.Popen, line: str) -> None:
    assert child.stdin is not None
    child.stdin.write(line + "\n")
    child.stdin.flush()


def _expect(child: subprocess.Popen, word: str) -> None:
    assert child.stdout is not None
    answer = child.stdout.readline().strip()
    if answer != word:
        raise SystemExit(f"a catalogue's process said {answer!r} instead of {word!r} (exit {child.poll()})")


def main() -> None:
    args = parse_args()
    if args.one:
        serve_one(database_url=args.one, count=args.queries, seed=args.seed)
        return
    floor_before = decode_floor_ms(args.photos)
    results = measure_interleaved(urls=args.database_url, count=args.queries, seed=args.seed, rounds=args.rounds)
    floor = statistics.median([floor_before, decode_floor_ms(args.photos)])
    print(f"floor: JPEG decode + 400 px thumbnail, one core, median {floor:.2f} ms")
    for result in results:
        print(
            f"{result['images']:>9,} images ({result['index_rows']:,} index rows, {result['index_mb']:.0f} MB): {result['queries']} two-word queries "
            f"timed {result['timed']} times in all, "
            f"first page of {PAGE}: p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms ({result['p95'] / floor:.2f}x floor), "
            f"p99 {result['p99']:.1f} ms; {result['full_pages']} full pages (p95 {result['full_p95']:.1f} ms), {result['empty']} empty; "
            f"first pass (posting lists read on first use): p50 {result['first_p50']:.1f} ms, p95 {result['first_p95']:.1f} ms; "
            f"primary-key SELECT round trip {result['point_select_ms']:.2f} ms; e.g. {result['examples']}"
        )
    if len(results) > 1:
        smallest, largest = min(results, key=lambda r: r["images"]), max(results, key=lambda r: r["images"])
        print(
            f"p95 at {largest['images']:,} / p95 at {smallest['images']:,}: {largest['p95'] / smallest['p95']:.2f}x "
            f"(target <= 1.5x); p95 at {largest['images']:,}: {largest['p95']:.1f} ms (target <= 50 ms); "
            f"full pages only (the same work at both sizes): {largest['full_p95'] / smallest['full_p95']:.2f}x"
        )
    print(f"reproduce: {shlex.join(['.venv/bin/python', 'bench/search.py', *sys.argv[1:]])}")


if __name__ == "__main__":
    main()
