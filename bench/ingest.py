"""Ingest benchmark: photos uploaded through the HTTP endpoint of a running Daphne server, in chunks, by concurrent clients.

    .venv/bin/python bench/make_photos.py /tmp/scroller-photos --count 4000
    .venv/bin/python bench/ingest.py --photos /tmp/scroller-photos
    .venv/bin/python bench/ingest.py --photos /tmp/scroller-photos --server-processes 1 2 --redis-url redis://127.0.0.1:6379/2

It makes a fresh MariaDB database (default scroller_bench_ingest) and media folder, starts Daphne on it,
uploads every photo in chunks of 16 from --clients concurrent clients, and prints images/s, MB/s, the median
per-image processing time (decode, colours, thumbnail: measured in-process on the same photos, one core,
pinned threads) and the mean stored thumbnail size. With --server-processes N [M ...], the server is
`python -m scroller.serve --processes N` on Redis (--redis-url) instead of one Daphne, each N in turn on a
fresh database, and each rate is also given as a ratio to the floor of the same run (images/s times the
one-core decode + 400 px thumbnail time of bench/decode_floor.py: the share of one core's floor rate).
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
    parser.add_argument(
        "--server-processes", type=int, nargs="+", help="serve with scroller.serve, N processes each run"
    )
    parser.add_argument(
        "--redis-url", default="", help="the channel layer of scroller.serve (needed with --server-processes)"
    )
    args = parser.parse_args()
    if args.server_processes and not args.redis_url:
        parser.error("--server-processes needs --redis-url: the processes share their live events through it")
    return args


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


def wait_until_serving(port: int, *, processes: int | None) -> None:
    """Until the server answers; scroller.serve's socket takes connections before its children have started."""
    while requests.get(f"http://127.0.0.1:{port}/healthz", timeout=300).status_code != 200:
        time.sleep(1)
    if processes is not None:
        time.sleep(15)  # the other children start about as long as the first took; none is timed starting


def start_server(*, processes: int | None, port: int, env: dict) -> subprocess.Popen:
    if processes is None:
        command = [str(Path(PYTHON).parent / "daphne"), "-b", "127.0.0.1", "-p", str(port), "scroller.asgi:application"]
    else:
        command = [PYTHON, "-m", "scroller.serve", "--processes", str(processes), "--port", str(port)]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def measure(*, args: argparse.Namespace, photos: list[Path], processes: int | None) -> dict:
    """One upload of every photo into a fresh database, served by one Daphne (None) or scroller.serve with `processes`."""
    mariadb(f"DROP DATABASE IF EXISTS {args.database}; CREATE DATABASE {args.database} CHARACTER SET utf8mb4")
    media = tempfile.mkdtemp(prefix="scroller-bench-media-")
    env = os.environ | {
        "DATABASE_URL": f"mysql://root@127.0.0.1:3306/{args.database}",
        "SCROLLER_MEDIA_ROOT": media,
        "BENCH_DATABASE": args.database,
    }
    env.pop("REDIS_URL", None)
    if processes is not None:
        env["REDIS_URL"] = args.redis_url
    manage("migrate", "-v", "0", env=env)
    token = manage("create_token", "bench", "--create-user", env=env).strip().splitlines()[-1]
    server = start_server(processes=processes, port=args.port, env=env)
    try:
        wait_for_port(args.port)
        wait_until_serving(args.port, processes=processes)
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
    return {
        "elapsed": elapsed,
        "statuses": statuses,
        "thumbnail_kib": mean_thumbnail_kib(env=env),
        "load": os.getloadavg(),
    }


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    from bench.decode_floor import benchmark_photos, decode_floor_ms

    photos = benchmark_photos(args.photos, limit=args.limit)
    floor_before = decode_floor_ms(args.photos)
    runs = {
        processes: measure(args=args, photos=photos, processes=processes)
        for processes in args.server_processes or [None]
    }
    floor = (floor_before + decode_floor_ms(args.photos)) / 2
    megabytes = sum(path.stat().st_size for path in photos) / 1_000_000
    print(f"photos              {len(photos)} ({megabytes:.1f} MB) from {args.photos}")
    print(
        f"floor               {floor:.2f} ms per photo (JPEG decode + 400 px thumbnail, one core, mean of before and after)"
    )
    for processes, run in runs.items():
        served = "one Daphne process" if processes is None else f"scroller.serve --processes {processes}"
        rate = len(photos) / run["elapsed"]
        print(f"{served}: results {run['statuses']}")
        print(
            f"  end to end        {rate:.1f} images/s = {rate * floor / 1000:.3f} of the one-core floor rate, {megabytes / run['elapsed']:.1f} MB/s "
            f"({run['elapsed']:.1f} s, {args.clients} clients, chunks of {args.chunk}); load average {run['load'][0]:.1f}"
        )
        print(f"  thumbnail mean    {run['thumbnail_kib']:.2f} KiB stored (xz)")
    rates = [len(photos) / run["elapsed"] for run in runs.values()]
    if len(rates) == 2:
        print(f"ratio               {rates[1] / rates[0]:.2f}x the images/s of the first")
    print(
        f"processing median   {processing_median_ms(photos[:500]):.2f} ms per image (decode + colours + thumbnail, one core, first 500 photos)"
    )
    print(f"reproduce           {shlex.join([os.path.relpath(PYTHON, ROOT), 'bench/ingest.py', *sys.argv[1:]])}")


if __name__ == "__main__":
    main()
