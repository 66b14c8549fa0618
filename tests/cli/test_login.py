import json

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_login_with_a_token_saves_it_readable_only_by_the_user(cli, api_key):
    run = cli("login", "--token", api_key)

    assert run.exit_code == 0, run.output
    assert f"Logged in to {cli.server}; token saved in {cli.config_path}" in run.stdout
    assert cli.config_path.stat().st_mode & 0o777 == 0o600
    assert cli.config_path.parent.stat().st_mode & 0o777 == 0o700
    assert json.loads(cli.config_path.read_text()) == {
        "default_server": cli.server,
        "servers": {cli.server: {"scheme": "Token", "token": api_key}},
    }
    assert cli("ls").exit_code == 0


def test_login_reads_the_token_from_stdin_to_keep_it_out_of_the_process_list(cli, api_key):
    run = cli("login", "--token", "-", stdin=f"{api_key}\n")

    assert run.exit_code == 0, run.output
    assert api_key in cli.config_path.read_text()


def test_login_with_a_wrong_token_saves_nothing(cli, api_key):
    run = cli("login", "--token", api_key + "x")

    assert run.exit_code == 1
    assert f"scroller-cli: error: the server at {cli.server} does not accept this token" in run.stderr
    assert not cli.config_path.exists()


def test_without_an_explicit_config_the_token_goes_under_xdg_config_home(cli, api_key, tmp_path):
    xdg = tmp_path / "xdg"

    run = cli("login", "--token", api_key, env={"SCROLLER_CONFIG": "", "XDG_CONFIG_HOME": str(xdg)})

    assert run.exit_code == 0, run.output
    saved = xdg / "scroller" / "credentials.json"
    assert saved.stat().st_mode & 0o777 == 0o600
    assert api_key in saved.read_text()
    assert not cli.config_path.exists()


def test_the_server_logged_in_to_is_the_default_and_tokens_are_kept_per_server(cli, api_key):
    assert cli("login", "--token", api_key).exit_code == 0

    without_url = cli("ls", env={"SCROLLER_URL": ""})
    elsewhere = cli("ls", "--server", "http://127.0.0.1:9/")

    assert without_url.exit_code == 0, without_url.output
    assert elsewhere.exit_code == 1
    assert "not logged in to http://127.0.0.1:9 — run scroller-cli login" in elsewhere.stderr
