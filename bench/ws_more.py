"""Round trip of "more" on the scroller websocket: request sent -> the binary frame of the batch's thumbnails received.

    .venv/bin/python bench/ws_more.py --database-url mysql://root@127.0.0.1:3306/scroller_bench_1m

Starts one Daphne process on 127.0.0.1 serving scroller.asgi on that database (or
measures a running server given --url), opens one websocket as an anonymous visitor,
subscribes to --hues random hues in turn and asks for --more batches at each, one
request at a time. By default each request follows the previous answer at once, which
measures the server's work per batch; --pause leaves time between answer and request,
as a scrolling reader does, in which the server reads ahead for the next batch (on an
idle virtual machine that time also costs a CPU wake-up on both sides). Prints
p50/p95/p99 of the round trips, the bytes each thumbnail costs on the wire, the
server's CPU per request and the command that reproduces the figures.
"""

import argparse
import asyncio
import json
import os
import random
import shlex
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import websockets
from cpu_use import cpu_seconds
from websockets.typing import Origin

ROOT = Path(__file__).resolve().parent.parent
WARMUP = 20


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """The options both websocket benchmarks take for the server they measure; check them with check_server_arguments."""
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL"), help="the seeded database the server uses"
    )
    parser.add_argument(
        "--redis-url", default="", help="run the server on the Redis channel layer (default: in-memory)"
    )
    parser.add_argument("--url", help="measure an already running server, e.g. ws://127.0.0.1:8000/ws/scroller/")


def check_server_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not args.url and not args.database_url:
        parser.error("give --database-url (a server is started on it) or --url")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_arguments(parser)
    parser.add_argument("--port", type=int, default=0, help="port for the Daphne process (default: a free one)")
    parser.add_argument("--hues", type=int, default=10, help="subscriptions, each at a new random hue")
    parser.add_argument("--more", type=int, default=100, help="'more' requests per subscription")
    parser.add_argument(
        "--pause",
        type=float,
        default=0.0,
        help="seconds between a batch's arrival and the next request, as a scrolling reader leaves (0: back to back)",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    check_server_arguments(parser, args)
    return args


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(*, database_url: str, redis_url: str, port: int) -> tuple[subprocess.Popen, Path]:
    """One Daphne process, like production; returns it and its log file once it accepts connections."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SCROLLER_LOG_LEVEL": "WARNING",
        # These benchmarks send "more" back to back, far faster than a page does, to measure the server.
        "SCROLLER_WS_MESSAGES_PER_SECOND": "100000",
    }
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    log = Path(tempfile.mkstemp(prefix="scroller-bench-daphne-", suffix=".log")[1])
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "scroller.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"Daphne exited with {server.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, log
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"Daphne did not start listening within 60 s:\n{log.read_text()}")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def catalogue_size(database_url: str | None) -> str:
    if not database_url or not database_url.startswith("mysql://"):
        return "unknown"
    import MySQLdb

    parsed = urlparse(database_url)
    connection = MySQLdb.connect(
        host=parsed.hostname,
        port=parsed.port or 3306,
        user=parsed.username or "root",
        passwd=parsed.password or "",
        db=parsed.path.lstrip("/"),
    )
    cursor = connection.cursor()
    cursor.execute("SELECT COUNT(*), SUM(deleted_at IS NULL AND visibility = 'public') FROM gallery_image")
    total, public = cursor.fetchone()
    cursor.execute("SELECT COUNT(*) FROM gallery_dominantcolor")
    (colors,) = cursor.fetchone()
    connection.close()
    return f"{total:,} images ({int(public or 0):,} public and alive), {colors:,} colour rows"


async def receive_batch(websocket) -> tuple[dict, list[int]]:
    """The JSON message and the size of each thumbnail record in its binary frame; checks the records carry the announced ids."""
    message = json.loads(await websocket.recv())
    if message["type"] not in ("batch", "added"):
        raise RuntimeError(f"unexpected message {message}")
    if not message["images"]:
        return message, []
    frame = await websocket.recv()
    if not isinstance(frame, bytes):
        raise RuntimeError("expected the binary frame of the batch's thumbnails")
    sizes, offset = [], 0
    for meta in message["images"]:
        image_id, length = struct.unpack_from(">II", frame, offset)
        if image_id != meta["id"]:
            raise RuntimeError("a thumbnail record does not match its image")
        sizes.append(8 + length)
        offset += 8 + length
    if offset != len(frame):
        raise RuntimeError("the binary frame holds more than the batch's thumbnails")
    return message, sizes


async def measure(*, url: str, origin: str, hues: list[int], more: int, pause: float, server_pid: int | None) -> dict:
    """Runs the requests; the server's CPU is counted over everything after the warm-up."""
    subscribe_times, more_times, frame_sizes, meta_bytes, widened = [], [], [], [], 0
    cpu_after_warmup = None
    async with websockets.connect(url, origin=Origin(origin), max_size=None, compression=None) as websocket:
        json.loads(await websocket.recv())
        for hue in hues:
            started = time.perf_counter()
            await websocket.send(json.dumps({"type": "subscribe", "hue": hue}))
            message, _ = await receive_batch(websocket)
            subscribe_times.append(time.perf_counter() - started)
            widened += message["widened"]
            for _ in range(more):
                await asyncio.sleep(pause)
                started = time.perf_counter()
                await websocket.send('{"type":"more"}')
                message, sizes = await receive_batch(websocket)
                more_times.append(time.perf_counter() - started)
                if len(more_times) == WARMUP and server_pid:
                    cpu_after_warmup = cpu_seconds(server_pid)
                frame_sizes += sizes
                if message["images"]:
                    meta_bytes.append(len(json.dumps(message, separators=(",", ":"))) / len(message["images"]))
    results = {
        "subscribe": subscribe_times,
        "more": more_times[WARMUP:],
        "frames": frame_sizes,
        "meta": meta_bytes,
        "widened": widened,
    }
    if server_pid and cpu_after_warmup is not None:
        requests = len(more_times) - WARMUP + len(hues) - 1
        results["server_cpu_ms"] = (cpu_seconds(server_pid) - cpu_after_warmup) * 1000 / requests
    return results


def report(*, results: dict, catalogue: str, command: str, hues: list[int], pause: float) -> None:
    more = [seconds * 1000 for seconds in results["more"]]
    subscribe = [seconds * 1000 for seconds in results["subscribe"]]
    frames = results["frames"]
    print(f"catalogue: {catalogue}")
    print(f"hues: {hues} ({results['widened']} widened)")
    print(
        f"'more' round trip, {len(more)} requests after {WARMUP} warm-up, {pause * 1000:.0f} ms apart: p50 {percentile(more, 0.5):.1f} ms, p95 {percentile(more, 0.95):.1f} ms, p99 {percentile(more, 0.99):.1f} ms, max {max(more):.1f} ms"
    )
    print(
        f"'subscribe' round trip (20 images), {len(subscribe)} requests: p50 {percentile(subscribe, 0.5):.1f} ms, max {max(subscribe):.1f} ms"
    )
    print(
        f"on the wire per thumbnail: {sum(frames) / len(frames):,.0f} bytes of binary record (4-byte id, 4-byte length, stored xz bytes; no base64)"
        f" in one frame per batch, plus {sum(results['meta']) / len(results['meta']):,.0f} bytes of JSON metadata"
    )
    if "server_cpu_ms" in results:
        print(f"server process CPU per request after the warm-up (mostly 'more'): {results['server_cpu_ms']:.2f} ms")
    print(f"reproduce: {command}")


def main() -> None:
    args = parse_args()
    rng = random.Random(args.seed)
    hues = [rng.randrange(360) for _ in range(args.hues)]
    command = shlex.join([".venv/bin/python", "bench/ws_more.py", *sys.argv[1:]])
    server = None
    url = args.url
    try:
        if not url:
            port = args.port or free_port()
            server, _ = start_server(database_url=args.database_url, redis_url=args.redis_url, port=port)
            url = f"ws://127.0.0.1:{port}/ws/scroller/"
        parsed = urlparse(url)
        origin = f"http://{parsed.hostname}:{parsed.port}"
        results = asyncio.run(
            measure(
                url=url,
                origin=origin,
                hues=hues,
                more=args.more,
                pause=args.pause,
                server_pid=server.pid if server else None,
            )
        )
    finally:
        if server is not None:
            stop_server(server)
    report(results=results, catalogue=catalogue_size(args.database_url), command=command, hues=hues, pause=args.pause)


if __name__ == "__main__":
    main()
