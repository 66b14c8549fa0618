"""deploy/: the production settings pass `check --deploy`, and Debian's nginx accepts the site as shipped."""

import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def deployment_environment(**overrides: str) -> dict[str, str]:
    """deploy/scroller.env.example as systemd's EnvironmentFile= reads it, with a real secret key."""
    environment = {"PATH": "/usr/bin:/bin", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}
    for line in (DEPLOY / "scroller.env.example").read_text().splitlines():
        name, separator, value = line.partition("=")
        if separator and not line.startswith("#") and value:
            environment[name] = value
    return environment | overrides


@pytest.mark.parametrize(
    "overrides",
    [{}, {"SCROLLER_S3_BUCKET": "scroller-originals", "SCROLLER_S3_REGION": "eu-west-1"}],
    ids=["local originals", "originals in a bucket"],
)
def test_check_deploy_is_clean_with_the_deployment_settings(overrides):
    checked = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=deployment_environment(**overrides),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "System check identified no issues" in checked.stdout


def test_nginx_accepts_the_site(tmp_path):
    certificate = [
        "-subj",
        "/CN=photos.example.org",
        "-keyout",
        str(tmp_path / "key.pem"),
        "-out",
        str(tmp_path / "cert.pem"),
    ]
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", *certificate],
        check=True,
        capture_output=True,
    )
    site = (DEPLOY / "nginx" / "scroller.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/photos.example.org/fullchain.pem", str(tmp_path / "cert.pem"))
    site = site.replace("/etc/letsencrypt/live/photos.example.org/privkey.pem", str(tmp_path / "key.pem"))
    (tmp_path / "site.conf").write_text(site)
    # The http block of Debian's /etc/nginx/nginx.conf, with paths an unprivileged test may write.
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n include /etc/nginx/mime.types;\n client_body_temp_path {tmp_path}/body;\n"
        f" proxy_temp_path {tmp_path}/proxy;\n include {tmp_path}/site.conf;\n}}\n"
    )

    tested = subprocess.run(
        [shutil.which("nginx") or "/usr/sbin/nginx", "-t", "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )

    assert tested.returncode == 0, tested.stderr
    assert "test is successful" in tested.stderr
