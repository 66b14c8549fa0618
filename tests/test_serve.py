"""`python -m scroller.serve` (what `./dev.sh serve --processes N` runs): N Daphne children on one socket."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.processes import (
    ROOT,
    START_TIMEOUT_SECONDS,
    free_port,
    healthy,
    serve_processes,
    wait_for_children,
    wait_until,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def supervisor(transactional_db, tmp_path) -> Iterator[tuple[subprocess.Popen, str]]:
    with serve_processes(count=2, media_root=tmp_path / "media", log=tmp_path / "serve.log") as served:
        yield served


def test_two_processes_answer_on_one_port_and_a_killed_one_is_replaced(supervisor):
    process, url = supervisor
    wait_until(lambda: healthy(url), timeout=START_TIMEOUT_SECONDS)
    children = wait_for_children(process, count=2)
    victim = min(children)

    os.kill(victim, signal.SIGKILL)
    answers_meanwhile = [requests.get(f"{url}/healthz", timeout=30).status_code for _ in range(5)]
    replaced = wait_for_children(process, count=2, other_than=children)

    assert answers_meanwhile == [200] * 5
    assert victim not in replaced
    assert len(replaced & children) == 1


def test_sigterm_stops_every_process(supervisor):
    process, url = supervisor
    wait_until(lambda: healthy(url), timeout=START_TIMEOUT_SECONDS)
    children = wait_for_children(process, count=2)

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
