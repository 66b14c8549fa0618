import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from accounts.services import create_api_token
from tests.conftest import free_port

pytestmark = pytest.mark.django_db(transaction=True)

MB = 1_000_000
ROOT = Path(__file__).resolve().parents[2]


def resident_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


def url_of_the_test_database() -> str:
    database = connection.settings_dict
    if database["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{database['NAME']}"
    credentials = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    return f"mysql://{credentials}@{database['HOST']}:{database['PORT'] or 3306}/{database['NAME']}"


@pytest.fixture
def daphne_command_server(transactional_db, media_root):
    """Daphne started as production starts it (`python -m daphne scroller.asgi:application`), on the test database.

    Not forked from the test process: this test measures the server's memory, which a process that
    inherited the test runner's heap would not show faithfully.
    """
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url_of_the_test_database(),
        "SCROLLER_MEDIA_ROOT": str(media_root),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "SCROLLER_LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "scroller.asgi:application"],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"{url}/api/images/", timeout=5)
            break
        except (requests.ConnectionError, requests.Timeout):
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("daphne did not start") from None
            time.sleep(0.1)
    try:
        yield url, server.pid
    finally:
        server.terminate()
        server.wait()


def test_a_large_upload_never_sits_in_the_server_memory_whole(daphne_command_server, user):
    url, pid = daphne_command_server
    _, key = create_api_token(user=user, name="tests")
    noise = b"\xff\xd8\xff\xe0" + os.urandom(20 * MB)
    upload = partial(requests.post, f"{url}/api/images/", headers={"Authorization": f"Token {key}"}, timeout=120)
    upload(files=[("file", ("warm-up.jpg", noise[:100_000]))])  # imports, the ingest pool, first buffers
    before = resident_kib(pid, "VmRSS")
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # restarts the peak (VmHWM) from now

    response = upload(files=[("file", ("one.jpg", noise)), ("file", ("two.jpg", noise[:-1]))])

    assert response.status_code == 200
    assert [result["status"] for result in response.json()["results"]] == ["rejected", "rejected"]
    peak_growth = (resident_kib(pid, "VmHWM") - before) * 1024
    # The body is 40 MB: held whole, by Daphne's queue or by a read() of each file, it alone would exceed this.
    assert peak_growth < 20 * MB, f"{peak_growth / MB:.1f} MB"
