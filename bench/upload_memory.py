"""Server memory for one large multipart upload: 64 files of 24 MB in one POST /api/images/.

    .venv/bin/python bench/upload_memory.py
    .venv/bin/python bench/upload_memory.py --root /work/main     # the same request against another checkout

Starts Daphne on a fresh SQLite database and media folder (with SCROLLER_MAX_REQUEST_BYTES raised so that
the request is processed rather than refused), makes an account and an API token, and streams the request
from a generator (the client never holds it). Each file starts with a JPEG signature and is otherwise noise,
so every one is decoded and refused, as in the reported attack. The server process's resident memory is
sampled every 20 ms and its kernel high-water mark reset before each request (/proc/PID/clear_refs), so the
figures are: peak growth during the request, and growth that stays 3 s after the answer.

The floor, measured in the same run on the same server: the peak growth for a request of ONE such file,
what any streaming design pays for a file in flight. The result is printed as a ratio to it.
Finally the same 64-file request at the default SCROLLER_MAX_REQUEST_BYTES, to show its 413.
"""

import argparse
import http.client
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1_000_000
BOUNDARY = "scroller-bench-boundary"
NOISE = os.urandom(MB)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose server is measured")
    parser.add_argument("--files", type=int, default=64)
    parser.add_argument("--megabytes", type=int, default=24, help="size of each file")
    parser.add_argument("--port", type=int, default=8791)
    return parser.parse_args()


def part_header(index: int) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="noise-{index}.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()


def file_bytes(size: int) -> Iterator[bytes]:
    yield b"\xff\xd8\xff\xe0"
    left = size - 4
    while left > 0:
        yield NOISE[: min(left, MB)]
        left -= MB


def body(*, files: int, size: int) -> tuple[int, Iterator[bytes]]:
    closing = f"--{BOUNDARY}--\r\n".encode()
    length = sum(len(part_header(index)) + size + 2 for index in range(files)) + len(closing)

    def chunks() -> Iterator[bytes]:
        for index in range(files):
            yield part_header(index)
            yield from file_bytes(size)
            yield b"\r\n"
        yield closing

    return length, chunks()


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.02)


def measure(*, pid: int, port: int, token: str, files: int, size: int) -> dict:
    time.sleep(1)
    before = rss_kib(pid)
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM
    sampler = Sampler(pid)
    sampler.start()
    length, chunks = body(files=files, size=size)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    started = time.perf_counter()
    connection.putrequest("POST", "/api/images/")
    connection.putheader("Authorization", f"Token {token}")
    connection.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
    connection.putheader("Content-Length", str(length))
    connection.endheaders()
    for chunk in chunks:
        connection.send(chunk)
    response = connection.getresponse()
    answer = response.read()
    seconds = time.perf_counter() - started
    connection.close()
    time.sleep(3)
    sampler.running = False
    sampler.join()
    peak = max(sampler.peak, rss_kib(pid, "VmHWM"))
    try:
        summary = json.loads(answer)
    except ValueError:
        summary = {"error": answer[:80].decode(errors="replace")}
    statuses = [result["status"] for result in summary.get("results", [])]
    return {
        "status": response.status,
        "answer": f"{len(statuses)} results, {statuses.count('rejected')} rejected" if statuses else summary,
        "seconds": seconds,
        "peak_growth_mb": (peak - before) * 1024 / MB,
        "stays_mb": (rss_kib(pid) - before) * 1024 / MB,
    }


def start_server(*, root: Path, port: int, env: dict) -> subprocess.Popen:
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
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/api/images/")
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("Daphne did not start")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=30)


def main() -> None:
    args = parse_args()
    size = args.megabytes * MB
    workdir = Path(tempfile.mkdtemp(prefix="scroller-bench-upload-memory-"))
    env = {
        **{key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")},
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "SCROLLER_MEDIA_ROOT": str(workdir / "media"),
        "SCROLLER_SECRET_KEY_FILE": str(workdir / "secret"),
        "SCROLLER_LOG_LEVEL": "WARNING",
        "SCROLLER_INGEST_WORKERS": "2",
        "TMPDIR": str(workdir),
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=args.root, env=env, check=True)
    token = (
        subprocess.run(
            [*manage, "create_token", "bench", "--create-user"],
            cwd=args.root,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    rows = []
    server = start_server(root=args.root, port=args.port, env={**env, "SCROLLER_MAX_REQUEST_BYTES": str(4 * 10**9)})
    try:
        floor = measure(pid=server.pid, port=args.port, token=token, files=1, size=size)
        rows.append((f"1 × {args.megabytes} MB (floor)", floor))
        rows.append(
            (
                f"{args.files} × {args.megabytes} MB",
                measure(pid=server.pid, port=args.port, token=token, files=args.files, size=size),
            )
        )
    finally:
        stop(server)
    server = start_server(root=args.root, port=args.port, env=env)
    try:
        rows.append(
            (
                f"{args.files} × {args.megabytes} MB, default request cap",
                measure(pid=server.pid, port=args.port, token=token, files=args.files, size=size),
            )
        )
    finally:
        stop(server)
    print(f"server: Daphne from {args.root}, SQLite, 2 ingest workers; noise files with a JPEG signature")
    for label, row in rows:
        print(
            f"{label:<40} HTTP {row['status']}  {row['seconds']:6.1f} s  peak growth {row['peak_growth_mb']:7.1f} MB "
            f"({row['peak_growth_mb'] / max(floor['peak_growth_mb'], 1):.1f}× floor)  stays {row['stays_mb']:7.1f} MB  "
            f"{row['answer']}"
        )
    print(f"reproduce: {shlex.join([os.path.relpath(sys.executable, ROOT), 'bench/upload_memory.py', *sys.argv[1:]])}")


if __name__ == "__main__":
    main()
