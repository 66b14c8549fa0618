"""Original download benchmark: a 5 MB original from local disk, from S3 streamed through the server, and from S3 by
a presigned-URL redirect, each through a running Daphne server, beside the machine's floor.

    .venv/bin/python bench/s3_download.py --photos /tmp/scroller-photos

The S3 server is moto's standalone server in a process of its own (what the tests use), so the S3 figures say what
Scroller adds on top of a storage service, not how fast AWS is. For each mode it starts Daphne on a fresh SQLite
database, uploads one 5 MB JPEG, downloads it --rounds times with one client and prints MB/s; the floor is the median
JPEG decode + 400 px thumbnail of the benchmark photos on one core, measured in the same run, and each download's time
is also given as a multiple of it.
"""

import argparse
import io
import os
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import numpy as np
import requests
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=Path("/tmp/scroller-photos"))
    parser.add_argument("--rounds", type=int, default=20, help="downloads per mode")
    parser.add_argument("--megabytes", type=float, default=5.0, help="size of the original")
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, *, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing answered on port {port}")


def original_of_size(megabytes: float) -> bytes:
    """A real JPEG of about `megabytes`: a grain that JPEG cannot compress away, at quality 95."""
    rng = np.random.default_rng(7)
    side = 1200
    while True:
        pixels = rng.integers(0, 256, size=(side * 3 // 4, side, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=95)
        if buffer.tell() >= megabytes * 1_000_000:
            return buffer.getvalue()
        side = int(side * 1.03)


def manage(*args: str, env: dict) -> str:
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def measure(*, env: dict, original: bytes, rounds: int) -> list[float]:
    """Seconds per download, through a Daphne server started with `env`."""
    manage("migrate", "-v", "0", env=env)
    token = manage("create_token", "bench", "--create-user", env=env).strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "scroller.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        response = session.post(
            f"http://127.0.0.1:{port}/api/images/", files=[("file", ("big.jpg", original))], timeout=300
        )
        [result] = response.json()["results"]
        assert result["status"] == "created", result
        url = f"http://127.0.0.1:{port}/api/images/{result['id']}/original"
        timings = []
        for _ in range(rounds + 1):
            started = time.perf_counter()
            body = session.get(url, timeout=120).content
            timings.append(time.perf_counter() - started)
            assert body == original
        return timings[1:]
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    args = parse_args()
    from bench.decode_floor import decode_floor_ms

    floor = decode_floor_ms(args.photos)
    original = original_of_size(args.megabytes)
    megabytes = len(original) / 1_000_000
    work = Path(tempfile.mkdtemp(prefix="scroller-bench-download-"))
    moto_port = free_port()
    moto = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    credentials = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret"}
    try:
        wait_for_port(moto_port)
        endpoint = f"http://127.0.0.1:{moto_port}"
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            **{
                "aws_access_key_id": credentials["AWS_ACCESS_KEY_ID"],
                "aws_secret_access_key": credentials["AWS_SECRET_ACCESS_KEY"],
            },
        ).create_bucket(Bucket="bench")
        base = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
        s3 = {
            "SCROLLER_S3_BUCKET": "bench",
            "SCROLLER_S3_REGION": "us-east-1",
            "SCROLLER_S3_ENDPOINT_URL": endpoint,
            **credentials,
        }
        modes = {
            "local disk, streamed": {},
            "S3, streamed through the server": s3,
            "S3, 302 to a presigned URL": s3 | {"SCROLLER_S3_DOWNLOADS": "redirect"},
        }
        results = {}
        for index, (mode, extra) in enumerate(modes.items()):
            env = (
                base
                | extra
                | {
                    "DATABASE_URL": f"sqlite:///{work / f'db-{index}.sqlite3'}",
                    "SCROLLER_MEDIA_ROOT": str(work / f"media-{index}"),
                    "SCROLLER_INGEST_WORKERS": "1",
                }
            )
            results[mode] = measure(env=env, original=original, rounds=args.rounds)
    finally:
        moto.terminate()
        moto.wait()
    print(f"floor               {floor:.2f} ms: JPEG decode + 400 px thumbnail, one core, median of 200 photos")
    print(f"original            {megabytes:.2f} MB JPEG, {args.rounds} downloads per mode, one client, loopback")
    for mode, timings in results.items():
        median = statistics.median(timings)
        print(
            f"{mode:<34} {megabytes / median:7.1f} MB/s  (median {median * 1000:.1f} ms per download = "
            f"{median * 1000 / floor:.1f} floors; best {megabytes / min(timings):.1f} MB/s)"
        )
    print(f"reproduce           {shlex.join([os.path.relpath(PYTHON, ROOT), 'bench/s3_download.py', *sys.argv[1:]])}")


if __name__ == "__main__":
    main()
