"""A bystander's "more" round trip on the scroller websocket, without and then with a client flooding the server.

    .venv/bin/python bench/ws_flood.py --database-url mysql://root@127.0.0.1:3306/scroller_harden_bench_10k
    .venv/bin/python bench/ws_flood.py --root /work/main --database-url ...   # the same against another checkout

Starts one Daphne process (from --root) on that seeded catalogue (bench/seed_catalogue.py). The bystander
subscribes to a hue and asks for --more batches, --pause apart, as a scrolling reader does; p50 and p95
of its round trips are measured twice in the same run: first alone (the floor), then while a flooder
sends {"type": "more"} as fast as its socket takes them and reads whatever comes back. A flooder the
server disconnects connects again at once and goes on, as an attacker would. Prints both figures, the
ratio of the flooded to the quiet one, the flooder's message rate and the server's CPU.
"""

import argparse
import asyncio
import json
import os
import random
import shlex
import subprocess
import sys
import time
from pathlib import Path

import websockets
from ws_more import catalogue_size, cpu_seconds, free_port, percentile, receive_batch, stop_server

ROOT = Path(__file__).resolve().parent.parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a catalogue seeded with bench/seed_catalogue.py")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose server is measured")
    parser.add_argument("--more", type=int, default=300, help="'more' requests of the bystander per phase")
    parser.add_argument("--pause", type=float, default=0.02, help="seconds between an answer and the next request")
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


async def bystander(*, url: str, origin: str, hue: int, more: int, pause: float) -> list[float]:
    times = []
    async with websockets.connect(url, origin=origin, max_size=None, compression=None) as websocket:
        await websocket.recv()
        await websocket.send(json.dumps({"type": "subscribe", "hue": hue}))
        await receive_batch(websocket)
        for _ in range(more):
            await asyncio.sleep(pause)
            started = time.perf_counter()
            await websocket.send('{"type":"more"}')
            await receive_batch(websocket)
            times.append((time.perf_counter() - started) * 1000)
    return times


async def flooder(*, url: str, origin: str, stop: asyncio.Event, tally: dict) -> None:
    while not stop.is_set():
        try:
            async with websockets.connect(url, origin=origin, max_size=None, compression=None) as websocket:
                tally["connections"] += 1
                drain = asyncio.ensure_future(_drain(websocket))
                try:
                    while not stop.is_set():
                        await websocket.send('{"type":"more"}')
                        tally["sent"] += 1
                        if tally["sent"] % 50 == 0:
                            await asyncio.sleep(0)
                finally:
                    drain.cancel()
        except (websockets.ConnectionClosed, OSError):
            tally["closed"] += 1


async def _drain(websocket) -> None:
    async for _ in websocket:
        pass


async def flooded(*, url: str, origin: str, hue: int, more: int, pause: float) -> tuple[list[float], dict, float]:
    stop, tally = asyncio.Event(), {"sent": 0, "connections": 0, "closed": 0}
    flooding = asyncio.ensure_future(flooder(url=url, origin=origin, stop=stop, tally=tally))
    await asyncio.sleep(1)
    started = time.perf_counter()
    times = await bystander(url=url, origin=origin, hue=hue, more=more, pause=pause)
    seconds = time.perf_counter() - started
    stop.set()
    await asyncio.wait_for(flooding, 30)
    return times, tally, seconds


def summary(times: list[float]) -> str:
    return f"p50 {percentile(times, 0.5):.1f} ms, p95 {percentile(times, 0.95):.1f} ms"


def main() -> None:
    args = parse_args()
    hue = random.Random(args.seed).randrange(360)
    port = free_port()
    url, origin = f"ws://127.0.0.1:{port}/ws/scroller/", f"http://127.0.0.1:{port}"
    server = start_server(root=args.root, database_url=args.database_url, port=port)
    try:
        asyncio.run(bystander(url=url, origin=origin, hue=hue, more=30, pause=0))  # warm-up: caches, pools
        cpu = cpu_seconds(server.pid)
        quiet = asyncio.run(bystander(url=url, origin=origin, hue=hue, more=args.more, pause=args.pause))
        quiet_cpu = cpu_seconds(server.pid) - cpu
        cpu = cpu_seconds(server.pid)
        loud, tally, seconds = asyncio.run(flooded(url=url, origin=origin, hue=hue, more=args.more, pause=args.pause))
        loud_cpu = cpu_seconds(server.pid) - cpu
    finally:
        stop_server(server)
    print(f"server: Daphne from {args.root}, in-memory channel layer; catalogue: {catalogue_size(args.database_url)}")
    print(
        f"bystander alone (floor):  {summary(quiet)}  ({len(quiet)} requests, {args.pause * 1000:.0f} ms apart; server CPU {quiet_cpu:.1f} s)"
    )
    print(
        f"bystander under flood:    {summary(loud)}  -> p50 {percentile(loud, 0.5) / percentile(quiet, 0.5):.2f}x, "
        f"p95 {percentile(loud, 0.95) / percentile(quiet, 0.95):.2f}x the floor; server CPU {loud_cpu:.1f} s"
    )
    print(
        f"flooder: {tally['sent'] / seconds:,.0f} messages/s over {seconds:.1f} s, "
        f"{tally['connections']} connections, {tally['closed']} closed by the server"
    )
    print(f"reproduce: {shlex.join(['.venv/bin/python', 'bench/ws_flood.py', *sys.argv[1:]])}")


if __name__ == "__main__":
    main()
