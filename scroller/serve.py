"""Several Daphne processes behind one address, the deployment pattern of Channels' documentation.

    python -m scroller.serve --processes 4 --port 8000

This supervisor binds the listening socket once and starts N `daphne --fd` children that
all accept from it: the kernel hands each new connection to whichever child accepts first,
which is the least busy one, with no proxy hop in between and no port per process. A child
that dies is started again (its websocket clients reconnect, and are accepted by the
others meanwhile); SIGTERM or SIGINT stops every child and then the supervisor. A child still
running --grace-seconds after its SIGTERM is killed, and a child whose supervisor dies
(even by SIGKILL) is killed by the kernel: no Daphne process outlives the supervisor.

The children share their state through MariaDB and Redis, so DATABASE_URL and REDIS_URL
must be set: with SQLite's single file or the in-memory channel layer, live events would
never leave the process that made them.
"""

import argparse
import ctypes
import functools
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

DAPHNE = str(Path(sys.executable).with_name("daphne"))
# A child that keeps dying at start-up (a bad setting, a missing migration) is restarted at most this often.
RESTART_DELAY_SECONDS = 1.0
# Daphne stops in a second or two after SIGTERM; one stuck in a request or a database call gets this long.
GRACE_SECONDS = 20.0
PR_SET_PDEATHSIG = 1
LIBC = ctypes.CDLL(None, use_errno=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1, help="Daphne processes (default: cores)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--application", default="scroller.asgi:application")
    parser.add_argument(
        "--proxy-headers", action="store_true", help="trust X-Forwarded-For from a reverse proxy in front"
    )
    parser.add_argument(
        "--grace-seconds",
        type=float,
        default=GRACE_SECONDS,
        help=f"how long a child may take to stop after SIGTERM before it is killed (default {GRACE_SECONDS:g})",
    )
    return parser.parse_args(argv)


def bind(*, host: str, port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(1024)
    listener.set_inheritable(True)
    return listener


def missing_shared_services(environ: dict[str, str]) -> list[str]:
    return [name for name in ("DATABASE_URL", "REDIS_URL") if not environ.get(name)]


def daphne_command(*, listener: socket.socket, application: str, proxy_headers: bool) -> list[str]:
    return [DAPHNE, "--fd", str(listener.fileno()), *(["--proxy-headers"] if proxy_headers else []), application]


def die_with_parent(parent: int) -> None:
    """Runs in each child before it executes: the kernel kills it when the supervisor dies, however it dies."""
    if LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        # The supervisor died before the request took effect.
        os._exit(1)


class Supervisor:
    def __init__(self, *, command: list[str], listener: socket.socket, processes: int, grace_seconds: float) -> None:
        self.command = command
        self.listener = listener
        self.processes = processes
        self.grace_seconds = grace_seconds
        self.children: dict[int, subprocess.Popen] = {}
        self.stopping = False

    def start_child(self) -> None:
        child = subprocess.Popen(
            self.command,
            pass_fds=(self.listener.fileno(),),
            preexec_fn=functools.partial(die_with_parent, os.getpid()),
        )
        self.children[child.pid] = child
        print(f"serve: started Daphne process {child.pid}", file=sys.stderr, flush=True)

    def stop(self, signum: int, _frame: FrameType | None) -> None:
        if self.stopping:
            return
        self.stopping = True
        # os.write, not print: a handler may run while the main loop is inside a print to the same stream.
        os.write(
            sys.stderr.fileno(),
            f"serve: {signal.Signals(signum).name}: stopping Daphne processes {sorted(self.children)}\n".encode(),
        )
        for child in self.children.values():
            child.send_signal(signal.SIGTERM)
        signal.signal(signal.SIGALRM, self.kill_remaining)
        signal.setitimer(signal.ITIMER_REAL, self.grace_seconds)

    def kill_remaining(self, signum: int, _frame: FrameType | None) -> None:
        for pid, child in self.children.items():
            os.write(
                sys.stderr.fileno(),
                f"serve: process {pid} still running {self.grace_seconds:g} s after SIGTERM: killing it\n".encode(),
            )
            child.kill()

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        for _ in range(self.processes):
            self.start_child()
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            child = self.children.pop(pid, None)
            if child is None or self.stopping:
                continue
            print(
                f"serve: Daphne process {pid} ended ({os.waitstatus_to_exitcode(status)}); starting another",
                file=sys.stderr,
                flush=True,
            )
            time.sleep(RESTART_DELAY_SECONDS)
            if not self.stopping:
                self.start_child()
        print("serve: every Daphne process has ended", file=sys.stderr, flush=True)
        return 0


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if missing := missing_shared_services(dict(os.environ)):
        print(
            f"serve: several processes share state through MariaDB and Redis: set {' and '.join(missing)}",
            file=sys.stderr,
        )
        return 2
    listener = bind(host=args.host, port=args.port)
    print(
        f"serve: {args.processes} Daphne processes on http://{args.host}:{args.port}/ (one socket)",
        file=sys.stderr,
        flush=True,
    )
    supervisor = Supervisor(
        command=daphne_command(listener=listener, application=args.application, proxy_headers=args.proxy_headers),
        listener=listener,
        processes=args.processes,
        grace_seconds=args.grace_seconds,
    )
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
