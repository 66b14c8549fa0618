"""A bystander's "more" round trip on the scroller websocket, without and then with a client flooding the server.

    .venv/bin/python bench/ws_flood.py --database-url mysql://root@127.0.0.1:3306/scroller_bench_10k --photos /tmp/scroller-photos
    .venv/bin/python bench/ws_flood.py --root /work/main --database-url ...   # the same against another checkout

Starts one Daphne process (from --root) on that seeded catalogue (bench/seed_catalogue.py). The bystander
subscribes to a hue and asks for --more batches, --pause apart, as a scrolling reader does; p50 and p95
of its round trips are measured twice in the same run: first alone, then while a flooder sends
{"type": "more"} as fast as its socket takes them and reads whatever comes back. A flooder the
server disconnects connects again at once and goes on, as an attacker would. Prints both figures, the
ratio of the flooded to the quiet one (target: within 1.5x), the flooder's message rate, the server's
CPU, the load average, and the machine's floor measured in the same run (bench/decode_floor.py: JPEG
decode + 400 px thumbnail of --photos on one core), each round trip also as a multiple of that floor.
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import shlex
import subprocess
import sys
import time
from pathlib import Path

import websockets
from cpu_use import cpu_seconds
from websockets.typing import Origin
from ws_more import catalogue_size, free_port, percentile, receive_batch, stop_server

ROOT = Path(__file__).resolve().parent.parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a catalogue seeded with bench/seed_catalogue.py")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose server is measured")
    parser.add_argument("--more", type=int, default=300, help="'more' requests of the bystander per phase")
    parser.add_argument(
        "--pause",
        type=float,
        default=0.05,
        help="seconds between an answer and the next request (the bystander must stay under the server's message rate)",
    )
    parser.add_argument("--photos", type=Path, default=Path("/tmp/scroller-photos"), help="photos for the floor")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


def start_server(*, root: Path, database_url: str, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "SCROLLER_LOG_LEVEL": "ERROR",
    }
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "scroller.asgi:application"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            asyncio.run(asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1))
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("Daphne did not start")


async def bystander(*, url: str, origin: str, hue: int, more: int, pause: float, beside: str = "") -> dict:
    """Connects and subscribes, then starts a process `beside` it ("flooder", "spinner" or none), then measures `more` round trips."""
    times: list[float] = []
    stop, sent = multiprocessing.Event(), multiprocessing.Value("q", 0)
    connections, refused = multiprocessing.Value("q", 0), multiprocessing.Value("q", 0)
    flooding = None
    if beside == "flooder":
        flooding = multiprocessing.Process(target=run_flooder, args=(url, origin, stop, sent, connections, refused))
    elif beside == "spinner":
        flooding = multiprocessing.Process(target=spin, args=(stop,))
    async with websockets.connect(url, origin=Origin(origin), max_size=None, compression=None) as websocket:
        await websocket.recv()
        await websocket.send(json.dumps({"type": "subscribe", "hue": hue}))
        await receive_batch(websocket)
        if flooding:
            flooding.start()
            await asyncio.sleep(1)
        started = time.perf_counter()
        first_sent = sent.value
        for _ in range(more):
            await asyncio.sleep(pause)
            request_sent = time.perf_counter()
            await websocket.send('{"type":"more"}')
            await receive_batch(websocket)
            times.append((time.perf_counter() - request_sent) * 1000)
        seconds = time.perf_counter() - started
        flood_messages = sent.value - first_sent
    if flooding:
        stop.set()
        flooding.join(30)
    return {
        "times": times,
        "seconds": seconds,
        "rate": flood_messages / seconds,
        "connections": connections.value,
        "refused": refused.value,
    }


def spin(stop) -> None:
    """Keeps one CPU busy, as the flooder does, without sending anything: what the flooder's own CPU costs the others."""
    while not stop.is_set():
        sum(range(10_000))


def run_flooder(url: str, origin: str, stop, sent, connections, refused) -> None:
    asyncio.run(flooder(url=url, origin=origin, stop=stop, sent=sent, connections=connections, refused=refused))


async def flooder(*, url: str, origin: str, stop, sent, connections, refused) -> None:
    """Sends as fast as the socket takes; tries to connect again at once whenever the server closes or refuses it."""
    while not stop.is_set():
        try:
            async with websockets.connect(url, origin=Origin(origin), max_size=None, compression=None) as websocket:
                connections.value += 1
                drain = asyncio.ensure_future(_drain(websocket))
                try:
                    while not stop.is_set():
                        for _ in range(100):
                            await websocket.send('{"type":"more"}')
                        sent.value += 100
                        await asyncio.sleep(0)
                finally:
                    drain.cancel()
        except (websockets.ConnectionClosed, websockets.InvalidHandshake, OSError):
            refused.value += 1
            await asyncio.sleep(0)


async def _drain(websocket) -> None:
    async for _ in websocket:
        pass


def summary(times: list[float], *, floor: float) -> str:
    p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
    return f"p50 {p50:.1f} ms ({p50 / floor:.2f} floors), p95 {p95:.1f} ms ({p95 / floor:.2f} floors)"


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    from bench.decode_floor import decode_floor_ms

    floor_before = decode_floor_ms(args.photos)
    hue = random.Random(args.seed).randrange(360)
    port = free_port()
    url, origin = f"ws://127.0.0.1:{port}/ws/scroller/", f"http://127.0.0.1:{port}"
    server = start_server(root=args.root, database_url=args.database_url, port=port)
    try:
        asyncio.run(bystander(url=url, origin=Origin(origin), hue=hue, more=30, pause=0))  # warm-up: caches, pools
        cpu = cpu_seconds(server.pid)
        quiet = asyncio.run(bystander(url=url, origin=Origin(origin), hue=hue, more=args.more, pause=args.pause))[
            "times"
        ]
        quiet_cpu = cpu_seconds(server.pid) - cpu
        spun = asyncio.run(
            bystander(url=url, origin=Origin(origin), hue=hue, more=args.more, pause=args.pause, beside="spinner")
        )["times"]
        cpu = cpu_seconds(server.pid)
        flooded = asyncio.run(
            bystander(url=url, origin=Origin(origin), hue=hue, more=args.more, pause=args.pause, beside="flooder")
        )
        loud_cpu = cpu_seconds(server.pid) - cpu
        loud = flooded["times"]
        load = os.getloadavg()
    finally:
        stop_server(server)
    floor = (floor_before + decode_floor_ms(args.photos)) / 2
    print(f"server: Daphne from {args.root}, in-memory channel layer; catalogue: {catalogue_size(args.database_url)}")
    print(
        f"bystander alone:          {summary(quiet, floor=floor)}  ({len(quiet)} requests, {args.pause * 1000:.0f} ms apart; server CPU {quiet_cpu:.1f} s)"
    )
    print(
        f"bystander beside a busy CPU: {summary(spun, floor=floor)} (a process spinning, as the flooder's own CPU does)"
    )
    print(f"bystander under flood:    {summary(loud, floor=floor)}; server CPU {loud_cpu:.1f} s")
    print(
        f"under flood / alone:      p50 {percentile(loud, 0.5) / percentile(quiet, 0.5):.2f}x, "
        f"p95 {percentile(loud, 0.95) / percentile(quiet, 0.95):.2f}x (target: within 1.5x); "
        f"beside a busy CPU / alone: p50 {percentile(spun, 0.5) / percentile(quiet, 0.5):.2f}x, "
        f"p95 {percentile(spun, 0.95) / percentile(quiet, 0.95):.2f}x"
    )
    print(
        f"flooder (a process of its own): {flooded['rate']:,.0f} messages/s sent over {flooded['seconds']:.1f} s, "
        f"{flooded['connections']} connections opened, {flooded['refused']:,} closed or refused "
        "(the server closes a persistent flooder and refuses its address new sockets for a while; it tries again at once)"
    )
    print(
        f"floor (JPEG decode + 400 px thumbnail, one core, median of before and after): {floor:.2f} ms "
        f"({floor_before:.2f} before); load average at the end of the flood {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
        f"on {os.cpu_count()} CPUs"
    )
    print(f"reproduce: {shlex.join(['.venv/bin/python', 'bench/ws_flood.py', *sys.argv[1:]])}")


if __name__ == "__main__":
    main()
