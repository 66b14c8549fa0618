"""Where the CLI keeps its server URL and token, and how the file is written.

The file holds a secret, so it is created readable by its owner only (0600, in a
0700 folder) and replaced atomically: an interrupted write never leaves a
half-written or world-readable token behind.
"""

import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

DEFAULT_SERVER = "http://127.0.0.1:8000"
CONFIG_ENV = "SCROLLER_CONFIG"
SERVER_ENV = "SCROLLER_URL"
CONFIG_FILE_NAME = "credentials.json"
PRIVATE_DIR_MODE = 0o700

TokenScheme = Literal["Token", "Bearer"]


class ConfigError(Exception):
    """The config file exists but cannot be read or understood."""


@dataclass(frozen=True)
class Credentials:
    """What goes in the Authorization header: `Token` for API tokens, `Bearer` for OAuth 2.0 access tokens."""

    scheme: TokenScheme
    token: str
    refresh_token: str | None = None

    @property
    def authorization_header(self) -> str:
        return f"{self.scheme} {self.token}"


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "scroller" / CONFIG_FILE_NAME


def resolve_config_path(*, explicit: str | None) -> Path:
    chosen = explicit or os.environ.get(CONFIG_ENV)
    return Path(chosen).expanduser() if chosen else default_config_path()


def normalise_server(url: str) -> str:
    # One spelling per server, so credentials saved for "http://host/" are found for "http://host".
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = f"http://{url}"
    return url


def resolve_server(*, explicit: str | None, config: dict) -> str:
    """--server, else $SCROLLER_URL, else the server last logged in to, else the local default."""
    chosen = explicit or os.environ.get(SERVER_ENV) or config.get("default_server")
    return normalise_server(chosen or DEFAULT_SERVER)


def read_config(*, path: Path) -> dict:
    """The credentials file's content, with a warning if others can read the token in it."""
    config = read_json(path=path)
    if config:
        warn_if_readable_by_others(path=path)
    return config


def read_json(*, path: Path) -> dict:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from error
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path} is not valid JSON ({error}); fix or delete it") from error
    if not isinstance(config, dict):
        raise ConfigError(f"{path} is not a JSON object; fix or delete it")
    return config


def warn_if_readable_by_others(*, path: Path) -> None:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        print(
            f"warning: {path} holds a token and is readable by others (mode {mode:o}); run: chmod 600 {path}",
            file=sys.stderr,
        )


def credentials_for(*, config: dict, server: str, config_path: Path) -> Credentials | None:
    entry = config.get("servers", {}).get(server)
    if not entry:
        return None
    try:
        return Credentials(scheme=entry["scheme"], token=entry["token"], refresh_token=entry.get("refresh_token"))
    except (KeyError, TypeError) as error:
        raise ConfigError(f"config file {config_path} has an incomplete entry for {server}; log in again") from error


def save_credentials(*, config_path: Path, server: str, credentials: Credentials) -> None:
    """Store `credentials` for `server` and make it the default server; other servers' entries are kept."""
    config = read_json(path=config_path)
    servers = config.setdefault("servers", {})
    servers[server] = {key: value for key, value in asdict(credentials).items() if value is not None}
    config["default_server"] = server
    write_private_json(path=config_path, data=config)


def write_private_json(*, path: Path, data: dict) -> None:
    """Replace `path` with `data`; mkstemp creates the new file 0600 before any byte is written."""
    path.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    descriptor, temporary_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w") as file:
            json.dump(data, file, indent=2, sort_keys=True)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary_name, path)
    except BaseException:
        Path(temporary_name).unlink(missing_ok=True)
        raise
