"""Many scroller clients at once against ONE Daphne process, each asking for "more" every 2 s.

    .venv/bin/python bench/ws_clients.py --database-url mysql://root@127.0.0.1:3306/scroller_bench_1m

Starts one Daphne process on 127.0.0.1 serving scroller.asgi on that database (or uses
--url), opens --clients anonymous websockets from --processes load-generator processes
(loopback only), spread over --ramp seconds; each subscribes to a random hue, then from a
common start asks for the next batch every --interval seconds, at its own random phase,
for --duration seconds. A round trip is timed from sending "more" to receiving the last
binary frame of the batch; a request whose turn comes while the previous answer is
still arriving is sent late, and that lateness is reported separately.

Everything (server, MariaDB, load generators) shares this machine's CPUs, so the
printout includes how much CPU each used during the measured window.
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import resource
import shlex
import subprocess
import sys
import time
from urllib.parse import urlparse

import websockets
from websockets.typing import Origin
from ws_more import (
    add_server_arguments,
    catalogue_size,
    check_server_arguments,
    cpu_seconds,
    free_port,
    percentile,
    receive_batch,
    start_server,
    stop_server,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_arguments(parser)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2, help="load-generator processes")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between one client's requests")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of measurement")
    parser.add_argument("--ramp", type=float, default=20.0, help="seconds over which the connections are opened")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    check_server_arguments(parser, args)
    if not 1 <= args.clients <= 5000 or not 1 <= args.processes <= 16 or not 0 < args.duration <= 600:
        parser.error("keep it bounded: 1-5000 clients, 1-16 processes, at most 600 s")
    return args


class Tally:
    def __init__(self) -> None:
        self.round_trips: list[float] = []
        self.lateness: list[float] = []
        self.text_frames = 0
        self.thumbnails = 0
        self.bytes = 0
        self.images = 0
        self.failed_connects = 0
        self.dropped = 0
        self.errors: list[str] = []
        self.finished = 0.0


async def client(
    *,
    url: str,
    origin: str,
    hue: int,
    opens_at: float,
    starts_at: float,
    ends_at: float,
    interval: float,
    phase: float,
    tally: Tally,
) -> None:
    await asyncio.sleep(max(0.0, opens_at - time.time()))
    try:
        websocket = await websockets.connect(
            url, origin=Origin(origin), max_size=None, compression=None, ping_interval=None, open_timeout=60
        )
    except (OSError, TimeoutError, websockets.InvalidHandshake) as error:
        tally.failed_connects += 1
        tally.errors.append(f"connect: {error!r}")
        return
    try:
        await websocket.recv()
        await websocket.send(json.dumps({"type": "subscribe", "hue": hue}))
        await receive_batch(websocket)
        turn = starts_at + phase
        while turn < ends_at:
            await asyncio.sleep(max(0.0, turn - time.time()))
            sent = time.time()
            await websocket.send('{"type":"more"}')
            message, sizes = await receive_batch(websocket)
            tally.round_trips.append(time.time() - sent)
            tally.lateness.append(sent - turn)
            tally.text_frames += 1
            tally.thumbnails += len(sizes)
            tally.bytes += sum(sizes) + len(json.dumps(message))
            tally.images += len(sizes)
            turn += interval
        tally.finished = max(tally.finished, time.time())
        # Closing while others still measure would time the server's teardown of a thousand
        # sockets (and, on Redis, their group_discard calls) as if it were serving batches.
        await asyncio.sleep(max(0.0, ends_at + interval - time.time()))
        await websocket.close()
    except websockets.ConnectionClosed as error:
        tally.dropped += 1
        tally.errors.append(f"closed: {error!r}")
    except Exception as error:
        tally.dropped += 1
        tally.errors.append(f"error: {error!r}")


async def generate(*, url: str, clients: list[dict], starts_at: float, ends_at: float, interval: float) -> Tally:
    tally = Tally()
    parsed = urlparse(url)
    origin = f"http://{parsed.hostname}:{parsed.port}"
    await asyncio.gather(
        *(
            client(url=url, origin=origin, starts_at=starts_at, ends_at=ends_at, interval=interval, tally=tally, **spec)
            for spec in clients
        )
    )
    return tally


def load_generator(job: dict) -> dict:
    """One load-generator process: its share of the clients on one event loop; returns what it saw and its own CPU time."""
    tally = asyncio.run(
        generate(
            url=job["url"],
            clients=job["clients"],
            starts_at=job["starts_at"],
            ends_at=job["ends_at"],
            interval=job["interval"],
        )
    )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {**vars(tally), "cpu": usage.ru_utime + usage.ru_stime}


def mariadb_pid() -> int | None:
    found = subprocess.run(["pidof", "mariadbd", "mysqld"], capture_output=True, text=True, check=False).stdout.split()
    return int(found[0]) if found else None


def main() -> None:
    args = parse_args()
    rng = random.Random(args.seed)
    command = shlex.join([".venv/bin/python", "bench/ws_clients.py", *sys.argv[1:]])
    server = None
    url = args.url
    try:
        if not url:
            port = free_port()
            server, _ = start_server(database_url=args.database_url, redis_url=args.redis_url, port=port)
            url = f"ws://127.0.0.1:{port}/ws/scroller/"
        now = time.time()
        starts_at = now + args.ramp + 5
        ends_at = starts_at + args.duration
        specs = [
            {
                "hue": rng.randrange(360),
                "opens_at": now + 1 + args.ramp * index / args.clients,
                "phase": rng.uniform(0, args.interval),
            }
            for index in range(args.clients)
        ]
        jobs = [
            {
                "url": url,
                "clients": specs[index :: args.processes],
                "starts_at": starts_at,
                "ends_at": ends_at,
                "interval": args.interval,
            }
            for index in range(args.processes)
        ]
        database = mariadb_pid()
        with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
            pending = pool.map_async(load_generator, jobs)
            time.sleep(max(0.0, starts_at - time.time()))
            server_cpu_before = cpu_seconds(server.pid) if server else None
            database_cpu_before = cpu_seconds(database) if database else None
            time.sleep(max(0.0, ends_at - time.time()))
            server_cpu = (
                cpu_seconds(server.pid) - server_cpu_before if server and server_cpu_before is not None else None
            )
            database_cpu = (
                cpu_seconds(database) - database_cpu_before if database and database_cpu_before is not None else None
            )
            results = pending.get(timeout=args.ramp + args.duration + 600)
    finally:
        if server is not None:
            stop_server(server)
    report(
        args=args,
        results=results,
        server_cpu=server_cpu,
        database_cpu=database_cpu,
        command=command,
        starts_at=starts_at,
    )


def report(
    *,
    args: argparse.Namespace,
    results: list[dict],
    server_cpu: float | None,
    database_cpu: float | None,
    command: str,
    starts_at: float,
) -> None:
    round_trips = [seconds * 1000 for result in results for seconds in result["round_trips"]]
    lateness = [seconds * 1000 for result in results for seconds in result["lateness"]]
    total = {
        key: sum(result[key] for result in results)
        for key in ("text_frames", "thumbnails", "bytes", "images", "failed_connects", "dropped", "cpu")
    }
    errors = [error for result in results for error in result["errors"]]
    print(f"catalogue: {catalogue_size(args.database_url)}")
    print(
        f"{args.clients} clients on {args.processes} load-generator processes, one 'more' each every {args.interval:g} s for {args.duration:g} s, {'Redis' if args.redis_url else 'in-memory'} channel layer"
    )
    if round_trips:
        took = max(result["finished"] for result in results) - starts_at
        print(
            f"'more' round trip, {len(round_trips)} requests in {took:.0f} s ({len(round_trips) / took:.0f}/s served, {args.clients / args.interval:.0f}/s asked): "
            f"p50 {percentile(round_trips, 0.5):.1f} ms, p95 {percentile(round_trips, 0.95):.1f} ms, p99 {percentile(round_trips, 0.99):.1f} ms, max {max(round_trips):.0f} ms"
        )
        print(
            f"requests sent over 100 ms after their turn (previous answer still arriving, or a busy generator): {sum(late > 100 for late in lateness)}, lateness p95 {percentile(lateness, 0.95):.1f} ms"
        )
    print(f"connections failed to open: {total['failed_connects']}, dropped during the run: {total['dropped']}")
    print(
        f"received: {total['text_frames']} batch messages with {total['thumbnails']} thumbnails, {total['bytes'] / 1e6:.0f} MB"
    )
    cpu = [
        f"server process {server_cpu / args.duration:.0%} of one CPU" if server_cpu is not None else None,
        f"MariaDB {database_cpu / args.duration:.0%}" if database_cpu is not None else None,
        f"load generators {total['cpu']:.0f} CPU-seconds in total (whole run)",
    ]
    print(
        f"CPU during the measured {args.duration:g} s on this {os.cpu_count()}-CPU machine: {', '.join(part for part in cpu if part)}; load average {os.getloadavg()[0]:.1f}"
    )
    for error in errors[:5]:
        print(f"  {error}")
    print(f"reproduce: {command}")


if __name__ == "__main__":
    main()
