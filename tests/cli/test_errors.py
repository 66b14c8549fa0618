import socket

import pytest

from accounts.models import ApiToken
from accounts.services import revoke_api_token
from gallery.models import Image
from scroller_cli.credentials import Credentials, save_credentials
from tests.cli.conftest import distinct_color, folder_snapshot, write_image

pytestmark = pytest.mark.django_db(transaction=True)


def closed_port_url() -> str:
    # Bind to get a free port from the kernel, then close it: nothing listens there.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_a_server_that_is_down_gives_a_clear_error_and_touches_no_file(cli, photos, api_key):
    write_image(photos / "a.png", color=(20, 40, 250))
    before = folder_snapshot(photos)
    down = closed_port_url()
    save_credentials(config_path=cli.config_path, server=down, credentials=Credentials(scheme="Token", token=api_key))

    run = cli("upload", "--retries", "1", str(photos), env={"SCROLLER_URL": down})

    assert run.exit_code == 1
    assert run.stderr.count("cannot reach the server") == 1
    assert f"scroller-cli: error: cannot reach the server at {down} (connection refused); is it running?" in run.stderr
    assert folder_snapshot(photos) == before


def test_an_upload_cut_off_by_the_server_going_down_resumes_once_it_is_back(logged_in_cli, daphne_server, photos, user):
    paths = [write_image(photos / f"img-{index}.png", color=distinct_color(index)) for index in range(5)]
    assert logged_in_cli("upload", *map(str, paths[:2])).exit_code == 0
    before = folder_snapshot(photos)
    daphne_server.stop()

    down = logged_in_cli("upload", "--retries", "1", str(photos))

    assert down.exit_code == 1
    assert f"cannot reach the server at {daphne_server.url} (connection refused)" in down.stderr
    assert folder_snapshot(photos) == before
    daphne_server.start()

    resumed = logged_in_cli("upload", str(photos))

    assert resumed.exit_code == 0, resumed.output
    assert resumed.summary["skipped (already on server)"] == 2
    assert resumed.summary["created"] == 3
    assert resumed.files_sent == 3
    assert Image.objects.filter(owner=user).count() == 5


def test_logging_in_to_a_server_that_is_down_saves_nothing(cli, api_key):
    down = closed_port_url()

    run = cli("login", "--retries", "0", "--server", down, "--token", api_key)

    assert run.exit_code == 1
    assert f"cannot reach the server at {down} (connection refused)" in run.stderr
    assert not cli.config_path.exists()


def test_a_revoked_token_stops_the_upload_with_a_hint_to_log_in_again(logged_in_cli, photos, user):
    write_image(photos / "a.png", color=(200, 40, 50))
    revoke_api_token(user=user, token_id=ApiToken.objects.get(user=user).pk)

    run = logged_in_cli("upload", str(photos))

    assert run.exit_code == 1
    assert "token expired or revoked — run scroller-cli login" in run.stderr
    assert not Image.objects.exists()


def test_an_unreadable_file_is_reported_and_the_others_are_uploaded(logged_in_cli, photos, tmp_path, user):
    write_image(photos / "fine.png", color=(30, 180, 90))
    # Running as root makes chmod 000 ineffective; a dangling symlink cannot be read by anyone.
    (photos / "dangling.jpg").symlink_to(tmp_path / "moved away.jpg")
    missing = tmp_path / "never existed.png"
    before = folder_snapshot(photos)

    run = logged_in_cli("upload", str(photos), str(missing))

    assert run.exit_code == 3, run.output
    assert run.summary["created"] == 1
    assert run.summary["failed"] == 2
    assert (
        f"failed: {photos / 'dangling.jpg'}: cannot read: no such file (a dangling symlink, or removed while running)"
        in run.stdout
    )
    assert f"failed: {missing}: no such file or directory" in run.stdout
    assert list(Image.objects.filter(owner=user).values_list("original_name", flat=True)) == ["fine.png"]
    assert folder_snapshot(photos) == before


def test_a_command_without_login_says_how_to_log_in(cli, photos):
    run = cli("ls")

    assert run.exit_code == 1
    assert f"scroller-cli: error: not logged in to {cli.server} — run scroller-cli login" in run.stderr


def test_a_damaged_credentials_file_is_named_in_the_error(cli):
    cli.config_path.parent.mkdir(parents=True)
    cli.config_path.write_text("{not json")
    cli.config_path.chmod(0o600)

    run = cli("ls")

    assert run.exit_code == 1
    assert f"scroller-cli: error: {cli.config_path} is not valid JSON" in run.stderr
