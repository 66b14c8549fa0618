"""Run scroller-cli as a real subprocess against the live Daphne server on the test database."""

import colorsys
import hashlib
import io
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image as PILImage

REPOSITORY = Path(__file__).resolve().parents[2]
PIL_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".gif": "GIF"}
# Only guards against a hung subprocess failing the whole run; no test measures time.
SUBPROCESS_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class CliRun:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def summary(self) -> dict[str, int]:
        """The counts under "Summary:", by label, e.g. {"created": 3, "skipped (already on server)": 1}."""
        _, _, block = self.stdout.partition("Summary:\n")
        return {label: int(count) for label, count in re.findall(r"^  ([^:\n]+): (\d+)$", block, flags=re.MULTILINE)}

    @property
    def files_sent(self) -> int:
        sent = re.search(r"^  sent: (\d+) files", self.stdout, flags=re.MULTILINE)
        assert sent, self.stdout
        return int(sent.group(1))

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Cli:
    def __init__(self, *, server: str, home: Path) -> None:
        self.server = server
        self.home = home
        self.config_path = home / "config" / "credentials.json"

    def __call__(self, *arguments: str, stdin: str | None = None, env: dict[str, str] | None = None) -> CliRun:
        completed = subprocess.run(
            self.command(*arguments),
            cwd=REPOSITORY,
            env=self.environment(env),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT_SECONDS,
        )
        return CliRun(exit_code=completed.returncode, stdout=completed.stdout, stderr=completed.stderr)

    def start(self, *arguments: str) -> subprocess.Popen:
        """The CLI running in the background, for tests that talk to it while it works.

        It starts with Ctrl-C (SIGINT) as a terminal gives it: a test run started in the background
        of a shell ignores SIGINT, and a child inherits an ignored signal through exec.
        """
        ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        if ignored:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            return subprocess.Popen(
                self.command(*arguments),
                cwd=REPOSITORY,
                env=self.environment(None),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        finally:
            if ignored:
                signal.signal(signal.SIGINT, signal.SIG_IGN)

    def command(self, *arguments: str) -> list[str]:
        return [sys.executable, "-m", "scroller_cli", *arguments]

    def environment(self, overrides: dict[str, str] | None) -> dict[str, str]:
        environment = {
            key: value
            for key, value in os.environ.items()
            if key not in {"XDG_CONFIG_HOME", "SCROLLER_URL", "SCROLLER_CONFIG"}
        }
        # HOME too, so that nothing can fall back to the real user's config.
        environment |= {"HOME": str(self.home), "SCROLLER_CONFIG": str(self.config_path), "SCROLLER_URL": self.server}
        return environment | (overrides or {})


def finish(process: subprocess.Popen, *, already_read: str = "") -> CliRun:
    """Wait for a started CLI. Reads through the pipes' file objects, not communicate(), which
    would skip what a readline() has already buffered."""
    assert process.stdout is not None and process.stderr is not None, "started without pipes"
    stdout = already_read + process.stdout.read()
    stderr = process.stderr.read()
    return CliRun(exit_code=process.wait(timeout=SUBPROCESS_TIMEOUT_SECONDS), stdout=stdout, stderr=stderr)


@pytest.fixture
def cli(daphne_server, tmp_path) -> Cli:
    home = tmp_path / "home"
    home.mkdir()
    return Cli(server=daphne_server.url, home=home)


@pytest.fixture
def api_key(user) -> str:
    from accounts.services import create_api_token

    _, key = create_api_token(user=user, name="scroller-cli tests")
    return key


@pytest.fixture
def logged_in_cli(cli, api_key) -> Cli:
    run = cli("login", "--token", api_key)
    assert run.exit_code == 0, run.output
    return cli


@pytest.fixture
def photos(tmp_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    return folder


def distinct_color(index: int) -> tuple[int, int, int]:
    # Golden-ratio steps around the hue circle: every index gets a different, saturated colour.
    red, green, blue = colorsys.hsv_to_rgb((index * 0.618033988749895) % 1, 0.85, 0.9)
    return round(red * 255), round(green * 255), round(blue * 255)


def image_bytes(*, color: tuple[int, int, int], image_format: str = "PNG", size: tuple[int, int] = (48, 32)) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", size, color).save(buffer, format=image_format)
    return buffer.getvalue()


def write_image(path: Path, *, color: tuple[int, int, int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(image_bytes(color=color, image_format=PIL_FORMATS[path.suffix.lower()]))
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def folder_snapshot(root: Path) -> dict[str, str]:
    """Every entry under `root` with its content hash (or link target): to show the CLI changed nothing."""
    snapshot = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            snapshot[key] = f"-> {os.readlink(path)}"
        elif path.is_file():
            snapshot[key] = sha256_of(path)
        else:
            snapshot[key] = "folder"
    return snapshot
