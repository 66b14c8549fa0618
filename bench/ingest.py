"""Ingest benchmark: photos uploaded through the HTTP endpoint of a running Daphne server, in chunks, by concurrent clients.

    .venv/bin/python bench/make_photos.py /tmp/scroller-photos --count 4000
    .venv/bin/python bench/ingest.py --photos /tmp/scroller-photos

It makes a fresh MariaDB database (default scroller_bench_ingest) and media folder, starts Daphne on it,
uploads every photo in chunks of 16 from --clients concurrent clients, and prints images/s, MB/s, the median
per-image processing time (decode, colours, thumbnail: measured in-process on the same photos, one core,
pinned threads) and the mean stored thumbnail size.
"""

import argparse
import os
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=Path("/tmp/scroller-photos"))
    parser.add_argument("--limit", type=int, default=4000, help="at most this many photos")
    parser.add_argument("--clients", type=int, default=4, help="concurrent upload clients")
    parser.add_argument("--chunk", type=int, default=16, help="files per request")
    parser.add_argument("--database", default="scroller_bench_ingest", help="MariaDB database, dropped and made anew")
    parser.add_argument("--port", type=int, default=8765)
    return parser.parse_args()


def mariadb(statement: str) -> None:
    subprocess.run(["mariadb", "-uroot", "-h127.0.0.1", "-e", statement], check=True)


def manage(*args: str, env: dict) -> str:
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def wait_for_port(port: int, *, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"the server did not answer on port {port}")


def upload_chunk(*, session: requests.Session, url: str, paths: list[Path]) -> list[dict]:
    files = [("file", (path.name, path.read_bytes(), "application/octet-stream")) for path in paths]
    response = session.post(url, files=files, timeout=120)
    response.raise_for_status()
    return response.json()["results"]


def upload_all(*, url: str, token: str, photos: list[Path], clients: int, chunk: int) -> tuple[float, list[dict]]:
    chunks = [photos[start : start + chunk] for start in range(0, len(photos), chunk)]
    sessions = [requests.Session() for _ in range(clients)]
    for session in sessions:
        session.headers["Authorization"] = f"Token {token}"
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        batches = list(
            pool.map(
                lambda pair: upload_chunk(session=sessions[pair[0] % clients], url=url, paths=pair[1]),
                enumerate(chunks),
            )
        )
    return time.perf_counter() - started, [result for batch in batches for result in batch]


def processing_median_ms(photos: list[Path]) -> float:
    sys.path.insert(0, str(ROOT))
    from gallery.analysis import analyse_image
    from gallery.colors import pin_native_threads

    pin_native_threads()
    timings = []
    for path in photos:
        data = path.read_bytes()
        started = time.perf_counter()
        analyse_image(data, max_pixels=64_000_000)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def mean_thumbnail_kib(*, env: dict) -> float:
    query = "SELECT AVG(LENGTH(thumbnail)) FROM gallery_image"
    output = subprocess.run(
        ["mariadb", "-uroot", "-h127.0.0.1", "-N", "-e", query, env["BENCH_DATABASE"]],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(output.strip()) / 1024


def main() -> None:
    args = parse_args()
    photos = sorted(args.photos.glob("*.jpg"))[: args.limit]
    if not photos:
        raise SystemExit(
            f"no photos in {args.photos}: python ../shared/bench-data/make_photos.py {args.photos} --count 4000"
        )
    mariadb(f"DROP DATABASE IF EXISTS {args.database}; CREATE DATABASE {args.database} CHARACTER SET utf8mb4")
    media = tempfile.mkdtemp(prefix="scroller-bench-media-")
    env = os.environ | {
        "DATABASE_URL": f"mysql://root@127.0.0.1:3306/{args.database}",
        "SCROLLER_MEDIA_ROOT": media,
        "BENCH_DATABASE": args.database,
    }
    env.pop("REDIS_URL", None)
    manage("migrate", "-v", "0", env=env)
    token = manage("create_token", "bench", "--create-user", env=env).strip().splitlines()[-1]
    server = subprocess.Popen(
        [str(Path(PYTHON).parent / "daphne"), "-b", "127.0.0.1", "-p", str(args.port), "scroller.asgi:application"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(args.port)
        elapsed, results = upload_all(
            url=f"http://127.0.0.1:{args.port}/api/images/",
            token=token,
            photos=photos,
            clients=args.clients,
            chunk=args.chunk,
        )
    finally:
        server.terminate()
        server.wait()
    statuses = {
        status: sum(result["status"] == status for result in results) for status in ("created", "duplicate", "rejected")
    }
    megabytes = sum(path.stat().st_size for path in photos) / 1_000_000
    print(f"photos              {len(photos)} ({megabytes:.1f} MB) from {args.photos}")
    print(f"results             {statuses}")
    print(
        f"end to end          {len(photos) / elapsed:.1f} images/s, {megabytes / elapsed:.1f} MB/s ({elapsed:.1f} s, {args.clients} clients, chunks of {args.chunk})"
    )
    print(
        f"processing median   {processing_median_ms(photos[:500]):.2f} ms per image (decode + colours + thumbnail, one core, first 500 photos)"
    )
    print(f"thumbnail mean      {mean_thumbnail_kib(env=env):.2f} KiB stored (xz)")
    print(f"reproduce           {shlex.join([os.path.relpath(PYTHON, ROOT), 'bench/ingest.py', *sys.argv[1:]])}")


if __name__ == "__main__":
    main()
