"""Many scroller clients at once against Daphne, each asking for "more" every 2 s.

    .venv/bin/python bench/ws_clients.py --database-url mysql://root@127.0.0.1:3306/scroller_bench_10k
    .venv/bin/python bench/ws_clients.py --database-url ... --redis-url redis://127.0.0.1:6379/2 --server-processes 1 2

Starts one Daphne process on 127.0.0.1 serving scroller.asgi on that database (or uses
--url), opens --clients anonymous websockets from --processes load-generator processes
(loopback only), spread over --ramp seconds; each subscribes to a random hue, then from a
common start asks for the next batch every --interval seconds, at its own random phase,
for --duration seconds. A round trip is timed from sending "more" to receiving the last
binary frame of the batch; a request whose turn comes while the previous answer is
still arriving is sent late, and that lateness is reported separately.

Everything (server, MariaDB, load generators) shares this machine's CPUs, so the
printout includes how much CPU each used during the measured window, the server's CPU per
request, and the machine's floor measured in the same run (bench/decode_floor.py: JPEG decode
+ 400 px thumbnail of --photos on one core), with their ratio (target: at most 0.13).

With --server-processes N [M ...], each N is served by `python -m scroller.serve --processes N`
(one socket, N Daphne children, Redis and MariaDB: --redis-url is needed), and the benchmark
looks for the largest client count whose p95 stays within --p95-ms: from --clients it doubles
while the p95 holds, then halves the interval between the last count that held and the first
that did not, --refine times. Prints each step, each N's capacity, and their ratio.
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import resource
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import websockets
from cpu_use import cpu_seconds, mariadb_pid
from websockets.typing import Origin
from ws_more import (
    add_server_arguments,
    catalogue_size,
    check_server_arguments,
    free_port,
    percentile,
    receive_batch,
    start_server,
    stop_server,
)

ROOT = Path(__file__).resolve().parent.parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_arguments(parser)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2, help="load-generator processes")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between one client's requests")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of measurement")
    parser.add_argument("--ramp", type=float, default=20.0, help="seconds over which the connections are opened")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--photos", type=Path, default=Path("/tmp/scroller-photos"), help="photos for the floor")
    parser.add_argument(
        "--server-processes",
        type=int,
        nargs="+",
        help="find the capacity of scroller.serve with this many processes (each in turn), on --redis-url",
    )
    parser.add_argument("--p95-ms", type=float, default=100.0, help="the p95 a capacity must hold")
    parser.add_argument("--refine", type=int, default=2, help="bisection steps after the doubling")
    args = parser.parse_args()
    check_server_arguments(parser, args)
    if args.server_processes and not (args.redis_url and args.database_url):
        parser.error("--server-processes needs --database-url and --redis-url: the processes share both")
    if not 1 <= args.clients <= 5000 or not 1 <= args.processes <= 16 or not 0 < args.duration <= 600:
        parser.error("keep it bounded: 1-5000 clients, 1-16 processes, at most 600 s")
    return args


class Tally:
    def __init__(self) -> None:
        self.round_trips: list[float] = []
        self.sent_at: list[float] = []
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
            tally.sent_at.append(sent)
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


def children_of(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout.split()
    return [int(child) for child in found]


def start_supervisor(*, processes: int, database_url: str, redis_url: str, port: int) -> subprocess.Popen:
    """`python -m scroller.serve --processes N` as `./dev.sh serve` runs it; returns once every child accepts."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SCROLLER_LOG_LEVEL": "WARNING",
        "SCROLLER_WS_MESSAGES_PER_SECOND": "100000",
    }
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "scroller.serve", "--processes", str(processes), "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if supervisor.poll() is not None:
            raise SystemExit(f"scroller.serve exited with {supervisor.returncode}")
        # Every child has opened its database connection pool and the socket answers: all are serving.
        if len(children_of(supervisor.pid)) == processes and all(
            "scroller.asgi" in Path(f"/proc/{child}/cmdline").read_text() for child in children_of(supervisor.pid)
        ):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                time.sleep(10)  # the children import Django and the app after the socket already accepts
                return supervisor
            except OSError:
                pass
        time.sleep(0.5)
    supervisor.terminate()
    raise SystemExit("scroller.serve did not start within 300 s")


def run_load(*, url: str, clients: int, args: argparse.Namespace, server_pids: list[int]) -> dict:
    """One measured window of `clients` clients; returns the clients' results and the CPU time each party used in it."""
    rng = random.Random(args.seed)
    now = time.time()
    starts_at = now + args.ramp + 5
    ends_at = starts_at + args.duration
    specs = [
        {
            "hue": rng.randrange(360),
            "opens_at": now + 1 + args.ramp * index / clients,
            "phase": rng.uniform(0, args.interval),
        }
        for index in range(clients)
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
        server_before = sum(cpu_seconds(pid) for pid in server_pids)
        database_before = cpu_seconds(database) if database else 0.0
        time.sleep(max(0.0, ends_at - time.time()))
        server_cpu = sum(cpu_seconds(pid) for pid in server_pids) - server_before
        database_cpu = cpu_seconds(database) - database_before if database else None
        load = os.getloadavg()
        results = pending.get(timeout=args.ramp + args.duration + 600)
    requests_in_window = sum(starts_at <= sent < ends_at for result in results for sent in result["sent_at"])
    return {
        "clients": clients,
        "results": results,
        "server_cpu": server_cpu,
        "database_cpu": database_cpu,
        "load": load,
        "starts_at": starts_at,
        "requests_in_window": requests_in_window,
    }


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    from bench.decode_floor import decode_floor_ms

    command = shlex.join([".venv/bin/python", "bench/ws_clients.py", *sys.argv[1:]])
    floor_before = decode_floor_ms(args.photos)
    if args.server_processes:
        capacities = {processes: find_capacity(args=args, processes=processes) for processes in args.server_processes}
    else:
        run = measure_one_server(args=args)
    floor = (floor_before + decode_floor_ms(args.photos)) / 2
    print(f"catalogue: {catalogue_size(args.database_url)}")
    print(
        f"floor (JPEG decode + 400 px thumbnail, one core, mean of before and after): {floor:.2f} ms ({floor_before:.2f} before)"
    )
    if args.server_processes:
        report_capacities(args=args, capacities=capacities, floor=floor)
    else:
        report(args=args, run=run, floor=floor)
    print(f"reproduce: {command}")


def measure_one_server(*, args: argparse.Namespace) -> dict:
    server = None
    url = args.url
    try:
        if not url:
            port = free_port()
            server, _ = start_server(database_url=args.database_url, redis_url=args.redis_url, port=port)
            url = f"ws://127.0.0.1:{port}/ws/scroller/"
        return run_load(url=url, clients=args.clients, args=args, server_pids=[server.pid] if server else [])
    finally:
        if server is not None:
            stop_server(server)


def find_capacity(*, args: argparse.Namespace, processes: int) -> dict:
    """The largest client count whose p95 held, and every step measured on the way."""
    port = free_port()
    supervisor = start_supervisor(
        processes=processes, database_url=args.database_url, redis_url=args.redis_url, port=port
    )
    url = f"ws://127.0.0.1:{port}/ws/scroller/"
    steps: list[dict] = []

    def holds(clients: int) -> bool:
        run = run_load(url=url, clients=clients, args=args, server_pids=children_of(supervisor.pid))
        summary = summarise(run, p95_limit=args.p95_ms)
        steps.append(summary)
        print(
            f"  {processes} process(es), {clients} clients: p95 {summary['p95']:.0f} ms, "
            f"{summary['served']:.0f}/s served of {clients / args.interval:.0f}/s asked, "
            f"server CPU {summary['cpu_per_request']:.2f} ms per request, dropped {summary['dropped']}, load {run['load'][0]:.1f}",
            flush=True,
        )
        return summary["holds"]

    try:
        held, failed, clients = 0, 0, args.clients
        while clients <= 5000:
            if holds(clients):
                held, clients = clients, clients * 2
            else:
                failed = clients
                break
        for _ in range(args.refine if failed else 0):  # 0: none failed up to 5,000
            middle = (held + failed) // 2
            if middle in (held, failed):
                break
            if holds(middle):
                held = middle
            else:
                failed = middle
    finally:
        supervisor.terminate()
        supervisor.wait(timeout=60)
    return {"capacity": held, "first_failed": failed, "steps": steps}


def summarise(run: dict, *, p95_limit: float) -> dict:
    results = run["results"]
    round_trips = [seconds * 1000 for result in results for seconds in result["round_trips"]]
    dropped = sum(result["dropped"] + result["failed_connects"] for result in results)
    took = max((result["finished"] for result in results), default=run["starts_at"]) - run["starts_at"]
    p95 = percentile(round_trips, 0.95) if round_trips else float("inf")
    return {
        "clients": run["clients"],
        "p95": p95,
        "served": len(round_trips) / took if took > 0 else 0.0,
        "cpu_per_request": run["server_cpu"] * 1000 / max(1, run["requests_in_window"]),
        "dropped": dropped,
        "holds": bool(round_trips) and dropped == 0 and p95 <= p95_limit,
        "load": run["load"],
    }


def report_capacities(*, args: argparse.Namespace, capacities: dict[int, dict], floor: float) -> None:
    print(
        f"capacity: the most clients (each 'more' every {args.interval:g} s, {args.duration:g} s windows, "
        f"{args.processes} load-generator processes) served with p95 <= {args.p95_ms:g} ms and no dropped connection, Redis channel layer"
    )
    for processes, found in capacities.items():
        held = [step for step in found["steps"] if step["clients"] == found["capacity"]]
        cpu = (
            f", server CPU {held[0]['cpu_per_request']:.2f} ms per request = {held[0]['cpu_per_request'] / floor:.2f} floors"
            if held
            else ""
        )
        print(
            f"  {processes} server process(es): {found['capacity']} clients (first count that failed: {found['first_failed']}){cpu}"
        )
    counts = list(capacities.values())
    if len(counts) == 2 and counts[0]["capacity"]:
        print(
            f"  ratio: {counts[1]['capacity'] / counts[0]['capacity']:.2f}x (target: at least 1.8x for 2 processes over 1)"
        )
    loads = [step["load"][0] for found in capacities.values() for step in found["steps"]]
    print(f"load average during the steps: {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} CPUs")


def report(*, args: argparse.Namespace, run: dict, floor: float) -> None:
    results = run["results"]
    starts_at = run["starts_at"]
    round_trips = [seconds * 1000 for result in results for seconds in result["round_trips"]]
    lateness = [seconds * 1000 for result in results for seconds in result["lateness"]]
    total = {
        key: sum(result[key] for result in results)
        for key in ("text_frames", "thumbnails", "bytes", "images", "failed_connects", "dropped", "cpu")
    }
    errors = [error for result in results for error in result["errors"]]
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
    server_cpu, database_cpu = run["server_cpu"], run["database_cpu"]
    cpu = [
        f"server process {server_cpu / args.duration:.0%} of one CPU" if not args.url else None,
        f"MariaDB {database_cpu / args.duration:.0%}" if database_cpu is not None else None,
        f"load generators {total['cpu']:.0f} CPU-seconds in total (whole run)",
    ]
    print(
        f"CPU during the measured {args.duration:g} s on this {os.cpu_count()}-CPU machine: {', '.join(part for part in cpu if part)}; load average {run['load'][0]:.1f}"
    )
    if not args.url and run["requests_in_window"]:
        per_request = server_cpu * 1000 / run["requests_in_window"]
        print(
            f"server CPU per request: {per_request:.2f} ms over {run['requests_in_window']} requests sent in the window "
            f"= {per_request / floor:.3f} of the floor (target: at most 0.13)"
        )
    for error in errors[:5]:
        print(f"  {error}")


if __name__ == "__main__":
    main()
