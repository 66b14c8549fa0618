"""`scroller-cli login` through the OAuth 2.0 device flow, approved in a logged-in web session on the live server."""

import json
import re
import subprocess
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from tests.cli.conftest import Cli, finish

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fast_device_polling(settings):
    # Autouse, so it runs before the live server starts and the forked server process polls at this pace too.
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "DEVICE_FLOW_INTERVAL": 1}


def web_session(*, server: str, username: str) -> requests.Session:
    """A browser-like session logged in through the real login form."""
    session = requests.Session()
    session.get(f"{server}/accounts/login/").raise_for_status()
    answer = session.post(
        f"{server}/accounts/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
    )
    answer.raise_for_status()
    assert "sessionid" in session.cookies
    return session


def decide_in_browser(*, session: requests.Session, verification_uri: str, user_code: str, action: str) -> None:
    session.get(verification_uri, params={"user_code": user_code}).raise_for_status()
    answer = session.post(
        verification_uri,
        data={"user_code": user_code, "action": action, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
    )
    answer.raise_for_status()


def start_login(cli: Cli) -> tuple[subprocess.Popen, str, str]:
    """Start `scroller-cli login` and read the verification URI and user code it shows."""
    process = cli.start("login")
    assert process.stdout is not None and process.stderr is not None, "started without pipes"
    first_line = process.stdout.readline()
    match = re.search(r"open (\S+) in a browser and enter the code: (\S+)", first_line)
    assert match, first_line + process.stderr.read()
    return process, match.group(1), match.group(2)


def test_login_through_the_browser_stores_an_access_token_the_api_accepts(cli, user, photos):
    session = web_session(server=cli.server, username=user.username)
    process, verification_uri, user_code = start_login(cli)
    assert verification_uri == f"{cli.server}/accounts/device/"

    decide_in_browser(session=session, verification_uri=verification_uri, user_code=user_code, action="approve")

    run = finish(process)
    assert run.exit_code == 0, run.output
    assert f"Logged in to {cli.server}; token saved in {cli.config_path}" in run.stdout
    saved = json.loads(cli.config_path.read_text())["servers"][cli.server]
    assert saved["scheme"] == "Bearer"
    assert get_access_token_model().objects.get(user=user).token_checksum
    assert cli.config_path.stat().st_mode & 0o777 == 0o600
    assert cli("ls").exit_code == 0


def test_an_expired_access_token_is_refreshed_and_the_new_one_saved(cli, user):
    session = web_session(server=cli.server, username=user.username)
    process, verification_uri, user_code = start_login(cli)
    decide_in_browser(session=session, verification_uri=verification_uri, user_code=user_code, action="approve")
    assert finish(process).exit_code == 0
    before = json.loads(cli.config_path.read_text())["servers"][cli.server]
    get_access_token_model().objects.update(expires=timezone.now() - timedelta(seconds=1))

    run = cli("ls")

    assert run.exit_code == 0, run.output
    after = json.loads(cli.config_path.read_text())["servers"][cli.server]
    assert after["scheme"] == "Bearer"
    assert after["token"] != before["token"]
    assert cli.config_path.stat().st_mode & 0o777 == 0o600


def test_a_revoked_login_asks_to_log_in_again(cli, user):
    session = web_session(server=cli.server, username=user.username)
    process, verification_uri, user_code = start_login(cli)
    decide_in_browser(session=session, verification_uri=verification_uri, user_code=user_code, action="approve")
    assert finish(process).exit_code == 0
    get_refresh_token_model().objects.all().delete()
    get_access_token_model().objects.all().delete()

    run = cli("ls")

    assert run.exit_code == 1
    assert "token expired or revoked — run scroller-cli login" in run.stderr


def test_a_login_denied_in_the_browser_stores_nothing(cli, user):
    session = web_session(server=cli.server, username=user.username)
    process, verification_uri, user_code = start_login(cli)

    decide_in_browser(session=session, verification_uri=verification_uri, user_code=user_code, action="deny")

    run = finish(process)
    assert run.exit_code == 1
    assert "scroller-cli: error: login was denied in the browser" in run.stderr
    assert not cli.config_path.exists()
