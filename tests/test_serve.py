"""`python -m scroller.serve` (what `./dev.sh serve --processes N` runs): N Daphne children on one socket."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.processes import REDIS_URL, channel_prefix, database_url_of_the_tests

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def daphne_children(supervisor: subprocess.Popen) -> set[int]:
    found = subprocess.run(["pgrep", "-P", str(supervisor.pid)], capture_output=True, text=True)
    return {int(pid) for pid in found.stdout.split()}


def wait_until(condition, *, timeout: float = 60):
    """Polls a condition of another process, which sends no event this process could await."""
    deadline = time.monotonic() + timeout
    while (value := condition()) is False or value is None:
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)
    return value


def healthy(url: str) -> bool:
    """Connections wait in the shared socket's queue until a child has started and accepts them."""
    try:
        return requests.get(f"{url}/healthz", timeout=60).status_code == 200
    except requests.ConnectionError:
        return False


@pytest.fixture
def supervisor(transactional_db, tmp_path) -> Iterator[tuple[subprocess.Popen, str]]:
    port = free_port()
    environment = os.environ | {
        "DATABASE_URL": database_url_of_the_tests(),
        "REDIS_URL": REDIS_URL,
        "SCROLLER_CHANNEL_PREFIX": channel_prefix(),
        "SCROLLER_MEDIA_ROOT": str(tmp_path / "media"),
        "SCROLLER_INGEST_WORKERS": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "scroller.serve", "--processes", "2", "--port", str(port)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "serve.log").open("w"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        yield process, url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_two_processes_answer_on_one_port_and_a_killed_one_is_replaced(supervisor):
    process, url = supervisor
    wait_until(lambda: healthy(url))
    children = wait_until(lambda: len(daphne_children(process)) == 2 and daphne_children(process))
    victim = min(children)

    os.kill(victim, signal.SIGKILL)
    answers_meanwhile = [requests.get(f"{url}/healthz", timeout=30).status_code for _ in range(5)]
    replaced = wait_until(lambda: (now := daphne_children(process)) != children and len(now) == 2 and now)

    assert answers_meanwhile == [200] * 5
    assert victim not in replaced
    assert len(replaced & children) == 1


def test_sigterm_stops_every_process(supervisor):
    process, url = supervisor
    wait_until(lambda: healthy(url))
    children = wait_until(lambda: len(daphne_children(process)) == 2 and daphne_children(process))

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=30) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in children)


def test_serving_several_processes_without_mariadb_and_redis_is_refused():
    environment = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}

    refused = subprocess.run(
        [sys.executable, "-m", "scroller.serve", "--processes", "2", "--port", str(free_port())],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert refused.returncode == 2
    assert "set DATABASE_URL and REDIS_URL" in refused.stderr
