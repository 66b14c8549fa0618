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
    daphne_children,
    free_port,
    healthy,
    serve_processes,
    wait_for_children,
    wait_until,
)

pytestmark = pytest.mark.django_db(transaction=True)

# A child that ignores SIGTERM, as a Daphne stuck in a request would; it says when it is ready to. One os.write,
# because the two children share a pipe and print() under PYTHONUNBUFFERED writes the word and the newline apart.
STUBBORN_CHILD = (
    "import os, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); os.write(1, b'ready\\n'); time.sleep(600)"
)


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


def test_sigterm_stops_every_process_and_the_log_says_so(supervisor, tmp_path):
    process, url = supervisor
    wait_until(lambda: healthy(url), timeout=START_TIMEOUT_SECONDS)
    children = wait_for_children(process, count=2)

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=30) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in children)
    log = (tmp_path / "serve.log").read_text()
    assert f"serve: SIGTERM: stopping Daphne processes {sorted(children)}" in log
    assert log.rstrip().endswith("serve: every Daphne process has ended")


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


@pytest.fixture
def stubborn_supervisor() -> Iterator[subprocess.Popen]:
    """The real supervisor in a process of its own, with two real children that ignore SIGTERM; yields once both are ready."""
    script = (
        "import sys\n"
        "from scroller.serve import Supervisor, bind\n"
        "supervisor = Supervisor(command=[sys.executable, '-c', sys.argv[1]], listener=bind(host='127.0.0.1', port=0),"
        " processes=2, grace_seconds=1.0)\n"
        "sys.exit(supervisor.run())\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, STUBBORN_CHILD],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert [process.stdout.readline() for _ in range(2)] == ["ready\n"] * 2
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def running(pid: int) -> bool:
    """Whether a process runs (a zombie waiting for a reaper that PID 1 of a container may never be does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_child_still_running_after_the_grace_period_is_killed(stubborn_supervisor):
    children = daphne_children(stubborn_supervisor)

    stubborn_supervisor.send_signal(signal.SIGTERM)

    assert stubborn_supervisor.wait(timeout=30) == 0
    assert not any(running(pid) for pid in children)
    assert stubborn_supervisor.stderr is not None
    assert stubborn_supervisor.stderr.read().count("still running 1 s after SIGTERM: killing it") == 2


def test_children_do_not_outlive_a_supervisor_killed_outright(stubborn_supervisor):
    children = daphne_children(stubborn_supervisor)

    stubborn_supervisor.kill()
    stubborn_supervisor.wait()

    wait_until(lambda: not any(running(pid) for pid in children), timeout=30)
