"""What `sync` has already exchanged with each server, kept next to the credentials file.

The server's lookup tells whether one of our images is in its trash, but once an
image is purged the server no longer knows it at all. Remembering which content
hashes a folder already shared with a server is what lets `sync` tell "deleted on
the server" apart from "new here", instead of uploading a deleted image again.
The state lives in the config folder, never in the synced folder, which the CLI
does not write to except for downloads.
"""

from pathlib import Path

from scroller_cli.credentials import read_json, write_private_json

STATE_FILE_NAME = "sync-state.json"


def state_path_for(*, config_path: Path) -> Path:
    return config_path.parent / STATE_FILE_NAME


def folder_key(*, directory: Path) -> str:
    return str(directory.resolve())


def load_synced_hashes(*, state_path: Path, server: str, directory: Path) -> dict[str, int]:
    """Content hash → server image id for everything `directory` has exchanged with `server`."""
    folders = read_json(path=state_path).get(server, {})
    return {sha256: int(image_id) for sha256, image_id in folders.get(folder_key(directory=directory), {}).items()}


def save_synced_hashes(*, state_path: Path, server: str, directory: Path, synced: dict[str, int]) -> None:
    state = read_json(path=state_path)
    state.setdefault(server, {})[folder_key(directory=directory)] = dict(sorted(synced.items()))
    write_private_json(path=state_path, data=state)
